# Behaviour of the module under a mock AWS provider (no credentials, no network).
# Policies are built with jsonencode(), so their real JSON is inspected here.

mock_provider "aws" {
  mock_data "aws_partition" {
    defaults = { partition = "aws" }
  }
  mock_data "aws_region" {
    defaults = { name = "us-east-1" }
  }
  mock_data "aws_caller_identity" {
    defaults = { account_id = "123456789012" }
  }
  mock_resource "aws_s3_bucket" {
    defaults = { arn = "arn:aws:s3:::mock-archive", id = "mock-archive" }
  }
  mock_resource "aws_sqs_queue" {
    defaults = { arn = "arn:aws:sqs:us-east-1:123456789012:mock-failures" }
  }
  mock_resource "aws_cloudwatch_log_group" {
    defaults = { arn = "arn:aws:logs:us-east-1:123456789012:log-group:/aws/lambda/mock" }
  }
  mock_resource "aws_iam_role" {
    defaults = { arn = "arn:aws:iam::123456789012:role/mock" }
  }
  mock_resource "aws_lambda_function" {
    defaults = {
      arn        = "arn:aws:lambda:us-east-1:123456789012:function:mock"
      invoke_arn = "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:123456789012:function:mock/invocations"
    }
  }
  mock_resource "aws_cloudwatch_event_rule" {
    defaults = { arn = "arn:aws:events:us-east-1:123456789012:rule/mock" }
  }
  mock_resource "aws_lambda_code_signing_config" {
    defaults = { arn = "arn:aws:lambda:us-east-1:123456789012:code-signing-config:csc-0mock0000000000000" }
  }
}

variables {
  package_path = "tests/fixtures/lambda.zip"
  destinations = ["stdout"]
}

run "defaults_follow_the_article_and_the_issue" {
  assert {
    condition = jsondecode(aws_cloudwatch_event_rule.this.event_pattern) == {
      source        = ["aws.ecs"]
      "detail-type" = ["ECS Task State Change"]
      detail        = { lastStatus = ["STOPPED"] }
    }
    error_message = "The rule pattern must be the article's: aws.ecs / ECS Task State Change / lastStatus STOPPED."
  }

  assert {
    condition     = aws_cloudwatch_event_target.this.arn == aws_lambda_function.this.arn
    error_message = "The rule must target the forwarder function."
  }

  assert {
    condition     = aws_lambda_permission.events.principal == "events.amazonaws.com" && aws_lambda_permission.events.source_arn == aws_cloudwatch_event_rule.this.arn
    error_message = "Only the rule may invoke the function."
  }

  assert {
    condition     = aws_lambda_function.this.handler == "forwarder.handler.lambda_handler"
    error_message = "Handler must be forwarder.handler.lambda_handler."
  }

  assert {
    condition     = aws_lambda_function.this.architectures == tolist(["arm64"]) && aws_lambda_function.this.runtime == "python3.12"
    error_message = "Default must be python3.12 on arm64."
  }

  assert {
    condition     = aws_lambda_function.this.source_code_hash == filebase64sha256("tests/fixtures/lambda.zip")
    error_message = "source_code_hash must come from the package file."
  }

  assert {
    condition     = aws_lambda_function.this.logging_config[0].log_format == "JSON" && aws_lambda_function.this.logging_config[0].log_group == aws_cloudwatch_log_group.this.name
    error_message = "Logs must be JSON in the module's log group."
  }

  assert {
    condition     = aws_cloudwatch_log_group.this.retention_in_days == 365
    error_message = "Log group must have the default retention."
  }

  assert {
    condition     = aws_lambda_function.this.reserved_concurrent_executions == 10
    error_message = "Concurrency must be reserved (10) by default: a guaranteed floor and a cap (issue #25, item 7)."
  }

  assert {
    condition     = aws_lambda_function_event_invoke_config.this.maximum_retry_attempts == 2 && aws_lambda_function_event_invoke_config.this.maximum_event_age_in_seconds == 21600
    error_message = "Async invoke defaults must be AWS's (2 retries, 6 h)."
  }

  assert {
    condition     = aws_lambda_function_event_invoke_config.this.destination_config[0].on_failure[0].destination == aws_sqs_queue.failures.arn
    error_message = "Failed invocations must go to the failure queue."
  }

  assert {
    condition     = aws_sqs_queue.failures.sqs_managed_sse_enabled == true
    error_message = "The failure queue must be encrypted (SSE-SQS without a key)."
  }

  assert {
    condition = aws_lambda_function.this.environment[0].variables == tomap({
      FORWARDER_DESTINATIONS = "stdout"
      FORWARDER_ENRICH       = "logs,image"
      ARCHIVE_BUCKET         = "mock-archive"
      ARCHIVE_PREFIX         = "ecs-task-stop-log/"
    })
    error_message = "Only given values may be set in the environment."
  }

  assert {
    condition     = length(aws_cloudwatch_metric_alarm.this) == 3 && alltrue([for key in ["errors", "throttles", "failure_queue"] : contains(keys(aws_cloudwatch_metric_alarm.this), key)])
    error_message = "Errors, throttles and failure-queue alarms must exist by default."
  }

  assert {
    condition     = aws_cloudwatch_metric_alarm.this["failure_queue"].metric_name == "ApproximateNumberOfMessagesVisible" && aws_cloudwatch_metric_alarm.this["failure_queue"].threshold == 0 && aws_cloudwatch_metric_alarm.this["failure_queue"].comparison_operator == "GreaterThanThreshold"
    error_message = "The queue alarm must fire on any visible message."
  }

  assert {
    condition     = length(aws_cloudwatch_metric_alarm.this["errors"].alarm_actions) == 0
    error_message = "Without a topic the alarms have no actions."
  }
}

