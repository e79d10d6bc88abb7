output "function_name" {
  description = "Name of the forwarder function."
  value       = aws_lambda_function.this.function_name
}

output "function_arn" {
  description = "ARN of the forwarder function."
  value       = aws_lambda_function.this.arn
}

output "handler" {
  description = "Handler of the function: forwarder.snapstart.lambda_handler with snap_start, else forwarder.handler.lambda_handler."
  value       = aws_lambda_function.this.handler
}

output "alias_arn" {
  description = "ARN of the alias live on the published version, which EventBridge invokes (null without snap_start)."
  value       = one(aws_lambda_alias.live[*].arn)
}

output "invoked_arn" {
  description = "ARN the EventBridge rule invokes: the alias live with snap_start, else the function."
  value       = aws_cloudwatch_event_target.this.arn
}

output "invoked_version" {
  description = "Version EventBridge invokes: the published version behind the alias with snap_start, else $LATEST."
  value       = var.snap_start ? aws_lambda_function.this.version : "$LATEST"
}

output "role_arn" {
  description = "ARN of the function's execution role."
  value       = aws_iam_role.this.arn
}

output "role_policy_json" {
  description = "JSON of the execution role's inline policy."
  value       = aws_iam_role_policy.this.policy
}

output "assume_role_policy_json" {
  description = "JSON of the execution role's trust policy."
  value       = aws_iam_role.this.assume_role_policy
}

output "failure_queue_policy_json" {
  description = "JSON of the on-failure queue's policy."
  value       = aws_sqs_queue_policy.failures.policy
}

output "archive_bucket_policy_json" {
  description = "JSON of the created archive bucket's policy (null when an existing bucket is used)."
  value       = one(module.archive_bucket[*].bucket_policy)
}

output "log_group_name" {
  description = "CloudWatch log group of the function."
  value       = aws_cloudwatch_log_group.this.name
}

output "event_rule_arn" {
  description = "ARN of the EventBridge rule matching STOPPED tasks."
  value       = aws_cloudwatch_event_rule.this.arn
}

output "event_pattern" {
  description = "Event pattern of the rule, as JSON."
  value       = aws_cloudwatch_event_rule.this.event_pattern
}

output "failure_queue_arn" {
  description = "ARN of the on-failure SQS queue."
  value       = aws_sqs_queue.failures.arn
}

output "failure_queue_url" {
  description = "URL of the on-failure SQS queue."
  value       = aws_sqs_queue.failures.id
}

output "archive_bucket" {
  description = "Name of the archive bucket."
  value       = local.archive_enabled ? local.archive_bucket : null
}

output "archive_bucket_arn" {
  description = "ARN of the archive bucket."
  value       = local.archive_bucket_arn
}

output "environment_variable_names" {
  description = "Names of the environment variables set on the function."
  value       = sort(keys(local.environment))
}

output "alarm_arns" {
  description = "ARNs of the CloudWatch alarms (empty when create_alarms is false)."
  value       = [for key in local.alarm_order : aws_cloudwatch_metric_alarm.this[key].arn if var.create_alarms]
}

output "package_manifest_path" {
  description = "The package manifest the runtime check read (null when verify_package_runtime is false)."
  value       = local.package_manifest_path
}

output "package_runtime" {
  description = "The runtime the package's bytecode was compiled for, from its manifest (null: a source-only zip, or the check is off)."
  value       = local.package_runtime
}
