data "aws_partition" "current" {}
data "aws_region" "current" {}
data "aws_caller_identity" "current" {}

locals {
  partition  = data.aws_partition.current.partition
  region     = data.aws_region.current.name
  account_id = data.aws_caller_identity.current.account_id

  # Firehose intakes. Datadog: one per site. New Relic: US and EU.
  vendor_endpoints = {
    datadog = "https://aws-kinesis-http-intake.logs.${var.datadog_site}/v1/input"
    newrelic = {
      US = "https://aws-api.newrelic.com/firehose/v1"
      EU = "https://aws-api.eu.newrelic.com/firehose/v1"
    }[var.newrelic_region]
  }
  endpoint_url  = coalesce(var.endpoint_url, local.vendor_endpoints[var.vendor])
  endpoint_name = { datadog = "Datadog", newrelic = "New Relic" }[var.vendor]

  backup_bucket = var.create_backup_bucket ? module.backup_bucket[0].bucket_id : var.backup_bucket_name
  # The placeholder only keeps planning alive until the stream's precondition reports the
  # missing backup_bucket_name.
  backup_bucket_arn = "arn:${local.partition}:s3:::${coalesce(local.backup_bucket, "backup-bucket-name-required")}"

  log_group_name         = "/aws/kinesisfirehose/${var.stream_name}"
  http_log_stream_name   = "HttpEndpointDelivery"
  backup_log_stream_name = "BackupDelivery"
}

module "backup_bucket" {
  source = "../archive-bucket"
  count  = var.create_backup_bucket ? 1 : 0

  bucket_name       = var.backup_bucket_name
  bucket_prefix     = "${lower(substr(var.stream_name, 0, 24))}-backup-"
  kms_key_arn       = var.backup_bucket_kms_key_arn
  force_destroy     = var.backup_force_destroy
  access_log_bucket = var.backup_access_log_bucket
  object_lock       = var.backup_object_lock
  tags              = var.tags
}

resource "aws_cloudwatch_log_group" "firehose" {
  name              = local.log_group_name
  retention_in_days = var.log_retention_in_days
  kms_key_id        = var.kms_key_arn
  tags              = var.tags
}

resource "aws_cloudwatch_log_stream" "http_endpoint" {
  name           = local.http_log_stream_name
  log_group_name = aws_cloudwatch_log_group.firehose.name
}

resource "aws_cloudwatch_log_stream" "backup" {
  name           = local.backup_log_stream_name
  log_group_name = aws_cloudwatch_log_group.firehose.name
}

resource "aws_kinesis_firehose_delivery_stream" "this" {
  name        = var.stream_name
  destination = "http_endpoint"

  dynamic "server_side_encryption" {
    for_each = var.enable_server_side_encryption ? [1] : []
    content {
      enabled  = true
      key_type = var.kms_key_arn == null ? "AWS_OWNED_CMK" : "CUSTOMER_MANAGED_CMK"
      key_arn  = var.kms_key_arn
    }
  }

  http_endpoint_configuration {
    url                = local.endpoint_url
    name               = local.endpoint_name
    buffering_size     = var.buffering_size
    buffering_interval = var.buffering_interval
    retry_duration     = var.retry_duration
    role_arn           = aws_iam_role.firehose.arn
    s3_backup_mode     = "AllData"

    # The vendor key stays in Secrets Manager (JSON {"api_key": ...}); it never enters
    # Terraform code or state, unlike the article's access_key.
    secrets_manager_configuration {
      enabled    = true
      secret_arn = var.api_key_secret_arn
      role_arn   = aws_iam_role.firehose.arn
    }

    request_configuration {
      content_encoding = "GZIP"
    }

    cloudwatch_logging_options {
      enabled         = true
      log_group_name  = aws_cloudwatch_log_group.firehose.name
      log_stream_name = aws_cloudwatch_log_stream.http_endpoint.name
    }

    s3_configuration {
      role_arn   = aws_iam_role.firehose.arn
      bucket_arn = local.backup_bucket_arn
      prefix     = var.backup_prefix
      # Failed records go here, under a prefix of ours: the role's object access is limited to
      # these two prefixes (issue #25, item 6).
      error_output_prefix = var.backup_error_output_prefix
      buffering_size      = 1
      buffering_interval  = 60
      compression_format  = "GZIP"
      kms_key_arn         = var.backup_bucket_kms_key_arn

      cloudwatch_logging_options {
        enabled         = true
        log_group_name  = aws_cloudwatch_log_group.firehose.name
        log_stream_name = aws_cloudwatch_log_stream.backup.name
      }
    }
  }

  tags = var.tags

  lifecycle {
    precondition {
      condition     = var.create_backup_bucket || var.backup_bucket_name != null
      error_message = "create_backup_bucket is false: set backup_bucket_name to the existing backup bucket."
    }
    precondition {
      condition     = !startswith(var.backup_error_output_prefix, var.backup_prefix) && !startswith(var.backup_prefix, var.backup_error_output_prefix)
      error_message = "backup_error_output_prefix and backup_prefix must not contain one another: a replay of the backup would read error documents."
    }
  }

  depends_on = [aws_iam_role_policy.firehose]
}