run "no_wildcard_actions_in_any_policy" {
  variables {
    destinations                       = ["datadog", "newrelic"]
    datadog_api_key_secret_arn         = "arn:aws:secretsmanager:us-east-1:123456789012:secret:dd-AbCdEf"
    newrelic_license_key_ssm_parameter = "/nr/license"
    archive_kms_key_arn                = "arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555"
    kms_key_arn                        = "arn:aws:kms:us-east-1:123456789012:key/66666666-7777-8888-9999-000000000000"
    key_kms_key_arns                   = ["arn:aws:kms:us-east-1:123456789012:key/aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"]
  }

  # Every Allow statement of every policy document in the module. The only wildcard in
  # infra/ is the archive bucket's TLS-only Deny (s3:*), which can only remove access.
  assert {
    condition = alltrue(flatten([
      for doc in [
        aws_iam_role_policy.this.policy,
        aws_iam_role.this.assume_role_policy,
        aws_sqs_queue_policy.failures.policy,
        module.archive_bucket[0].bucket_policy,
        ] : [
        for s in jsondecode(doc).Statement : [
          for a in flatten([s.Action]) : s.Effect == "Deny" || (a != "*" && !endswith(a, ":*"))
        ]
      ]
    ]))
    error_message = "No Allow statement may use a wildcard action (\"*\" or \"service:*\")."
  }

  assert {
    condition = alltrue([
      for s in jsondecode(module.archive_bucket[0].bucket_policy).Statement :
      s.Effect == "Deny" && s.Condition.Bool["aws:SecureTransport"] == "false"
    ])
    error_message = "The archive bucket policy must only deny non-TLS requests."
  }

  assert {
    condition = alltrue([
      for s in jsondecode(aws_iam_role_policy.this.policy).Statement :
      alltrue([for r in flatten([s.Resource]) : r != "*"]) || s.Action == ["ecs:DescribeTaskDefinition"]
    ])
    error_message = "Only ecs:DescribeTaskDefinition (no resource-level permission) may apply to every resource."
  }

  assert {
    condition = [
      for s in jsondecode(aws_iam_role_policy.this.policy).Statement : s.Resource if s.Sid == "ReadVendorKeySecrets"
    ][0] == ["arn:aws:secretsmanager:us-east-1:123456789012:secret:dd-AbCdEf"]
    error_message = "Secrets access must be limited to the named secret."
  }

  assert {
    condition = [
      for s in jsondecode(aws_iam_role_policy.this.policy).Statement : s.Resource if s.Sid == "ReadVendorKeyParameters"
    ][0] == ["arn:aws:ssm:us-east-1:123456789012:parameter/nr/license"]
    error_message = "SSM access must be limited to the named parameter."
  }

  assert {
    condition = [
      for s in jsondecode(aws_iam_role_policy.this.policy).Statement : s.Resource if s.Sid == "ReadWriteArchivePrefix"
    ][0] == ["arn:aws:s3:::mock-archive/ecs-task-stop-log/*"]
    error_message = "Object access must be limited to the archive prefix."
  }

  assert {
    condition = [
      for s in jsondecode(aws_iam_role_policy.this.policy).Statement : s.Action if s.Sid == "UseArchiveKey"
    ][0] == ["kms:Decrypt", "kms:GenerateDataKey"]
    error_message = "SSE-KMS writes need kms:GenerateDataKey and reads kms:Decrypt on the archive key."
  }

  assert {
    condition     = aws_lambda_function.this.environment[0].variables["ARCHIVE_KMS_KEY_ID"] == "arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555"
    error_message = "ARCHIVE_KMS_KEY_ID must carry the archive key."
  }

  assert {
    condition     = aws_sqs_queue.failures.kms_master_key_id == "arn:aws:kms:us-east-1:123456789012:key/66666666-7777-8888-9999-000000000000"
    error_message = "The failure queue must use the given key."
  }
}

