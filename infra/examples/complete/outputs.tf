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

# Every policy document the example creates, as the JSON AWS receives: read them with
# `terraform output -json policies` after a plan or apply. tests/main.tftest.hcl pins them for
# the test accounts, and the README shows that rendering.
output "policies" {
  description = "Every IAM, resource and key policy the example creates, by name, as JSON."
  value = {
    forwarder_role_policy             = module.forwarder.role_policy_json
    forwarder_role_trust              = module.forwarder.assume_role_policy_json
    forwarder_failure_queue_policy    = module.forwarder.failure_queue_policy_json
    forwarder_archive_bucket_policy   = module.forwarder.archive_bucket_policy_json
    central_bus_policy                = module.central_bus.policy_json
    member_role_policy                = module.member_source.role_policy_json
    member_role_trust                 = module.member_source.assume_role_policy_json
    member_dead_letter_queue_policy   = module.member_source.dead_letter_queue_policy_json
    firehose_role_policy              = module.firehose_fallback.firehose_role_policy_json
    firehose_role_trust               = module.firehose_fallback.firehose_assume_role_policy_json
    firehose_events_role_policy       = module.firehose_fallback.events_role_policy_json
    firehose_events_role_trust        = module.firehose_fallback.events_assume_role_policy_json
    firehose_dead_letter_queue_policy = module.firehose_fallback.dead_letter_queue_policy_json
    alarm_key_policy                  = aws_kms_key.alarms.policy
  }
}
