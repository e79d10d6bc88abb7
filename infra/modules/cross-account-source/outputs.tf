output "event_rule_arn" {
  description = "ARN of the forwarding rule."
  value       = aws_cloudwatch_event_rule.this.arn
}

output "event_pattern" {
  description = "Event pattern of the rule, as JSON."
  value       = aws_cloudwatch_event_rule.this.event_pattern
}

output "role_arn" {
  description = "ARN of the role EventBridge assumes to put events on the central bus."
  value       = aws_iam_role.this.arn
}

output "role_policy_json" {
  description = "JSON of the role's inline policy."
  value       = aws_iam_role_policy.this.policy
}

output "assume_role_policy_json" {
  description = "JSON of the role's trust policy."
  value       = aws_iam_role.this.assume_role_policy
}

output "dead_letter_queue_arn" {
  description = "ARN of the target's dead-letter queue (given or created); null when there is none."
  value       = local.dead_letter_queue_arn
}

output "dead_letter_queue_policy_json" {
  description = "JSON of the created dead-letter queue's policy; null when none was created."
  value       = one(aws_sqs_queue_policy.dead_letter[*].policy)
}