run "no_kms_permissions_without_keys" {
  assert {
    condition = alltrue([
      for s in jsondecode(aws_iam_role_policy.this.policy).Statement :
      alltrue([for a in s.Action : !startswith(a, "kms:")])
    ])
    error_message = "kms:* permissions must only appear when a key is given."
  }

  assert {
    condition = alltrue([
      for s in jsondecode(aws_iam_role_policy.this.policy).Statement :
      alltrue([for a in s.Action : !startswith(a, "secretsmanager:") && !startswith(a, "ssm:")])
    ])
    error_message = "No key-reading permissions without a named secret or parameter."
  }
}

run "every_optional_setting_reaches_the_environment" {
  variables {
    destinations                       = ["datadog", "newrelic", "stdout"]
    min_severity                       = "warning"
    exclude_categories                 = ["user-stopped", "app-completed"]
    archive_kms_key_arn                = "arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555"
    datadog_api_key_secret_arn         = "arn:aws:secretsmanager:us-east-1:123456789012:secret:dd-AbCdEf"
    datadog_api_key_ssm_parameter      = "/dd/api-key"
    datadog_site                       = "datadoghq.eu"
    datadog_tags                       = ["team:sre", "env:prod"]
    datadog_source                     = "ecs"
    datadog_logs_url                   = "https://http-intake.logs.datadoghq.eu/api/v2/logs"
    newrelic_license_key_secret_arn    = "arn:aws:secretsmanager:us-east-1:123456789012:secret:nr-AbCdEf"
    newrelic_license_key_ssm_parameter = "nr-license"
    newrelic_region                    = "EU"
    newrelic_logs_url                  = "https://log-api.eu.newrelic.com/log/v1"
  }

  assert {
    condition     = !contains(keys(aws_lambda_function.this.environment[0].variables), "DD_API_KEY") && !contains(keys(aws_lambda_function.this.environment[0].variables), "NEW_RELIC_LICENSE_KEY")
    error_message = "Plaintext key variables must never be set."
  }

  assert {
    condition     = length(output.environment_variable_names) == 17
    error_message = "Every non-plaintext forwarder variable must be settable (17 of them)."
  }

  assert {
    condition     = aws_lambda_function.this.environment[0].variables["DD_TAGS"] == "team:sre,env:prod" && aws_lambda_function.this.environment[0].variables["FORWARDER_EXCLUDE_CATEGORIES"] == "user-stopped,app-completed"
    error_message = "Lists must be comma-joined."
  }

  assert {
    condition     = aws_lambda_function.this.environment[0].variables["FORWARDER_DESTINATIONS"] == "datadog,newrelic,stdout"
    error_message = "FORWARDER_DESTINATIONS must be the comma-joined destinations."
  }
}

