# One run per validation block: each feeds a bad value and expects that variable to fail.

mock_provider "aws" {
  mock_data "aws_partition" {
    defaults = { partition = "aws" }
  }
  mock_data "aws_region" {
    defaults = { name = "eu-west-1" }
  }
  mock_data "aws_caller_identity" {
    defaults = { account_id = "111122223333" }
  }
}

variables {
  package_path               = "tests/fixtures/lambda.zip"
  archive_bucket_name        = "stops-archive"
  datadog_api_key_secret_arn = "arn:aws:secretsmanager:eu-west-1:111122223333:secret:dd-AbCdEf"
}

run "rejects_bad_name" {
  command = plan
  variables {
    name = "a name with spaces"
  }
  expect_failures = [var.name]
}

run "rejects_bad_kms_key_arn" {
  command = plan
  variables {
    kms_key_arn = "arn:aws:kms:eu-west-1:111122223333:alias/not-a-key"
  }
  expect_failures = [var.kms_key_arn]
}

run "rejects_bad_log_retention_in_days" {
  command = plan
  variables {
    log_retention_in_days = 31
  }
  expect_failures = [var.log_retention_in_days]
}

run "rejects_bad_state_machine_log_level" {
  command = plan
  variables {
    state_machine_log_level = "OFF"
  }
  expect_failures = [var.state_machine_log_level]
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
    memory_size = 128
  }
  expect_failures = [var.memory_size]
}

run "rejects_a_worker_timeout_beyond_an_express_child" {
  command = plan
  variables {
    worker_timeout = 61
  }
  expect_failures = [var.worker_timeout]
}

run "rejects_bad_reserved_concurrent_executions" {
  command = plan
  variables {
    reserved_concurrent_executions = 0
  }
  expect_failures = [var.reserved_concurrent_executions]
}

run "rejects_bad_archive_bucket_name" {
  command = plan
  variables {
    archive_bucket_name = "Stops_Archive"
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
    archive_kms_key_arn = "not-an-arn"
  }
  expect_failures = [var.archive_kms_key_arn]
}

run "rejects_bad_results_bucket_name" {
  command = plan
  variables {
    results_bucket_name = "x"
  }
  expect_failures = [var.results_bucket_name]
}

run "rejects_bad_results_prefix" {
  command = plan
  variables {
    results_prefix = "/"
  }
  expect_failures = [var.results_prefix]
}

run "rejects_bad_results_kms_key_arn" {
  command = plan
  variables {
    results_kms_key_arn = "arn:aws:kms:eu-west-1:111122223333:alias/results"
  }
  expect_failures = [var.results_kms_key_arn]
}

run "rejects_bad_datadog_api_key_secret_arn" {
  command = plan
  variables {
    datadog_api_key_secret_arn = "dd-key"
  }
  expect_failures = [var.datadog_api_key_secret_arn]
}

run "rejects_bad_datadog_api_key_ssm_parameter" {
  command = plan
  variables {
    datadog_api_key_ssm_parameter = "arn:aws:ssm:eu-west-1:111122223333:parameter/dd"
  }
  expect_failures = [var.datadog_api_key_ssm_parameter]
}

run "rejects_bad_datadog_site" {
  command = plan
  variables {
    datadog_site = "datadoghq.org"
  }
  expect_failures = [var.datadog_site]
}

run "rejects_bad_datadog_tags" {
  command = plan
  variables {
    datadog_tags = ["a,b"]
  }
  expect_failures = [var.datadog_tags]
}

run "rejects_bad_newrelic_license_key_secret_arn" {
  command = plan
  variables {
    newrelic_license_key_secret_arn = "nr-key"
  }
  expect_failures = [var.newrelic_license_key_secret_arn]
}

run "rejects_bad_newrelic_license_key_ssm_parameter" {
  command = plan
  variables {
    newrelic_license_key_ssm_parameter = "bad name"
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

run "rejects_bad_key_kms_key_arns" {
  command = plan
  variables {
    key_kms_key_arns = ["alias/keys"]
  }
  expect_failures = [var.key_kms_key_arns]
}
