output "state_machine_arn" {
  description = "ARN of the replay state machine: `ecs-stop-forwarder replay s3://... --on stepfunctions --state-machine <this>`."
  value       = aws_sfn_state_machine.this.arn
}

output "state_machine_name" {
  description = "Name of the replay state machine."
  value       = aws_sfn_state_machine.this.name
}

output "state_machine_definition" {
  description = "The state machine's definition as deployed (the generated template, filled in)."
  value       = aws_sfn_state_machine.this.definition
}

output "worker_function_name" {
  description = "Name of the replay worker function."
  value       = aws_lambda_function.worker.function_name
}

output "worker_function_arn" {
  description = "ARN of the replay worker function."
  value       = aws_lambda_function.worker.arn
}

output "state_machine_role_arn" {
  description = "ARN of the state machine's execution role."
  value       = aws_iam_role.state_machine.arn
}

output "state_machine_policy_json" {
  description = "JSON of the state machine role's inline policy."
  value       = aws_iam_role_policy.state_machine.policy
}

output "worker_role_arn" {
  description = "ARN of the worker's execution role."
  value       = aws_iam_role.worker.arn
}

output "worker_policy_json" {
  description = "JSON of the worker role's inline policy."
  value       = aws_iam_role_policy.worker.policy
}

output "operator_policy_json" {
  description = "A policy for whoever runs `replay --on stepfunctions` (a person's role, a CI job): start, watch, tune and stop runs, write their control document, read their results. Attach it where you manage identities; the module attaches it to nobody."
  value       = jsonencode({ Version = "2012-10-17", Statement = local.operator_statements })
}

output "results_uri" {
  description = "Where runs write their results, checkpoints and control document (s3://bucket/prefix/); each run under <results_uri><run id>/."
  value       = "s3://${local.results_bucket}/${var.results_prefix}"
}

output "worker_log_group_name" {
  description = "CloudWatch log group of the worker (one JSON line of counts per batch)."
  value       = aws_cloudwatch_log_group.worker.name
}

output "state_machine_log_group_name" {
  description = "CloudWatch log group of the state machine's execution history events."
  value       = aws_cloudwatch_log_group.state_machine.name
}
