output "delivery_stream_name" {
  description = "Name of the Firehose delivery stream."
  value       = aws_kinesis_firehose_delivery_stream.this.name
}

output "delivery_stream_arn" {
  description = "ARN of the Firehose delivery stream."
  value       = aws_kinesis_firehose_delivery_stream.this.arn
}

output "endpoint_url" {
  description = "HTTP endpoint the stream delivers to."
  value       = local.endpoint_url
}

output "firehose_role_arn" {
  description = "ARN of the role Firehose assumes."
  value       = aws_iam_role.firehose.arn
}

output "events_role_arn" {
  description = "ARN of the role EventBridge assumes to put records."
  value       = aws_iam_role.events.arn
}

output "event_rule_arn" {
  description = "ARN of the EventBridge rule."
  value       = aws_cloudwatch_event_rule.this.arn
}

output "event_pattern" {
  description = "Event pattern of the rule, as JSON."
  value       = aws_cloudwatch_event_rule.this.event_pattern
}

output "backup_bucket" {
  description = "Name of the S3 backup bucket."
  value       = local.backup_bucket
}

output "log_group_name" {
  description = "CloudWatch log group receiving delivery errors."
  value       = aws_cloudwatch_log_group.firehose.name
}

output "alarm_arns" {
  description = "ARNs of the CloudWatch alarms (empty when create_alarms is false)."
  value       = concat(aws_cloudwatch_metric_alarm.delivery_failed[*].arn, aws_cloudwatch_metric_alarm.delivery_stale[*].arn, aws_cloudwatch_metric_alarm.dead_letter[*].arn)
}

output "buffering_interval" {
  description = "HTTP endpoint buffer interval of the stream, in seconds."
  value       = aws_kinesis_firehose_delivery_stream.this.http_endpoint_configuration[0].buffering_interval
}

output "dead_letter_queue_arn" {
  description = "ARN of the rule target's dead-letter queue (null when create_dead_letter_queue is false)."
  value       = one(aws_sqs_queue.dead_letter[*].arn)
}

output "firehose_role_policy_json" {
  description = "JSON of the Firehose role's inline policy."
  value       = aws_iam_role_policy.firehose.policy
}

output "firehose_assume_role_policy_json" {
  description = "JSON of the Firehose role's trust policy."
  value       = aws_iam_role.firehose.assume_role_policy
}

output "events_role_policy_json" {
  description = "JSON of the EventBridge role's inline policy."
  value       = aws_iam_role_policy.events.policy
}

output "events_assume_role_policy_json" {
  description = "JSON of the EventBridge role's trust policy."
  value       = aws_iam_role.events.assume_role_policy
}

output "dead_letter_queue_policy_json" {
  description = "JSON of the dead-letter queue's policy (null when create_dead_letter_queue is false)."
  value       = one(aws_sqs_queue_policy.dead_letter[*].policy)
}
