provider "aws" {
  region = var.region
}

variable "region" {
  description = "AWS region to deploy to."
  type        = string
  default     = "ap-northeast-1"
}

variable "datadog_api_key_secret_arn" {
  description = "ARN of the Secrets Manager secret whose JSON is {\"api_key\": \"<Datadog API key>\"}."
  type        = string
}

variable "datadog_site" {
  description = "Datadog site of the organization."
  type        = string
  default     = "datadoghq.com"
}

# The source article's Firehose path with its names and defaults (1 MiB / 60 s buffer,
# AllData GZIP backup under ecs-task-stop-log/), hardened: least-privilege S3 actions, key in
# Secrets Manager, delivery errors logged, alarms on failed and stale deliveries, a dead-letter
# queue for events EventBridge cannot put into the stream. For delivery within seconds instead
# of up to 60 s, set buffering_interval = 0 (allowed for HTTP endpoints; one request per
# record or few, so more vendor requests).
module "fallback" {
  source = "../../modules/firehose-fallback"

  vendor             = "datadog"
  datadog_site       = var.datadog_site
  api_key_secret_arn = var.datadog_api_key_secret_arn
}

output "delivery_stream_name" {
  description = "Name of the Firehose delivery stream."
  value       = module.fallback.delivery_stream_name
}

output "endpoint_url" {
  description = "Datadog intake the stream delivers to."
  value       = module.fallback.endpoint_url
}

output "buffering_interval" {
  description = "Seconds Firehose buffers records before sending them to Datadog."
  value       = module.fallback.buffering_interval
}

output "backup_bucket" {
  description = "Bucket holding the GZIP backup of every record."
  value       = module.fallback.backup_bucket
}
