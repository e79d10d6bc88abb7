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
