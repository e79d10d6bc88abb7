output "event_bus_name" {
  description = "Name of the central event bus."
  value       = local.bus_name
}

output "event_bus_arn" {
  description = "ARN of the central event bus; pass it to cross-account-source as target_event_bus_arn."
  value       = local.bus_arn
}

output "policy_json" {
  description = "JSON of the bus policy."
  value       = aws_cloudwatch_event_bus_policy.this.policy
}
