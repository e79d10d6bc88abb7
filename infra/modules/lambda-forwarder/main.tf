data "aws_partition" "current" {}
data "aws_region" "current" {}
data "aws_caller_identity" "current" {}

locals {
  partition  = data.aws_partition.current.partition
  region     = data.aws_region.current.name
  account_id = data.aws_caller_identity.current.account_id

  # dist/lambda.zip at the repository root, built by `make package`; or a (signed) zip in S3.
  package_path = var.package_s3 == null ? coalesce(var.package_path, "${path.module}/../../../dist/lambda.zip") : null

  # The manifest `make package` writes beside the zip (forwarder/package.py): the runtime whose
  # Python compiled the zip's bytecode, or null for a zip of sources only. A 3.12 zip on the
  # python3.13 runtime still runs, but 3.13 ignores 3.12's pycs and compiles every module again
  # at each cold start (Lambda's /var/task is read-only, so nothing is cached): the point of the
  # bytecode is lost without an error. The preconditions on the function refuse that.
  package_manifest_path = !var.verify_package_runtime ? null : (
    var.package_manifest_path != null ? var.package_manifest_path : (local.package_path == null ? null : "${local.package_path}.json")
  )
  package_manifest_found = local.package_manifest_path == null ? false : fileexists(local.package_manifest_path)
  package_manifest       = local.package_manifest_found ? try(jsondecode(file(local.package_manifest_path)), null) : null
  # "runtime" must be present: null (sources only) or pythonX.Y. Anything else is not its manifest.
  package_manifest_valid = try(contains(keys(local.package_manifest), "runtime") && (local.package_manifest.runtime == null || can(regex("^python3\\.[0-9]+$", local.package_manifest.runtime))), false)
  package_runtime        = local.package_manifest_valid ? local.package_manifest.runtime : null

  # The function's ARN, built rather than read so the role policy can name it without a cycle.
  function_arn = "arn:${local.partition}:lambda:${local.region}:${local.account_id}:function:${var.name}"

  code_signing_config_arn = length(var.code_signing_profile_version_arns) > 0 ? aws_lambda_code_signing_config.this[0].arn : var.code_signing_config_arn

  # SnapStart (snap_start): Lambda snapshots a version when it is published, and only published
  # versions are restored from a snapshot; $LATEST would start cold. So with snap_start every change
  # publishes a version, the alias "live" follows it, and everything that invokes or configures the
  # invocation names the alias: the rule's target, its permission, the async invoke config.
  # forwarder.snapstart registers the runtime hooks (before the snapshot: settings, S3 client and
  # TLS context built, no key read; after each restore: vendor clients and connections dropped, keys
  # read again, the jitter's random generator reseeded) around forwarder.handler's handler.
  handler    = var.snap_start ? "forwarder.snapstart.lambda_handler" : "forwarder.handler.lambda_handler"
  alias_name = "live"

  archive_enabled    = var.create_archive_bucket || var.archive_bucket_name != null
  archive_bucket     = var.create_archive_bucket ? module.archive_bucket[0].bucket_id : var.archive_bucket_name
  archive_bucket_arn = local.archive_enabled ? "arn:${local.partition}:s3:::${local.archive_bucket}" : null

  # Environment read by forwarder.config (forwarder/config.py, ENV_VARS). Optional values are
  # set only when given, so the forwarder's own defaults apply otherwise. The plaintext key
  # variables (DD_API_KEY, NEW_RELIC_LICENSE_KEY) are deliberately never set: keys are
  # referenced by Secrets Manager ARN or SSM parameter name only.
  environment = merge(
    { FORWARDER_DESTINATIONS = join(",", var.destinations) },
    var.min_severity == null ? {} : { FORWARDER_MIN_SEVERITY = var.min_severity },
    length(var.exclude_categories) == 0 ? {} : { FORWARDER_EXCLUDE_CATEGORIES = join(",", var.exclude_categories) },
    length(var.enrich) == 0 ? {} : { FORWARDER_ENRICH = join(",", var.enrich) },
    local.archive_enabled ? { ARCHIVE_BUCKET = local.archive_bucket, ARCHIVE_PREFIX = var.archive_prefix } : {},
    local.archive_enabled && var.archive_kms_key_arn != null ? { ARCHIVE_KMS_KEY_ID = var.archive_kms_key_arn } : {},
    var.datadog_api_key_secret_arn == null ? {} : { DD_API_KEY_SECRET_ARN = var.datadog_api_key_secret_arn },
    var.datadog_api_key_ssm_parameter == null ? {} : { DD_API_KEY_SSM_PARAMETER = var.datadog_api_key_ssm_parameter },
    var.datadog_site == null ? {} : { DD_SITE = var.datadog_site },
    length(var.datadog_tags) == 0 ? {} : { DD_TAGS = join(",", var.datadog_tags) },
    var.datadog_source == null ? {} : { DD_SOURCE = var.datadog_source },
    var.datadog_logs_url == null ? {} : { DD_LOGS_URL = var.datadog_logs_url },
    var.newrelic_license_key_secret_arn == null ? {} : { NEW_RELIC_LICENSE_KEY_SECRET_ARN = var.newrelic_license_key_secret_arn },
    var.newrelic_license_key_ssm_parameter == null ? {} : { NEW_RELIC_LICENSE_KEY_SSM_PARAMETER = var.newrelic_license_key_ssm_parameter },
    var.newrelic_region == null ? {} : { NEW_RELIC_REGION = var.newrelic_region },
    var.newrelic_logs_url == null ? {} : { NEW_RELIC_LOGS_URL = var.newrelic_logs_url },
  )

  datadog_key_given  = var.datadog_api_key_secret_arn != null || var.datadog_api_key_ssm_parameter != null
  newrelic_key_given = var.newrelic_license_key_secret_arn != null || var.newrelic_license_key_ssm_parameter != null
}

