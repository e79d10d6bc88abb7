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
  vendor             = "datadog"
  api_key_secret_arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:datadog-AbCdEf"
}

run "rejects_bad_stream_name" {
  command = plan

  variables {
    stream_name = "has spaces"
  }

  expect_failures = [var.stream_name]
}

run "rejects_bad_firehose_role_path" {
  command = plan

  variables {
    firehose_role_path = "service-role"
  }

  expect_failures = [var.firehose_role_path]
}

run "rejects_bad_cluster_arns" {
  command = plan

  variables {
    cluster_arns = ["not-an-arn"]
  }

  expect_failures = [var.cluster_arns]
}

run "rejects_bad_vendor" {
  command = plan

  variables {
    vendor = "splunk"
  }

  expect_failures = [var.vendor]
}

run "rejects_bad_datadog_site" {
  command = plan

  variables {
    datadog_site = "datadoghq.jp"
  }

  expect_failures = [var.datadog_site]
}

run "rejects_bad_newrelic_region" {
  command = plan

  variables {
    newrelic_region = "FEDRAMP"
  }

  expect_failures = [var.newrelic_region]
}

run "rejects_bad_endpoint_url" {
  command = plan

  variables {
    endpoint_url = "https://intake.example:8443/v1"
  }

  expect_failures = [var.endpoint_url]
}

run "rejects_bad_api_key_secret_arn" {
  command = plan

  variables {
    api_key_secret_arn = "arn:aws:ssm:us-east-1:123456789012:parameter/not-a-secret"
  }

  expect_failures = [var.api_key_secret_arn]
}

run "rejects_bad_api_key_secret_kms_key_arn" {
  command = plan

  variables {
    api_key_secret_kms_key_arn = "arn:aws:kms:us-east-1:123456789012:alias/not-a-key"
  }

  expect_failures = [var.api_key_secret_kms_key_arn]
}

run "rejects_bad_buffering_size" {
  command = plan

  variables {
    buffering_size = 65
  }

  expect_failures = [var.buffering_size]
}

run "rejects_bad_buffering_interval" {
  command = plan

  variables {
    buffering_interval = 901
  }

  expect_failures = [var.buffering_interval]
}

run "rejects_bad_retry_duration" {
  command = plan

  variables {
    retry_duration = 7201
  }

  expect_failures = [var.retry_duration]
}

run "rejects_bad_kms_key_arn" {
  command = plan

  variables {
    kms_key_arn = "arn:aws:kms:us-east-1:123456789012:alias/not-a-key"
  }

  expect_failures = [var.kms_key_arn]
}

run "rejects_bad_backup_bucket_name" {
  command = plan

  variables {
    backup_bucket_name = "Bad_Bucket"
  }

  expect_failures = [var.backup_bucket_name]
}

run "rejects_bad_backup_prefix" {
  command = plan

  variables {
    backup_prefix = "no-trailing-slash"
  }

  expect_failures = [var.backup_prefix]
}

run "rejects_bad_backup_bucket_kms_key_arn" {
  command = plan

  variables {
    backup_bucket_kms_key_arn = "arn:aws:kms:us-east-1:123456789012:alias/not-a-key"
  }

  expect_failures = [var.backup_bucket_kms_key_arn]
}

run "rejects_bad_log_retention_in_days" {
  command = plan

  variables {
    log_retention_in_days = 0
  }

  expect_failures = [var.log_retention_in_days]
}

run "rejects_bad_alarm_sns_topic_arn" {
  command = plan

  variables {
    alarm_sns_topic_arn = "not-an-arn"
  }

  expect_failures = [var.alarm_sns_topic_arn]
}

run "rejects_bad_data_freshness_threshold_seconds" {
  command = plan

  variables {
    data_freshness_threshold_seconds = 30
  }

  expect_failures = [var.data_freshness_threshold_seconds]
}

# Issue #25

run "rejects_backup_prefix_with_a_wildcard" {
  command = plan

  variables {
    backup_prefix = "ecs-*/"
  }

  expect_failures = [var.backup_prefix]
}

run "rejects_bad_backup_error_output_prefix" {
  command = plan

  variables {
    backup_error_output_prefix = "failed*"
  }

  expect_failures = [var.backup_error_output_prefix]
}

run "rejects_an_error_prefix_inside_the_backup_prefix" {
  command = plan

  variables {
    backup_error_output_prefix = "ecs-task-stop-log/failed/"
  }

  expect_failures = [aws_kinesis_firehose_delivery_stream.this]
}

run "rejects_bad_event_retry_attempts" {
  command = plan

  variables {
    event_retry_attempts = 186
  }

  expect_failures = [var.event_retry_attempts]
}

run "rejects_bad_event_maximum_age_seconds" {
  command = plan

  variables {
    event_maximum_age_seconds = 59
  }

  expect_failures = [var.event_maximum_age_seconds]
}

run "rejects_bad_backup_access_log_bucket" {
  command = plan

  variables {
    backup_access_log_bucket = "Not_A_Bucket"
  }

  expect_failures = [var.backup_access_log_bucket]
}

run "rejects_bad_backup_object_lock" {
  command = plan

  variables {
    backup_object_lock = { retention_days = 0 }
  }

  expect_failures = [var.backup_object_lock]
}
