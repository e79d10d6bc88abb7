output "central_bus_arn" {
  description = "ARN of the central event bus."
  value       = module.central_bus.event_bus_arn
}

output "function_name" {
  description = "Name of the forwarder function."
  value       = module.forwarder.function_name
}

output "archive_bucket" {
  description = "Bucket holding the archived stop records."
  value       = module.forwarder.archive_bucket
}

output "delivery_stream_name" {
  description = "Name of the fallback Firehose stream."
  value       = module.firehose_fallback.delivery_stream_name
}

output "member_rule_arn" {
  description = "ARN of the forwarding rule in the member account."
  value       = module.member_source.event_rule_arn
}
