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

run "rejects_bad_bucket_name" {
  command = plan

  variables {
    bucket_name = "Bad_Bucket"
  }

  expect_failures = [var.bucket_name]
}

run "rejects_bad_bucket_prefix" {
  command = plan

  variables {
    bucket_prefix = "Bad_Prefix"
  }

  expect_failures = [var.bucket_prefix]
}

run "rejects_bad_kms_key_arn" {
  command = plan

  variables {
    kms_key_arn = "arn:aws:kms:us-east-1:123456789012:alias/not-a-key"
  }

  expect_failures = [var.kms_key_arn]
}

run "rejects_bad_transition_days" {
  command = plan

  variables {
    transition_days = -1
  }

  expect_failures = [var.transition_days]
}

run "rejects_bad_transition_storage_class" {
  command = plan

  variables {
    transition_storage_class = "REDUCED_REDUNDANCY"
  }

  expect_failures = [var.transition_storage_class]
}

run "rejects_bad_expiration_days" {
  command = plan

  variables {
    expiration_days = 0
  }

  expect_failures = [var.expiration_days]
}

run "rejects_bad_noncurrent_version_expiration_days" {
  command = plan

  variables {
    noncurrent_version_expiration_days = 0
  }

  expect_failures = [var.noncurrent_version_expiration_days]
}

run "rejects_bad_object_lock" {
  command = plan

  variables {
    object_lock = { retention_days = 1.5 }
  }

  expect_failures = [var.object_lock]
}