run "cluster_filter_and_existing_bucket" {
  variables {
    cluster_arns          = ["arn:aws:ecs:us-east-1:123456789012:cluster/batch"]
    create_archive_bucket = false
    archive_bucket_name   = "existing-archive"
    archive_prefix        = "stops/"
    event_bus_name        = "central"
  }

  assert {
    condition     = jsondecode(aws_cloudwatch_event_rule.this.event_pattern).detail.clusterArn == ["arn:aws:ecs:us-east-1:123456789012:cluster/batch"]
    error_message = "cluster_arns must narrow the pattern on detail.clusterArn."
  }

  assert {
    condition     = jsondecode(aws_cloudwatch_event_rule.this.event_pattern).detail.lastStatus == ["STOPPED"]
    error_message = "The cluster filter must keep lastStatus STOPPED."
  }

  assert {
    condition     = length(module.archive_bucket) == 0 && aws_lambda_function.this.environment[0].variables["ARCHIVE_BUCKET"] == "existing-archive"
    error_message = "An existing bucket must be used, not created."
  }

  assert {
    condition = [
      for s in jsondecode(aws_iam_role_policy.this.policy).Statement : s.Resource if s.Sid == "ReadWriteArchivePrefix"
    ][0] == ["arn:aws:s3:::existing-archive/stops/*"]
    error_message = "Object access must follow the existing bucket and prefix."
  }

  assert {
    condition     = aws_cloudwatch_event_rule.this.event_bus_name == "central" && aws_cloudwatch_event_target.this.event_bus_name == "central"
    error_message = "Rule and target must sit on the given bus."
  }
}

run "datadog_destination_requires_a_key_reference" {
  command = plan

  variables {
    destinations = ["datadog"]
  }

  expect_failures = [aws_lambda_function.this]
}

run "newrelic_destination_requires_a_key_reference" {
  command = plan

  variables {
    destinations = ["newrelic"]
  }

  expect_failures = [aws_lambda_function.this]
}

run "an_archive_is_required" {
  command = plan

  variables {
    create_archive_bucket = false
    archive_bucket_name   = null
  }

  expect_failures = [aws_lambda_function.this]
}

run "alarms_can_be_left_out" {
  variables {
    create_alarms = false
  }

  assert {
    condition     = length(aws_cloudwatch_metric_alarm.this) == 0 && length(output.alarm_arns) == 0
    error_message = "create_alarms = false must create no alarm."
  }
}

# Enrichment (issue #18): FORWARDER_ENRICH and exactly the grants each step needs.

run "enrichment_defaults_grant_all_three" {
  assert {
    condition     = aws_lambda_function.this.environment[0].variables["FORWARDER_ENRICH"] == "logs,image"
    error_message = "Both enrichment steps are on by default."
  }

  assert {
    condition = [
      for s in jsondecode(aws_iam_role_policy.this.policy).Statement : s if s.Sid == "DescribeTaskDefinitions"
      ] == [{
        Sid      = "DescribeTaskDefinitions"
        Effect   = "Allow"
        Action   = ["ecs:DescribeTaskDefinition"]
        Resource = ["*"]
    }]
    error_message = "Enrichment reads task definitions; the action has no resource-level permission."
  }

  assert {
    condition = [
      for s in jsondecode(aws_iam_role_policy.this.policy).Statement : s if s.Sid == "ReadContainerLogStreams"
      ] == [{
        Sid      = "ReadContainerLogStreams"
        Effect   = "Allow"
        Action   = ["logs:GetLogEvents"]
        Resource = ["arn:aws:logs:us-east-1:123456789012:log-group:*:log-stream:*"]
    }]
    error_message = "By default the logs step reads any log stream of this account and region, and nothing else."
  }

  assert {
    condition = [
      for s in jsondecode(aws_iam_role_policy.this.policy).Statement : s if s.Sid == "ReadImageManifests"
      ] == [{
        Sid      = "ReadImageManifests"
        Effect   = "Allow"
        Action   = ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"]
        Resource = ["arn:aws:ecr:*:123456789012:repository/*"]
    }]
    error_message = "By default the image step reads manifests and layers of this account's repositories in any region."
  }
}

