# The forwarder and, beside it, replay at scale over the archive it writes: a Step Functions
# Distributed Map whose worker is the same zip's second entry point.

provider "aws" {
  region = var.region
}

variable "region" {
  description = "AWS region to deploy to."
  type        = string
  default     = "eu-west-1"
}

variable "package_path" {
  description = "Path of the zip built by `make package`. Null means dist/lambda.zip at the repository root."
  type        = string
  default     = null
}

variable "datadog_api_key_secret_arn" {
  description = "ARN of the Secrets Manager secret holding the Datadog API key."
  type        = string
}

module "forwarder" {
  source = "../../modules/lambda-forwarder"

  name         = "ecs-stop-forwarder"
  package_path = var.package_path

  destinations               = ["datadog"]
  datadog_api_key_secret_arn = var.datadog_api_key_secret_arn
}

module "replay" {
  source = "../../modules/replay-at-scale"

  name         = "ecs-stop-forwarder-replay"
  package_path = var.package_path

  archive_bucket_name        = module.forwarder.archive_bucket
  archive_prefix             = "ecs-task-stop-log/"
  datadog_api_key_secret_arn = var.datadog_api_key_secret_arn

  # At most 50 batches at once, whatever a run asks for (see the module's README: the
  # concurrency cap and the vendor's rate limit).
  reserved_concurrent_executions = 50
}

output "state_machine_arn" {
  description = "ecs-stop-forwarder replay s3://<archive>/ecs-task-stop-log/ --on stepfunctions --state-machine <this>"
  value       = module.replay.state_machine_arn
}

output "operator_policy_json" {
  description = "Attach to the role that runs replays."
  value       = module.replay.operator_policy_json
}

output "archive_bucket" {
  description = "Bucket holding the archived stop records (and, under ecs-stop-forwarder-replay/, the runs' results)."
  value       = module.forwarder.archive_bucket
}
