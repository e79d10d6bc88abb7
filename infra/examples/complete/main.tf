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

data "aws_caller_identity" "central" {}
data "aws_partition" "central" {}
data "aws_region" "central" {}

locals {
  central_account_root = "arn:${data.aws_partition.central.partition}:iam::${data.aws_caller_identity.central.account_id}:root"

  # CloudWatch alarms cannot publish to a topic encrypted with the AWS managed key
  # alias/aws/sns: its key policy does not let CloudWatch use the key, and no one can edit it.
  # This customer managed key does (issue #25, item 2). In a key policy, Resource "*" means
  # this key.
  alarm_key_policy = {
    Version = "2012-10-17"
    Statement = [
      {
        # IAM policies of this account may administer the key (the named actions only).
        Sid       = "AccountAdministersKey"
        Effect    = "Allow"
        Principal = { AWS = local.central_account_root }
        Action = [
          "kms:CancelKeyDeletion", "kms:DescribeKey", "kms:DisableKey", "kms:DisableKeyRotation",
          "kms:EnableKey", "kms:EnableKeyRotation", "kms:GetKeyPolicy", "kms:GetKeyRotationStatus",
          "kms:ListResourceTags", "kms:PutKeyPolicy", "kms:ScheduleKeyDeletion", "kms:TagResource",
          "kms:UntagResource", "kms:UpdateKeyDescription",
        ]
        Resource = "*"
      },
      {
        # Principals of this account that IAM allows may publish to the topic (SNS encrypts).
        Sid       = "AccountPublishesThroughSns"
        Effect    = "Allow"
        Principal = { AWS = local.central_account_root }
        Action    = ["kms:Decrypt", "kms:GenerateDataKey"]
        Resource  = "*"
        Condition = { StringEquals = { "kms:ViaService" = "sns.${data.aws_region.central.name}.amazonaws.com" } }
      },
      {
        # The statement AWS documents for CloudWatch alarms on an encrypted topic. The key
        # encrypts nothing but this topic, and who may publish is still the topic policy's call.
        Sid       = "CloudWatchAlarmsUseKey"
        Effect    = "Allow"
        Principal = { Service = "cloudwatch.amazonaws.com" }
        Action    = ["kms:Decrypt", "kms:GenerateDataKey"]
        Resource  = "*"
      },
    ]
  }
}

resource "aws_kms_key" "alarms" {
  description             = "Encrypts the ecs-stop-forwarder alarm topic; usable by CloudWatch alarms"
  enable_key_rotation     = true
  deletion_window_in_days = 30
  policy                  = jsonencode(local.alarm_key_policy)
}

resource "aws_sns_topic" "alarms" {
  name              = "ecs-stop-forwarder-alarms"
  kms_master_key_id = aws_kms_key.alarms.arn
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
  # Its dead-letter alarm has no action here: the topic is in the central account and region.
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
  alarm_sns_topic_arn = aws_sns_topic.alarms.arn
}
