# One run per validation block: each feeds a bad value and expects that variable to fail.

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
}

variables {
  package_path = "tests/fixtures/lambda.zip"
  destinations = ["stdout"]
}

run "rejects_bad_name" {
  command = plan

  variables {
    name = "has spaces"
  }

  expect_failures = [var.name]
}

run "rejects_bad_kms_key_arn" {
  command = plan

  variables {
    kms_key_arn = "arn:aws:kms:us-east-1:123456789012:alias/not-a-key"
  }

  expect_failures = [var.kms_key_arn]
}

run "rejects_bad_runtime" {
  command = plan

  variables {
    runtime = "python3.11"
  }

  expect_failures = [var.runtime]
}

run "rejects_bad_architecture" {
  command = plan

  variables {
    architecture = "amd64"
  }

  expect_failures = [var.architecture]
}

run "rejects_bad_memory_size" {
  command = plan

  variables {
    memory_size = 64
  }

  expect_failures = [var.memory_size]
}

run "rejects_bad_timeout" {
  command = plan

  variables {
    timeout = 901
  }

  expect_failures = [var.timeout]
}

run "rejects_bad_reserved_concurrent_executions" {
  command = plan

  variables {
    reserved_concurrent_executions = -1
  }

  expect_failures = [var.reserved_concurrent_executions]
}

run "rejects_bad_log_retention_in_days" {
  command = plan

  variables {
    log_retention_in_days = 31
  }

  expect_failures = [var.log_retention_in_days]
}

run "rejects_bad_application_log_level" {
  command = plan

  variables {
    application_log_level = "VERBOSE"
  }

  expect_failures = [var.application_log_level]
}

run "rejects_bad_cluster_arns" {
  command = plan

  variables {
    cluster_arns = ["arn:aws:ecs:us-east-1:123456789012:service/batch"]
  }

  expect_failures = [var.cluster_arns]
}

run "rejects_bad_maximum_retry_attempts" {
  command = plan

  variables {
    maximum_retry_attempts = 3
  }

  expect_failures = [var.maximum_retry_attempts]
}

run "rejects_bad_maximum_event_age_in_seconds" {
  command = plan

  variables {
    maximum_event_age_in_seconds = 59
  }

  expect_failures = [var.maximum_event_age_in_seconds]
}

run "rejects_bad_failure_queue_message_retention_seconds" {
  command = plan

  variables {
    failure_queue_message_retention_seconds = 1209601
  }

  expect_failures = [var.failure_queue_message_retention_seconds]
}

run "rejects_bad_destinations" {
  command = plan

  variables {
    destinations = ["splunk"]
  }

  expect_failures = [var.destinations]
}

run "rejects_bad_min_severity" {
  command = plan

  variables {
    min_severity = "critical"
  }

  expect_failures = [var.min_severity]
}

run "rejects_bad_exclude_categories" {
  command = plan

  variables {
    exclude_categories = ["Has Space"]
  }

  expect_failures = [var.exclude_categories]
}

run "rejects_bad_archive_bucket_name" {
  command = plan

  variables {
    archive_bucket_name = "Bad_Bucket"
  }

  expect_failures = [var.archive_bucket_name]
}

run "rejects_bad_archive_prefix" {
  command = plan

  variables {
    archive_prefix = "no-trailing-slash"
  }

  expect_failures = [var.archive_prefix]
}

run "rejects_bad_archive_kms_key_arn" {
  command = plan

  variables {
    archive_kms_key_arn = "arn:aws:kms:us-east-1:123456789012:alias/not-a-key"
  }

  expect_failures = [var.archive_kms_key_arn]
}

run "rejects_bad_datadog_api_key_secret_arn" {
  command = plan

  variables {
    datadog_api_key_secret_arn = "arn:aws:ssm:us-east-1:123456789012:parameter/not-a-secret"
  }

  expect_failures = [var.datadog_api_key_secret_arn]
}

run "rejects_bad_datadog_api_key_ssm_parameter" {
  command = plan

  variables {
    datadog_api_key_ssm_parameter = "arn:aws:ssm:us-east-1:123456789012:parameter/dd"
  }

  expect_failures = [var.datadog_api_key_ssm_parameter]
}

run "rejects_bad_datadog_site" {
  command = plan

  variables {
    datadog_site = "datadoghq.jp"
  }

  expect_failures = [var.datadog_site]
}

run "rejects_bad_datadog_tags" {
  command = plan

  variables {
    datadog_tags = ["a:b,c:d"]
  }

  expect_failures = [var.datadog_tags]
}

