# Lambda SnapStart (snap_start, issue #20). SnapStart snapshots a version when it is published and
# restores only published versions, so with it on everything that invokes the function must name
# the published version's alias; with it off nothing changes. Under a mock provider the function,
# its published version and the alias each get a distinct ARN, so "targets the alias" and "targets
# the function" cannot be confused.

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
      arn           = "arn:aws:lambda:us-east-1:123456789012:function:mock"
      qualified_arn = "arn:aws:lambda:us-east-1:123456789012:function:mock:7"
      version       = "7"
    }
  }
  mock_resource "aws_lambda_alias" {
    defaults = { arn = "arn:aws:lambda:us-east-1:123456789012:function:mock:live" }
  }
  mock_resource "aws_cloudwatch_event_rule" {
    defaults = { arn = "arn:aws:events:us-east-1:123456789012:rule/mock" }
  }
}

variables {
  package_path = "tests/fixtures/lambda.zip"
  destinations = ["stdout"]
}

run "off_by_default_the_function_itself_is_invoked" {
  assert {
    condition     = aws_lambda_function.this.handler == "forwarder.handler.lambda_handler" && output.handler == "forwarder.handler.lambda_handler"
    error_message = "Without snap_start the handler is forwarder.handler.lambda_handler."
  }

  assert {
    condition     = aws_lambda_function.this.publish == false && length(aws_lambda_function.this.snap_start) == 0
    error_message = "Without snap_start no version is published and there is no snap_start block."
  }

  assert {
    condition     = length(aws_lambda_alias.live) == 0 && output.alias_arn == null
    error_message = "Without snap_start there is no alias."
  }

  assert {
    condition     = aws_cloudwatch_event_target.this.arn == "arn:aws:lambda:us-east-1:123456789012:function:mock" && output.invoked_arn == aws_lambda_function.this.arn && output.invoked_version == "$LATEST"
    error_message = "Without snap_start the rule targets the function ($LATEST)."
  }

  assert {
    condition     = aws_lambda_permission.events.qualifier == null && aws_lambda_permission.events.function_name == aws_lambda_function.this.function_name
    error_message = "Without snap_start the rule's permission is on the unqualified function."
  }

  assert {
    condition     = aws_lambda_function_event_invoke_config.this.qualifier == null
    error_message = "Without snap_start the async invoke config is on the unqualified function."
  }

  assert {
    condition     = aws_lambda_function.this.ephemeral_storage[0].size == 512
    error_message = "Ephemeral storage stays Lambda's default, 512 MB."
  }
}

run "on_everything_that_invokes_names_the_alias" {
  variables {
    snap_start = true
  }

  assert {
    condition     = aws_lambda_function.this.handler == "forwarder.snapstart.lambda_handler" && output.handler == "forwarder.snapstart.lambda_handler"
    error_message = "With snap_start the handler is forwarder.snapstart.lambda_handler, which registers the snapshot hooks."
  }

  assert {
    condition     = aws_lambda_function.this.publish == true
    error_message = "With snap_start every change publishes a version: SnapStart snapshots published versions only."
  }

  assert {
    condition     = length(aws_lambda_function.this.snap_start) == 1 && aws_lambda_function.this.snap_start[0].apply_on == "PublishedVersions"
    error_message = "With snap_start the function has snap_start { apply_on = \"PublishedVersions\" }."
  }

  assert {
    condition     = aws_lambda_alias.live[0].name == "live" && aws_lambda_alias.live[0].function_name == aws_lambda_function.this.function_name && aws_lambda_alias.live[0].function_version == "7"
    error_message = "The alias live must point at the version the function just published."
  }

  assert {
    condition     = aws_cloudwatch_event_target.this.arn == "arn:aws:lambda:us-east-1:123456789012:function:mock:live" && output.invoked_arn == output.alias_arn && output.invoked_version == "7"
    error_message = "With snap_start the rule targets the alias, not the function ($LATEST would start cold)."
  }

  assert {
    condition     = aws_lambda_permission.events.qualifier == "live" && aws_lambda_permission.events.principal == "events.amazonaws.com" && aws_lambda_permission.events.source_arn == aws_cloudwatch_event_rule.this.arn
    error_message = "With snap_start the rule's permission is on the alias, and still only for the rule."
  }

  assert {
    condition     = aws_lambda_function_event_invoke_config.this.qualifier == "live" && aws_lambda_function_event_invoke_config.this.function_name == aws_lambda_function.this.function_name
    error_message = "With snap_start the async invoke config (retries, on-failure queue) is on the alias that is invoked."
  }

  assert {
    condition     = aws_lambda_function_event_invoke_config.this.destination_config[0].on_failure[0].destination == aws_sqs_queue.failures.arn && aws_lambda_function_event_invoke_config.this.maximum_retry_attempts == 2
    error_message = "With snap_start failed invocations still go to the failure queue, after the same retries."
  }

  assert {
    condition     = aws_cloudwatch_event_target.this.dead_letter_config[0].arn == aws_sqs_queue.failures.arn
    error_message = "The rule target keeps its dead-letter queue."
  }
}

run "on_with_python_313_and_x86_64" {
  command = plan

  variables {
    snap_start   = true
    runtime      = "python3.13"
    architecture = "x86_64"
  }

  assert {
    condition     = aws_lambda_function.this.snap_start[0].apply_on == "PublishedVersions" && aws_lambda_function.this.runtime == "python3.13"
    error_message = "SnapStart supports python3.13 and both architectures."
  }
}

run "more_ephemeral_storage_without_snap_start" {
  command = plan

  variables {
    ephemeral_storage_size = 1024
  }

  assert {
    condition     = aws_lambda_function.this.ephemeral_storage[0].size == 1024
    error_message = "ephemeral_storage_size must reach the function."
  }
}

# SnapStart does not support ephemeral storage above 512 MB.
run "snap_start_refuses_ephemeral_storage_above_512" {
  command = plan

  variables {
    snap_start             = true
    ephemeral_storage_size = 1024
  }

  expect_failures = [aws_lambda_function.this]
}
