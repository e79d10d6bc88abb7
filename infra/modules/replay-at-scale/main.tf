data "aws_partition" "current" {}
data "aws_region" "current" {}
data "aws_caller_identity" "current" {}

locals {
  partition  = data.aws_partition.current.partition
  region     = data.aws_region.current.name
  account_id = data.aws_caller_identity.current.account_id

  # dist/lambda.zip at the repository root, built by `make package`: the forwarder's zip, whose
  # second entry point is the replay worker.
  package_path = coalesce(var.package_path, "${path.module}/../../../dist/lambda.zip")
  handler      = "forwarder.replay_worker.lambda_handler"

  results_bucket     = coalesce(var.results_bucket_name, var.archive_bucket_name)
  archive_bucket_arn = "arn:${local.partition}:s3:::${var.archive_bucket_name}"
  results_bucket_arn = "arn:${local.partition}:s3:::${local.results_bucket}"

  # Known before the state machine exists: its role's trust policy and its own permissions
  # name it.
  state_machine_arn = "arn:${local.partition}:states:${local.region}:${local.account_id}:stateMachine:${var.name}"

  # What forwarder.config reads for the vendors (keys by reference only, never in plain text),
  # and where checkpoints are encrypted to.
  environment = merge(
    var.datadog_api_key_secret_arn == null ? {} : { DD_API_KEY_SECRET_ARN = var.datadog_api_key_secret_arn },
    var.datadog_api_key_ssm_parameter == null ? {} : { DD_API_KEY_SSM_PARAMETER = var.datadog_api_key_ssm_parameter },
    var.datadog_site == null ? {} : { DD_SITE = var.datadog_site },
    length(var.datadog_tags) == 0 ? {} : { DD_TAGS = join(",", var.datadog_tags) },
    var.newrelic_license_key_secret_arn == null ? {} : { NEW_RELIC_LICENSE_KEY_SECRET_ARN = var.newrelic_license_key_secret_arn },
    var.newrelic_license_key_ssm_parameter == null ? {} : { NEW_RELIC_LICENSE_KEY_SSM_PARAMETER = var.newrelic_license_key_ssm_parameter },
    var.newrelic_region == null ? {} : { NEW_RELIC_REGION = var.newrelic_region },
    var.results_kms_key_arn == null ? {} : { REPLAY_RESULTS_KMS_KEY_ID = var.results_kms_key_arn },
  )
  keys_given = anytrue([
    var.datadog_api_key_secret_arn != null, var.datadog_api_key_ssm_parameter != null,
    var.newrelic_license_key_secret_arn != null, var.newrelic_license_key_ssm_parameter != null,
  ])
}

################################################################################
# Worker
################################################################################

resource "aws_cloudwatch_log_group" "worker" {
  name              = "/aws/lambda/${var.name}"
  retention_in_days = var.log_retention_in_days
  kms_key_id        = var.kms_key_arn
  tags              = var.tags
}

resource "aws_lambda_function" "worker" {
  #checkov:skip=CKV_AWS_116:The worker is invoked synchronously by Step Functions, which retries it by error name and records each failed batch in the Map Run's results; a DLQ only applies to asynchronous invocations.
  #checkov:skip=CKV_AWS_117:The worker only calls AWS APIs and public vendor intakes; a VPC would add NAT cost without isolating anything.
  #checkov:skip=CKV_AWS_272:Code signing needs a signing profile outside this module; the artifact is built from this repository by `make package`.
  function_name                  = var.name
  description                    = "Replays one Distributed Map batch of archived ECS stop records to the vendors"
  role                           = aws_iam_role.worker.arn
  handler                        = local.handler
  runtime                        = var.runtime
  architectures                  = [var.architecture]
  filename                       = local.package_path
  source_code_hash               = filebase64sha256(local.package_path)
  memory_size                    = var.memory_size
  timeout                        = var.worker_timeout
  reserved_concurrent_executions = coalesce(var.reserved_concurrent_executions, -1)
  kms_key_arn                    = var.kms_key_arn

  environment {
    variables = local.environment
  }

  logging_config {
    log_format            = "JSON"
    log_group             = aws_cloudwatch_log_group.worker.name
    application_log_level = "INFO"
    system_log_level      = "INFO"
  }

  tracing_config {
    mode = "PassThrough"
  }

  tags = var.tags

  lifecycle {
    precondition {
      condition     = local.keys_given
      error_message = "The worker sends to the vendors whose keys it can read: set at least one of datadog_api_key_secret_arn, datadog_api_key_ssm_parameter, newrelic_license_key_secret_arn, newrelic_license_key_ssm_parameter."
    }
    precondition {
      condition     = local.results_bucket != var.archive_bucket_name || !startswith(var.results_prefix, var.archive_prefix)
      error_message = "results_prefix must not be inside archive_prefix: a replay would list its own results as archive objects."
    }
  }

  depends_on = [aws_iam_role_policy.worker, aws_cloudwatch_log_group.worker]
}

################################################################################
# State machine
################################################################################

resource "aws_cloudwatch_log_group" "state_machine" {
  name              = "/aws/vendedlogs/states/${var.name}"
  retention_in_days = var.log_retention_in_days
  kms_key_id        = var.kms_key_arn
  tags              = var.tags
}

resource "aws_sfn_state_machine" "this" {
  #checkov:skip=CKV_AWS_284:X-Ray would trace every child workflow of every batch (millions in a backfill); the Map Run's counts, the results in S3 and the log group say what happened.
  name     = var.name
  type     = "STANDARD"
  role_arn = aws_iam_role.state_machine.arn

  # Generated by forwarder/scale/definition.py (`make state-machine`); tests fail when stale.
  definition = templatefile("${path.module}/state-machine.asl.json", {
    worker_function_arn = aws_lambda_function.worker.arn
    archive_bucket      = var.archive_bucket_name
    archive_prefix      = var.archive_prefix
    results_bucket      = local.results_bucket
    results_prefix      = var.results_prefix
  })

  # With execution data: a failed batch's error carries its counts and what the vendor said
  # (keys are never in it: the worker redacts them from vendor answers); batch inputs are S3 keys.
  logging_configuration {
    log_destination        = "${aws_cloudwatch_log_group.state_machine.arn}:*"
    include_execution_data = true
    level                  = var.state_machine_log_level
  }

  tags = var.tags

  depends_on = [aws_iam_role_policy.state_machine]
}
