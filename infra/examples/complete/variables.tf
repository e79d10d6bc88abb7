variable "central_region" {
  description = "Region of the central bus and the forwarder."
  type        = string
  default     = "ap-northeast-1"
}

variable "member_region" {
  description = "Region of the member workloads whose ECS events are forwarded."
  type        = string
  default     = "us-west-2"
}

variable "member_account_ids" {
  description = "Further member accounts allowed to put events on the central bus."
  type        = list(string)
  default     = []
}

variable "organization_id" {
  description = "AWS Organizations ID allowed to put events on the central bus, or null."
  type        = string
  default     = null
}

variable "package_path" {
  description = "Path of the zip built by `make package`. Null means dist/lambda.zip at the repository root."
  type        = string
  default     = null
}

variable "datadog_api_key_secret_arn" {
  description = "Secrets Manager secret with the Datadog API key, read by the Lambda."
  type        = string
}

variable "datadog_firehose_secret_arn" {
  description = "Secrets Manager secret with JSON {\"api_key\": ...}, read by Firehose."
  type        = string
}

variable "datadog_site" {
  description = "Datadog site of the organization."
  type        = string
  default     = "datadoghq.com"
}

variable "newrelic_license_key_secret_arn" {
  description = "Secrets Manager secret with the New Relic license key."
  type        = string
}

variable "newrelic_region" {
  description = "New Relic data center (US, EU or FEDRAMP)."
  type        = string
  default     = "US"
}

variable "kms_key_arn" {
  description = "Customer managed KMS key for the archive, the function's environment, log group and queue, or null. Its key policy must allow CloudWatch Logs and EventBridge."
  type        = string
  default     = null
}