resource "aws_cloudwatch_log_group" "this" {
  name              = "/aws/lambda/${var.name}"
  retention_in_days = var.log_retention_in_days
  kms_key_id        = var.kms_key_arn
  tags              = var.tags
}

resource "aws_lambda_function" "this" {
  #checkov:skip=CKV_AWS_116:Failed asynchronous invocations go to an on-failure destination (aws_lambda_function_event_invoke_config), which supersedes a DLQ and records the error; the rule target has its own DLQ.
  #checkov:skip=CKV_AWS_117:The function only calls AWS APIs and public vendor intakes; a VPC would add NAT cost without isolating anything.
  #checkov:skip=CKV_AWS_272:Code signing is optional (code_signing_profile_version_arns or code_signing_config_arn, with package_s3 for the signed zip) and off by default because it needs an AWS Signer profile this module does not own; checkov reads the null default.
  function_name                  = var.name
  description                    = "Forwards ECS task STOPPED events to observability vendors"
  role                           = aws_iam_role.this.arn
  handler                        = local.handler
  runtime                        = var.runtime
  architectures                  = [var.architecture]
  filename                       = local.package_path
  source_code_hash               = local.package_path == null ? null : filebase64sha256(local.package_path)
  s3_bucket                      = try(var.package_s3.bucket, null)
  s3_key                         = try(var.package_s3.key, null)
  s3_object_version              = try(var.package_s3.object_version, null)
  code_signing_config_arn        = local.code_signing_config_arn
  memory_size                    = var.memory_size
  timeout                        = var.timeout
  reserved_concurrent_executions = coalesce(var.reserved_concurrent_executions, -1)
  kms_key_arn                    = var.kms_key_arn
  publish                        = var.snap_start

  dynamic "snap_start" {
    for_each = var.snap_start ? ["PublishedVersions"] : []
    content {
      apply_on = snap_start.value
    }
  }

  ephemeral_storage {
    size = var.ephemeral_storage_size
  }

  environment {
    variables = local.environment
  }

  logging_config {
    log_format            = "JSON"
    log_group             = aws_cloudwatch_log_group.this.name
    application_log_level = var.application_log_level
    system_log_level      = "INFO"
  }

  tracing_config {
    mode = "PassThrough"
  }

  tags = var.tags

  lifecycle {
    precondition {
      condition     = !contains(var.destinations, "datadog") || local.datadog_key_given
      error_message = "destinations includes datadog: set datadog_api_key_secret_arn or datadog_api_key_ssm_parameter."
    }
    precondition {
      condition     = local.archive_enabled
      error_message = "The forwarder keeps a copy of every event before sending it: set create_archive_bucket = true or name an existing bucket in archive_bucket_name."
    }
    precondition {
      condition     = !contains(var.destinations, "newrelic") || local.newrelic_key_given
      error_message = "destinations includes newrelic: set newrelic_license_key_secret_arn or newrelic_license_key_ssm_parameter."
    }
    precondition {
      condition     = !var.verify_package_runtime || local.package_manifest_path != null
      error_message = "package_s3 is set, so there is no local zip to find a manifest beside: set package_manifest_path to the manifest `make package` wrote beside the zip you uploaded (dist/lambda.zip.json), or verify_package_runtime = false to deploy without the runtime check."
    }
    precondition {
      condition     = local.package_manifest_path == null || local.package_manifest_found
      error_message = "No package manifest at ${coalesce(local.package_manifest_path, "-")}: build the zip with `RUNTIME=${var.runtime} make package`, which writes dist/lambda.zip and its manifest dist/lambda.zip.json; or set package_manifest_path, or verify_package_runtime = false for a zip built without one."
    }
    precondition {
      condition     = !local.package_manifest_found || local.package_manifest_valid
      error_message = "${coalesce(local.package_manifest_path, "-")} is not a manifest written by `make package` (it needs \"runtime\": a Lambda Python runtime, or null for sources only): rebuild the zip with `RUNTIME=${var.runtime} make package`."
    }
    precondition {
      condition     = local.package_runtime == null || local.package_runtime == var.runtime
      error_message = "The package was built for ${coalesce(local.package_runtime, "-")} (its bytecode is compiled by that Python) but runtime is ${var.runtime}, which would ignore that bytecode and compile every module at each cold start: rebuild it with `RUNTIME=${var.runtime} make package`, or set runtime = \"${coalesce(local.package_runtime, "-")}\"."
    }
    precondition {
      condition     = !var.snap_start || var.ephemeral_storage_size <= 512
      error_message = "snap_start = true with ephemeral_storage_size = ${var.ephemeral_storage_size}: Lambda SnapStart does not support ephemeral storage above 512 MB. Set ephemeral_storage_size = 512, or snap_start = false."
    }
    precondition {
      condition     = var.code_signing_config_arn == null || length(var.code_signing_profile_version_arns) == 0
      error_message = "Set code_signing_config_arn (an existing config) or code_signing_profile_version_arns (a config created here), not both."
    }
  }

  depends_on = [aws_iam_role_policy.this, aws_cloudwatch_log_group.this]
}