run "enrichment_off_grants_nothing_and_sets_no_variable" {
  variables {
    enrich = []
  }

  assert {
    condition     = !contains(keys(aws_lambda_function.this.environment[0].variables), "FORWARDER_ENRICH")
    error_message = "enrich = [] must leave FORWARDER_ENRICH unset."
  }

  assert {
    condition = alltrue(flatten([
      for s in jsondecode(aws_iam_role_policy.this.policy).Statement : [
        for a in s.Action : !startswith(a, "ecs:") && !startswith(a, "ecr:") && a != "logs:GetLogEvents"
      ]
    ]))
    error_message = "enrich = [] must grant no ECS, ECR or log-reading action."
  }
}

run "enrichment_logs_only_grants_ecs_and_logs" {
  variables {
    enrich                = ["logs"]
    enrich_log_group_arns = ["arn:aws:logs:us-east-1:123456789012:log-group:/ecs/batch", "arn:aws:logs:us-east-1:123456789012:log-group:/ecs/web-*:*"]
  }

  assert {
    condition     = aws_lambda_function.this.environment[0].variables["FORWARDER_ENRICH"] == "logs"
    error_message = "FORWARDER_ENRICH must list the steps given."
  }

  assert {
    condition     = toset([for s in jsondecode(aws_iam_role_policy.this.policy).Statement : s.Sid if contains(["DescribeTaskDefinitions", "ReadContainerLogStreams", "ReadImageManifests"], s.Sid)]) == toset(["DescribeTaskDefinitions", "ReadContainerLogStreams"])
    error_message = "logs alone must grant the task definition and log reads, not ECR."
  }

  assert {
    condition = [
      for s in jsondecode(aws_iam_role_policy.this.policy).Statement : s.Resource if s.Sid == "ReadContainerLogStreams"
      ][0] == [
      "arn:aws:logs:us-east-1:123456789012:log-group:/ecs/batch:log-stream:*",
      "arn:aws:logs:us-east-1:123456789012:log-group:/ecs/web-*:log-stream:*",
    ]
    error_message = "GetLogEvents must be limited to the streams of the given log groups."
  }
}

run "enrichment_image_only_uses_the_given_repositories" {
  variables {
    enrich                     = ["image"]
    enrich_ecr_repository_arns = ["arn:aws:ecr:us-east-1:123456789012:repository/books/*"]
  }

  assert {
    condition     = toset([for s in jsondecode(aws_iam_role_policy.this.policy).Statement : s.Sid if contains(["DescribeTaskDefinitions", "ReadContainerLogStreams", "ReadImageManifests"], s.Sid)]) == toset(["DescribeTaskDefinitions", "ReadImageManifests"])
    error_message = "image alone must grant the task definition and ECR reads, not logs."
  }

  assert {
    condition = [
      for s in jsondecode(aws_iam_role_policy.this.policy).Statement : s.Resource if s.Sid == "ReadImageManifests"
    ][0] == ["arn:aws:ecr:us-east-1:123456789012:repository/books/*"]
    error_message = "ECR reads must be limited to the given repositories."
  }
}

# Issue #25 (least-privilege review), lambda-forwarder items.

