provider "aws" {
  region = var.region
}

variable "region" {
  description = "AWS region to deploy to."
  type        = string
  default     = "ap-northeast-1"
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

variable "datadog_site" {
  description = "Datadog site of the organization."
  type        = string
  default     = "datadoghq.com"
}

variable "alarm_sns_topic_arn" {
  description = "SNS topic for the alarms, or null."
  type        = string
  default     = null
}

module "forwarder" {
  source = "../../modules/lambda-forwarder"

  name         = "ecs-stop-forwarder"
  package_path = var.package_path

  destinations               = ["datadog"]
  datadog_api_key_secret_arn = var.datadog_api_key_secret_arn
  datadog_site               = var.datadog_site
  datadog_tags               = ["team:sre", "service:ecs-stop-forwarder"]

  alarm_sns_topic_arn = var.alarm_sns_topic_arn
}

output "function_name" {
  description = "Name of the forwarder function."
  value       = module.forwarder.function_name
}

output "archive_bucket" {
  description = "Bucket holding the archived stop records."
  value       = module.forwarder.archive_bucket
}

output "failure_queue_url" {
  description = "Queue of events that failed every retry."
  value       = module.forwarder.failure_queue_url
}