run "rejects_bad_datadog_logs_url" {
  command = plan

  variables {
    datadog_logs_url = "http://insecure.example"
  }

  expect_failures = [var.datadog_logs_url]
}

run "rejects_bad_newrelic_license_key_secret_arn" {
  command = plan

  variables {
    newrelic_license_key_secret_arn = "arn:aws:ssm:us-east-1:123456789012:parameter/not-a-secret"
  }

  expect_failures = [var.newrelic_license_key_secret_arn]
}

run "rejects_bad_newrelic_license_key_ssm_parameter" {
  command = plan

  variables {
    newrelic_license_key_ssm_parameter = "has spaces"
  }

  expect_failures = [var.newrelic_license_key_ssm_parameter]
}

run "rejects_bad_newrelic_region" {
  command = plan

  variables {
    newrelic_region = "JP"
  }

  expect_failures = [var.newrelic_region]
}

run "rejects_bad_newrelic_logs_url" {
  command = plan

  variables {
    newrelic_logs_url = "ftp://log-api.newrelic.com"
  }

  expect_failures = [var.newrelic_logs_url]
}

run "rejects_bad_key_kms_key_arns" {
  command = plan

  variables {
    key_kms_key_arns = ["not-an-arn"]
  }

  expect_failures = [var.key_kms_key_arns]
}

run "rejects_bad_alarm_sns_topic_arn" {
  command = plan

  variables {
    alarm_sns_topic_arn = "arn:aws:sqs:us-east-1:123456789012:queue"
  }

  expect_failures = [var.alarm_sns_topic_arn]
}

run "rejects_bad_alarm_period_seconds" {
  command = plan

  variables {
    alarm_period_seconds = 120
  }

  expect_failures = [var.alarm_period_seconds]
}

run "rejects_bad_enrich" {
  command = plan

  variables {
    enrich = ["logs", "metrics"]
  }

  expect_failures = [var.enrich]
}

run "rejects_duplicate_enrich" {
  command = plan

  variables {
    enrich = ["logs", "logs"]
  }

  expect_failures = [var.enrich]
}

run "rejects_bad_enrich_log_group_arns" {
  command = plan

  variables {
    enrich_log_group_arns = ["arn:aws:ecr:us-east-1:123456789012:repository/books"]
  }

  expect_failures = [var.enrich_log_group_arns]
}

run "rejects_empty_enrich_log_group_arns" {
  command = plan

  variables {
    enrich_log_group_arns = []
  }

  expect_failures = [var.enrich_log_group_arns]
}

run "rejects_bad_enrich_ecr_repository_arns" {
  command = plan

  variables {
    enrich_ecr_repository_arns = ["arn:aws:logs:us-east-1:123456789012:log-group:/ecs/batch"]
  }

  expect_failures = [var.enrich_ecr_repository_arns]
}

# Issue #25

run "rejects_reserved_concurrency_zero_which_stops_the_function" {
  command = plan

  variables {
    reserved_concurrent_executions = 0
  }

  expect_failures = [var.reserved_concurrent_executions]
}

run "rejects_archive_prefix_with_a_wildcard" {
  command = plan

  variables {
    archive_prefix = "ecs-*/"
  }

  expect_failures = [var.archive_prefix]
}

run "rejects_bad_archive_object_lock" {
  command = plan

  variables {
    archive_object_lock = { retention_days = 0 }
  }

  expect_failures = [var.archive_object_lock]
}

run "rejects_bad_archive_noncurrent_version_expiration_days" {
  command = plan

  variables {
    archive_noncurrent_version_expiration_days = 0
  }

  expect_failures = [var.archive_noncurrent_version_expiration_days]
}

run "rejects_bad_code_signing_config_arn" {
  command = plan

  variables {
    code_signing_config_arn = "arn:aws:signer:us-east-1:123456789012:/signing-profiles/x"
  }

  expect_failures = [var.code_signing_config_arn]
}

run "rejects_bad_code_signing_profile_version_arns" {
  command = plan

  variables {
    code_signing_profile_version_arns = ["arn:aws:lambda:us-east-1:123456789012:code-signing-config:csc-0123456789abcdef0"]
  }

  expect_failures = [var.code_signing_profile_version_arns]
}

run "rejects_bad_package_s3" {
  command = plan

  variables {
    package_s3 = { bucket = "Not_A_Bucket", key = "lambda.zip" }
  }

  expect_failures = [var.package_s3]
}

# Issue #20

run "rejects_bad_ephemeral_storage_size" {
  command = plan

  variables {
    ephemeral_storage_size = 256
  }

  expect_failures = [var.ephemeral_storage_size]
}