run "kms_statements_are_bound_to_their_service_and_resource" {
  variables {
    destinations                       = ["datadog", "newrelic"]
    datadog_api_key_secret_arn         = "arn:aws:secretsmanager:us-east-1:123456789012:secret:dd-AbCdEf"
    newrelic_license_key_ssm_parameter = "/nr/license"
    archive_kms_key_arn                = "arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555"
    kms_key_arn                        = "arn:aws:kms:us-east-1:123456789012:key/66666666-7777-8888-9999-000000000000"
    key_kms_key_arns                   = ["arn:aws:kms:us-east-1:123456789012:key/aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"]
  }

  # Item 5: no KMS statement may work outside the service it is for.
  assert {
    condition = alltrue([
      for s in jsondecode(aws_iam_role_policy.this.policy).Statement :
      try(s.Condition.StringEquals["kms:ViaService"], null) != null if anytrue([for a in s.Action : startswith(a, "kms:")])
    ])
    error_message = "Every KMS statement must carry a kms:ViaService condition."
  }

  assert {
    condition = { for s in jsondecode(aws_iam_role_policy.this.policy).Statement : s.Sid => s.Condition if anytrue([for a in s.Action : startswith(a, "kms:")]) } == {
      UseArchiveKey = {
        StringEquals = { "kms:ViaService" = "s3.us-east-1.amazonaws.com" }
        StringLike   = { "kms:EncryptionContext:aws:s3:arn" = ["arn:aws:s3:::mock-archive", "arn:aws:s3:::mock-archive/ecs-task-stop-log/*"] }
      }
      DecryptVendorKeySecrets = {
        StringEquals = {
          "kms:ViaService"                  = "secretsmanager.us-east-1.amazonaws.com"
          "kms:EncryptionContext:SecretARN" = ["arn:aws:secretsmanager:us-east-1:123456789012:secret:dd-AbCdEf"]
        }
      }
      DecryptVendorKeyParameters = {
        StringEquals = {
          "kms:ViaService"                      = "ssm.us-east-1.amazonaws.com"
          "kms:EncryptionContext:PARAMETER_ARN" = ["arn:aws:ssm:us-east-1:123456789012:parameter/nr/license"]
        }
      }
      UseFunctionKeyForFailureQueue = {
        StringEquals = {
          "kms:ViaService"                    = "sqs.us-east-1.amazonaws.com"
          "kms:EncryptionContext:aws:sqs:arn" = ["arn:aws:sqs:us-east-1:123456789012:mock-failures"]
        }
      }
      DecryptFunctionEnvironment = {
        StringEquals = {
          "kms:ViaService"                               = "lambda.us-east-1.amazonaws.com"
          "kms:EncryptionContext:aws:lambda:FunctionArn" = ["arn:aws:lambda:us-east-1:123456789012:function:ecs-stop-forwarder"]
        }
      }
    }
    error_message = "Each KMS statement must be limited to its service and to the resource's encryption context."
  }
}

# Item 8: Lambda does not set aws:SourceAccount / aws:SourceArn (or any other key a trust policy
# could check) when it assumes a function's execution role, so no condition can be added
# without breaking the function. This run pins the trust policy to the one principal instead.
run "lambda_trust_has_no_condition_because_lambda_sets_no_source_keys_for_execution_roles" {
  assert {
    condition = jsondecode(aws_iam_role.this.assume_role_policy) == {
      Version = "2012-10-17"
      Statement = [{
        Sid       = "LambdaAssumeRole"
        Effect    = "Allow"
        Principal = { Service = "lambda.amazonaws.com" }
        Action    = ["sts:AssumeRole"]
      }]
    }
    error_message = "Only the Lambda service may assume the execution role, with no other principal or action."
  }
}

