# Everything together: a central account/region runs the forwarder on a dedicated bus, a
# member account/region forwards its STOPPED events there, and a Firehose stream delivers to
# Datadog in parallel as the article's no-code fallback.

provider "aws" {
  region = var.central_region
}

provider "aws" {
  alias  = "member"
  region = var.member_region

  # In a real organization, assume a role in the member account here, for example:
  # assume_role { role_arn = "arn:aws:iam::<member>:role/terraform" }
}

data "aws_caller_identity" "member" {
  provider = aws.member
}

resource "aws_sns_topic" "alarms" {
  name              = "ecs-stop-forwarder-alarms"
  kms_master_key_id = "alias/aws/sns"
}

module "central_bus" {
  source = "../../modules/cross-account-source/modules/central-bus"

  event_bus_name     = "ecs-task-stop"
  source_account_ids = distinct(concat([data.aws_caller_identity.member.account_id], var.member_account_ids))
  organization_id    = var.organization_id
}

module "member_source" {
  source = "../../modules/cross-account-source"
  providers = {
    aws = aws.member
  }

  target_event_bus_arn = module.central_bus.event_bus_arn
  role_name            = "ecs-task-stop-to-central-${var.member_region}"
}

module "forwarder" {
  source = "../../modules/lambda-forwarder"

  name           = "ecs-stop-forwarder"
  package_path   = var.package_path
  event_bus_name = module.central_bus.event_bus_name
  architecture   = "arm64"
  runtime        = "python3.13"

  destinations                    = ["datadog", "newrelic"]
  min_severity                    = "warning"
  exclude_categories              = ["user-stopped"]
  datadog_api_key_secret_arn      = var.datadog_api_key_secret_arn
  datadog_site                    = var.datadog_site
  newrelic_license_key_secret_arn = var.newrelic_license_key_secret_arn
  newrelic_region                 = var.newrelic_region

  kms_key_arn         = var.kms_key_arn
  archive_kms_key_arn = var.kms_key_arn

  reserved_concurrent_executions = 5
  alarm_sns_topic_arn            = aws_sns_topic.alarms.arn
}

module "firehose_fallback" {
  source = "../../modules/firehose-fallback"

  event_bus_name      = module.central_bus.event_bus_name
  vendor              = "datadog"
  datadog_site        = var.datadog_site
  api_key_secret_arn  = var.datadog_firehose_secret_arn
  buffering_interval  = 0
  alarm_sns_topic_arn = aws_sns_topic.alarms.arn
}