# Optional code signing (issue #25, item 11): with profiles given, Lambda rejects any code not
# signed by one of them. AWS Signer writes the signed zip to S3: deploy it with package_s3.
resource "aws_lambda_code_signing_config" "this" {
  count = length(var.code_signing_profile_version_arns) > 0 ? 1 : 0

  description = "Code signing of the ${var.name} ECS stop forwarder"

  allowed_publishers {
    signing_profile_version_arns = var.code_signing_profile_version_arns
  }

  policies {
    untrusted_artifact_on_deployment = "Enforce"
  }

  tags = var.tags
}

# With snap_start, the name EventBridge invokes: it follows the version each change publishes.
resource "aws_lambda_alias" "live" {
  count = var.snap_start ? 1 : 0

  name             = local.alias_name
  description      = "The published version EventBridge invokes, restored from its SnapStart snapshot"
  function_name    = aws_lambda_function.this.function_name
  function_version = aws_lambda_function.this.version
}

# Retries and the on-failure queue are configured per version or alias: with snap_start, the alias
# that is invoked (a config on the unqualified name would only apply to $LATEST).
resource "aws_lambda_function_event_invoke_config" "this" {
  function_name                = aws_lambda_function.this.function_name
  qualifier                    = one(aws_lambda_alias.live[*].name)
  maximum_retry_attempts       = var.maximum_retry_attempts
  maximum_event_age_in_seconds = var.maximum_event_age_in_seconds

  destination_config {
    on_failure {
      destination = aws_sqs_queue.failures.arn
    }
  }
}
