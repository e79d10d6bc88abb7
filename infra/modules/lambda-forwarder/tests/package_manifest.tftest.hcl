# The package's manifest (issue #20): `make package` writes <zip>.json beside the zip, recording
# the runtime whose Python compiled its bytecode (null: sources only). The module reads it at plan
# time and refuses a zip built for another runtime than `runtime`, or a zip without a manifest.
#
# Fixtures (tests/fixtures/): each folder holds a copy of the same one-file zip and the manifest
# under test beside it; only the manifest is read by the check. lambda.zip.json beside
# tests/fixtures/lambda.zip, the zip every other test deploys, says "sources only", which is true
# of that zip (no bytecode) and accepted with either runtime.
#
# tests/infra/test_package_manifest_messages.py runs the failing cases without expect_failures
# and checks the exact error messages.

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
  destinations = ["stdout"]
}

run "a_matching_manifest_is_accepted" {
  command = plan

  variables {
    package_path = "tests/fixtures/python3.13/lambda.zip"
    runtime      = "python3.13"
  }

  assert {
    condition     = output.package_runtime == "python3.13" && output.package_manifest_path == "tests/fixtures/python3.13/lambda.zip.json"
    error_message = "The manifest beside the zip must be read, and its runtime reported."
  }

  assert {
    condition     = aws_lambda_function.this.runtime == "python3.13"
    error_message = "The function must run on the runtime the package was built for."
  }
}

run "a_matching_manifest_is_accepted_on_the_default_runtime" {
  command = plan

  variables {
    package_path = "tests/fixtures/python3.12/lambda.zip"
  }

  assert {
    condition     = output.package_runtime == "python3.12" && aws_lambda_function.this.runtime == "python3.12"
    error_message = "A python3.12 package must deploy on the default runtime."
  }
}

run "a_312_package_on_the_313_runtime_is_refused" {
  command = plan

  variables {
    package_path = "tests/fixtures/python3.12/lambda.zip"
    runtime      = "python3.13"
  }

  expect_failures = [aws_lambda_function.this]
}

run "a_313_package_on_the_312_runtime_is_refused" {
  command = plan

  variables {
    package_path = "tests/fixtures/python3.13/lambda.zip"
  }

  expect_failures = [aws_lambda_function.this]
}

run "a_source_only_package_is_accepted_on_312" {
  command = plan

  variables {
    package_path = "tests/fixtures/lambda.zip"
    runtime      = "python3.12"
  }

  assert {
    condition     = output.package_runtime == null && output.package_manifest_path == "tests/fixtures/lambda.zip.json"
    error_message = "A source-only manifest (runtime null) must be read and accepted: it has no bytecode to mismatch."
  }
}

run "a_source_only_package_is_accepted_on_313" {
  command = plan

  variables {
    package_path = "tests/fixtures/lambda.zip"
    runtime      = "python3.13"
  }

  assert {
    condition     = output.package_runtime == null && aws_lambda_function.this.runtime == "python3.13"
    error_message = "A source-only package must deploy on either runtime."
  }
}

run "a_package_without_a_manifest_is_refused" {
  command = plan

  variables {
    package_path = "tests/fixtures/without-manifest/lambda.zip"
  }

  expect_failures = [aws_lambda_function.this]
}

run "a_manifest_of_something_else_is_refused" {
  command = plan

  variables {
    package_path = "tests/fixtures/not-a-manifest/lambda.zip"
  }

  expect_failures = [aws_lambda_function.this]
}

run "the_check_can_be_turned_off_for_a_zip_without_a_manifest" {
  command = plan

  variables {
    package_path           = "tests/fixtures/without-manifest/lambda.zip"
    verify_package_runtime = false
  }

  assert {
    condition     = output.package_manifest_path == null && output.package_runtime == null
    error_message = "verify_package_runtime = false must read no manifest."
  }
}

run "the_check_off_also_ignores_a_mismatch" {
  command = plan

  variables {
    package_path           = "tests/fixtures/python3.12/lambda.zip"
    runtime                = "python3.13"
    verify_package_runtime = false
  }

  assert {
    condition     = aws_lambda_function.this.runtime == "python3.13"
    error_message = "verify_package_runtime = false must deploy whatever the manifest says."
  }
}

run "the_manifest_can_be_named_elsewhere" {
  command = plan

  variables {
    package_path          = "tests/fixtures/without-manifest/lambda.zip"
    package_manifest_path = "tests/fixtures/python3.13/lambda.zip.json"
    runtime               = "python3.13"
  }

  assert {
    condition     = output.package_runtime == "python3.13" && output.package_manifest_path == "tests/fixtures/python3.13/lambda.zip.json"
    error_message = "package_manifest_path must be the manifest read."
  }
}

run "a_manifest_named_elsewhere_is_checked_too" {
  command = plan

  variables {
    package_path          = "tests/fixtures/lambda.zip"
    package_manifest_path = "tests/fixtures/python3.13/lambda.zip.json"
  }

  expect_failures = [aws_lambda_function.this]
}

run "package_s3_needs_the_manifest_of_the_uploaded_zip" {
  command = plan

  variables {
    package_s3 = { bucket = "artifacts", key = "lambda.zip", object_version = "v1" }
  }

  expect_failures = [aws_lambda_function.this]
}

run "package_s3_with_its_manifest" {
  command = plan

  variables {
    package_s3            = { bucket = "artifacts", key = "lambda.zip", object_version = "v1" }
    package_manifest_path = "tests/fixtures/python3.12/lambda.zip.json"
  }

  assert {
    condition     = output.package_runtime == "python3.12" && aws_lambda_function.this.s3_key == "lambda.zip"
    error_message = "A zip in S3 must be checked against the manifest given."
  }
}

run "package_s3_with_the_check_off" {
  command = plan

  variables {
    package_s3             = { bucket = "artifacts", key = "lambda.zip", object_version = "v1" }
    verify_package_runtime = false
  }

  assert {
    condition     = output.package_manifest_path == null && aws_lambda_function.this.s3_bucket == "artifacts"
    error_message = "package_s3 without a manifest must deploy when the check is off."
  }
}

run "package_s3_with_a_mismatched_manifest_is_refused" {
  command = plan

  variables {
    package_s3            = { bucket = "artifacts", key = "lambda.zip", object_version = "v1" }
    package_manifest_path = "tests/fixtures/python3.12/lambda.zip.json"
    runtime               = "python3.13"
  }

  expect_failures = [aws_lambda_function.this]
}
