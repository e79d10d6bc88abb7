provider "aws" {
  region = var.region
}

variable "region" {
  description = "AWS region to deploy to."
  type        = string
  default     = "eu-central-1"
}

variable "package_path" {
  description = "Path of the zip built by `make package`. Null means dist/lambda.zip at the repository root."
  type        = string
  default     = null
}

variable "license_key_parameter" {
  description = "Name of the SSM SecureString parameter holding the New Relic license key."
  type        = string
  default     = "/ecs-stop-forwarder/new-relic-license-key"
}

variable "existing_archive_bucket" {
  description = "Existing bucket to archive into (null creates one)."
  type        = string
  default     = null
}

module "forwarder" {
  source = "../../modules/lambda-forwarder"

  name         = "ecs-stop-forwarder"
  package_path = var.package_path

  destinations                       = ["newrelic"]
  min_severity                       = "warning"
  newrelic_license_key_ssm_parameter = var.license_key_parameter
  newrelic_region                    = "EU"

  create_archive_bucket = var.existing_archive_bucket == null
  archive_bucket_name   = var.existing_archive_bucket

}

output "function_name" {
  description = "Name of the forwarder function."
  value       = module.forwarder.function_name
}

output "archive_bucket" {
  description = "Bucket holding the archived stop records."
  value       = module.forwarder.archive_bucket
}