# Item 3: the role can write new versions of records but not delete, unlock or expire them,
# and the archive bucket's Object Lock option reaches the bucket.
run "archive_role_cannot_delete_or_unlock_records" {
  variables {
    archive_object_lock                        = { retention_days = 60 }
    archive_noncurrent_version_expiration_days = 90
  }

  assert {
    condition = alltrue(flatten([
      for s in jsondecode(aws_iam_role_policy.this.policy).Statement : [
        for a in s.Action : !contains([
          "s3:DeleteObject", "s3:DeleteObjectVersion", "s3:PutObjectRetention", "s3:PutObjectLegalHold",
          "s3:BypassGovernanceRetention", "s3:PutBucketObjectLockConfiguration", "s3:PutLifecycleConfiguration",
          "s3:PutBucketVersioning", "s3:PutBucketPolicy",
        ], a)
      ]
    ]))
    error_message = "The forwarder role must not be able to delete, unlock or expire archived versions."
  }

  assert {
    condition     = module.archive_bucket[0].object_lock_retention_days == 60 && module.archive_bucket[0].noncurrent_version_expiration_days == 90
    error_message = "archive_object_lock and archive_noncurrent_version_expiration_days must reach the archive bucket."
  }
}

run "archive_keeps_old_versions_as_long_as_records_by_default" {
  assert {
    condition     = module.archive_bucket[0].noncurrent_version_expiration_days == 400 && module.archive_bucket[0].object_lock_retention_days == null
    error_message = "Old versions must be kept as long as records (400 days), not 30; Object Lock is opt-in."
  }
}

# Item 11: optional code signing.
run "code_signing_config_from_signing_profiles" {
  variables {
    code_signing_profile_version_arns = ["arn:aws:signer:us-east-1:123456789012:/signing-profiles/ecs_stop_forwarder/abcdef1234"]
    package_s3 = {
      bucket         = "signed-artifacts"
      key            = "signed/lambda.zip"
      object_version = "3sL4kqtJlcpXroDTDmJ.rmSpXd3dIbrHY"
    }
    # The manifest make package wrote beside the zip before it was signed (tests/fixtures: sources only).
    package_manifest_path = "tests/fixtures/lambda.zip.json"
  }

  assert {
    condition     = aws_lambda_code_signing_config.this[0].allowed_publishers[0].signing_profile_version_arns == toset(var.code_signing_profile_version_arns)
    error_message = "Only the given signing profiles may publish code."
  }

  assert {
    condition     = aws_lambda_code_signing_config.this[0].policies[0].untrusted_artifact_on_deployment == "Enforce"
    error_message = "Unsigned or wrongly signed code must be rejected, not only warned about."
  }

  assert {
    condition     = aws_lambda_function.this.code_signing_config_arn == aws_lambda_code_signing_config.this[0].arn
    error_message = "The function must use the code signing config."
  }

  assert {
    condition = (
      aws_lambda_function.this.s3_bucket == "signed-artifacts"
      && aws_lambda_function.this.s3_key == "signed/lambda.zip"
      && aws_lambda_function.this.s3_object_version == "3sL4kqtJlcpXroDTDmJ.rmSpXd3dIbrHY"
      && aws_lambda_function.this.filename == null
    )
    error_message = "package_s3 must deploy the signed zip Signer wrote to S3, pinned to its version."
  }
}

run "code_signing_config_given_by_arn" {
  variables {
    code_signing_config_arn = "arn:aws:lambda:us-east-1:123456789012:code-signing-config:csc-0123456789abcdef0"
  }

  assert {
    condition     = length(aws_lambda_code_signing_config.this) == 0 && aws_lambda_function.this.code_signing_config_arn == var.code_signing_config_arn
    error_message = "An existing code signing config must be used, not created."
  }
}

run "no_code_signing_by_default" {
  assert {
    condition     = length(aws_lambda_code_signing_config.this) == 0 && aws_lambda_function.this.code_signing_config_arn == null
    error_message = "Code signing is opt-in."
  }
}

run "code_signing_takes_one_source" {
  command = plan

  variables {
    code_signing_config_arn           = "arn:aws:lambda:us-east-1:123456789012:code-signing-config:csc-0123456789abcdef0"
    code_signing_profile_version_arns = ["arn:aws:signer:us-east-1:123456789012:/signing-profiles/ecs_stop_forwarder/abcdef1234"]
  }

  expect_failures = [aws_lambda_function.this]
}
