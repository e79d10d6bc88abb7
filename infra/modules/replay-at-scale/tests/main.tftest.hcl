# Behaviour of the module under a mock AWS provider (no credentials, no network).
# Policies are built with jsonencode() and the definition with templatefile(), so their real
# JSON is inspected here.

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
  mock_resource "aws_cloudwatch_log_group" {
    defaults = { arn = "arn:aws:logs:eu-west-1:111122223333:log-group:/aws/lambda/mock" }
  }
  mock_resource "aws_iam_role" {
    defaults = { arn = "arn:aws:iam::111122223333:role/mock" }
  }
  mock_resource "aws_lambda_function" {
    defaults = {
      arn        = "arn:aws:lambda:eu-west-1:111122223333:function:ecs-stop-forwarder-replay"
      invoke_arn = "arn:aws:apigateway:eu-west-1:lambda:path/2015-03-31/functions/arn:aws:lambda:eu-west-1:111122223333:function:ecs-stop-forwarder-replay/invocations"
    }
  }
  mock_resource "aws_sfn_state_machine" {
    defaults = { arn = "arn:aws:states:eu-west-1:111122223333:stateMachine:ecs-stop-forwarder-replay" }
  }
}

variables {
  package_path               = "tests/fixtures/lambda.zip"
  archive_bucket_name        = "stops-archive"
  datadog_api_key_secret_arn = "arn:aws:secretsmanager:eu-west-1:111122223333:secret:dd-AbCdEf"
}

run "the_definition_is_the_generated_one_filled_in" {
  assert {
    condition     = aws_sfn_state_machine.this.type == "STANDARD"
    error_message = "The parent must be a Standard workflow (a Distributed Map's children can be Express)."
  }

  assert {
    condition     = jsondecode(aws_sfn_state_machine.this.definition).States.ReplayBatches.ItemProcessor.States.ReplayBatch.Parameters.FunctionName == aws_lambda_function.worker.arn
    error_message = "The child workflow must invoke this module's worker."
  }

  assert {
    condition = jsondecode(aws_sfn_state_machine.this.definition).States.Configure.Result == {
      schema         = "ecs-stop-forwarder/replay-at-scale/v1"
      archive_bucket = "stops-archive"
      archive_prefix = "ecs-task-stop-log/"
      results_bucket = "stops-archive"
      results_prefix = "ecs-stop-forwarder-replay/"
    }
    error_message = "The definition must say where the archive and the results are (results default to the archive bucket)."
  }

  assert {
    condition     = jsondecode(aws_sfn_state_machine.this.definition).States.ReplayBatches.ItemProcessor.ProcessorConfig == { Mode = "DISTRIBUTED", ExecutionType = "EXPRESS" }
    error_message = "Batches must run as Express child workflows of a Distributed Map."
  }

  assert {
    condition     = length(regexall("[$][{]", aws_sfn_state_machine.this.definition)) == 0
    error_message = "Every placeholder of the template must be filled in."
  }

  assert {
    condition     = aws_sfn_state_machine.this.logging_configuration[0].level == "ERROR" && aws_sfn_state_machine.this.logging_configuration[0].include_execution_data == true && aws_sfn_state_machine.this.logging_configuration[0].log_destination == "${aws_cloudwatch_log_group.state_machine.arn}:*"
    error_message = "Errors, with their data (a failed batch's counts), go to the module's log group."
  }

  assert {
    condition     = aws_lambda_function.worker.handler == "forwarder.replay_worker.lambda_handler" && aws_lambda_function.worker.source_code_hash == filebase64sha256("tests/fixtures/lambda.zip")
    error_message = "The worker is the second entry point of the forwarder's zip."
  }

  assert {
    condition     = aws_lambda_function.worker.timeout == 60 && aws_lambda_function.worker.memory_size == 1024 && aws_lambda_function.worker.architectures == tolist(["arm64"])
    error_message = "Worker defaults: 60 s (fits an Express child with its retries), 1024 MiB, arm64."
  }

  assert {
    condition     = aws_lambda_function.worker.environment[0].variables == tomap({ DD_API_KEY_SECRET_ARN = "arn:aws:secretsmanager:eu-west-1:111122223333:secret:dd-AbCdEf" })
    error_message = "Only given values are set; keys by reference only."
  }

  assert {
    condition     = aws_cloudwatch_log_group.state_machine.name == "/aws/vendedlogs/states/ecs-stop-forwarder-replay" && aws_cloudwatch_log_group.worker.name == "/aws/lambda/ecs-stop-forwarder-replay"
    error_message = "Each part logs to a log group of its own."
  }

  assert {
    condition     = output.results_uri == "s3://stops-archive/ecs-stop-forwarder-replay/"
    error_message = "results_uri must name the results bucket and prefix."
  }
}

run "least_privilege_for_the_state_machine" {
  variables {
    results_bucket_name = "replay-results"
    results_kms_key_arn = "arn:aws:kms:eu-west-1:111122223333:key/11111111-2222-3333-4444-555555555555"
  }

  assert {
    condition = { for s in jsondecode(aws_iam_role_policy.state_machine.policy).Statement : s.Sid => s.Action } == {
      ListArchivePrefix              = ["s3:ListBucket"]
      InvokeWorker                   = ["lambda:InvokeFunction"]
      ReadControlWriteResults        = ["s3:GetObject", "s3:PutObject", "s3:ListMultipartUploadParts", "s3:AbortMultipartUpload"]
      StartOwnChildExecutions        = ["states:StartExecution"]
      DescribeStopOwnChildExecutions = ["states:DescribeExecution", "states:StopExecution"]
      RedriveOwnMapRuns              = ["states:RedriveExecution"]
      DeliverExecutionLogs           = ["logs:CreateLogDelivery", "logs:GetLogDelivery", "logs:UpdateLogDelivery", "logs:DeleteLogDelivery", "logs:ListLogDeliveries", "logs:PutResourcePolicy", "logs:DescribeResourcePolicies", "logs:DescribeLogGroups"]
      UseResultsKey                  = ["kms:Decrypt", "kms:GenerateDataKey"]
    }
    error_message = "The state machine may list, invoke, write results, run its own children and deliver logs: nothing else."
  }

  assert {
    condition = { for s in jsondecode(aws_iam_role_policy.state_machine.policy).Statement : s.Sid => s.Resource } == {
      ListArchivePrefix              = ["arn:aws:s3:::stops-archive"]
      InvokeWorker                   = [aws_lambda_function.worker.arn, "${aws_lambda_function.worker.arn}:*"]
      ReadControlWriteResults        = ["arn:aws:s3:::replay-results/ecs-stop-forwarder-replay/*"]
      StartOwnChildExecutions        = ["arn:aws:states:eu-west-1:111122223333:stateMachine:ecs-stop-forwarder-replay"]
      DescribeStopOwnChildExecutions = ["arn:aws:states:eu-west-1:111122223333:execution:ecs-stop-forwarder-replay/*", "arn:aws:states:eu-west-1:111122223333:express:ecs-stop-forwarder-replay/*"]
      RedriveOwnMapRuns              = ["arn:aws:states:eu-west-1:111122223333:execution:ecs-stop-forwarder-replay/ReplayBatches:*"]
      DeliverExecutionLogs           = ["*"]
      UseResultsKey                  = ["arn:aws:kms:eu-west-1:111122223333:key/11111111-2222-3333-4444-555555555555"]
    }
    error_message = "Each permission must be scoped to this module's archive prefix, worker, results prefix and state machine."
  }

  assert {
    condition     = [for s in jsondecode(aws_iam_role_policy.state_machine.policy).Statement : s.Condition if s.Sid == "ListArchivePrefix"][0] == { StringLike = { "s3:prefix" = ["ecs-task-stop-log/*"] } }
    error_message = "Listing must be limited to the archive prefix."
  }

  assert {
    condition     = jsondecode(aws_iam_role.state_machine.assume_role_policy).Statement[0].Principal == { Service = "states.amazonaws.com" } && jsondecode(aws_iam_role.state_machine.assume_role_policy).Statement[0].Condition == { StringEquals = { "aws:SourceAccount" = "111122223333" } }
    error_message = "Only Step Functions, in this account, may assume the state machine's role."
  }
}

run "least_privilege_for_the_worker" {
  variables {
    datadog_api_key_secret_arn         = "arn:aws:secretsmanager:eu-west-1:111122223333:secret:dd-AbCdEf"
    newrelic_license_key_ssm_parameter = "/nr/license"
    archive_kms_key_arn                = "arn:aws:kms:eu-west-1:111122223333:key/66666666-7777-8888-9999-000000000000"
    key_kms_key_arns                   = ["arn:aws:kms:eu-west-1:111122223333:key/aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"]
  }

  assert {
    condition = { for s in jsondecode(aws_iam_role_policy.worker.policy).Statement : s.Sid => [s.Action, s.Resource] } == {
      WriteOwnLogs            = [["logs:CreateLogStream", "logs:PutLogEvents"], ["${aws_cloudwatch_log_group.worker.arn}:log-stream:*"]]
      ReadArchivePrefix       = [["s3:GetObject"], ["arn:aws:s3:::stops-archive/ecs-task-stop-log/*"]]
      ReadWriteCheckpoints    = [["s3:GetObject", "s3:PutObject"], ["arn:aws:s3:::stops-archive/ecs-stop-forwarder-replay/*/checkpoints/*"]]
      ListResultsPrefix       = [["s3:ListBucket"], ["arn:aws:s3:::stops-archive"]]
      DecryptArchive          = [["kms:Decrypt"], ["arn:aws:kms:eu-west-1:111122223333:key/66666666-7777-8888-9999-000000000000"]]
      ReadVendorKeySecrets    = [["secretsmanager:GetSecretValue"], ["arn:aws:secretsmanager:eu-west-1:111122223333:secret:dd-AbCdEf"]]
      ReadVendorKeyParameters = [["ssm:GetParameter"], ["arn:aws:ssm:eu-west-1:111122223333:parameter/nr/license"]]
      DecryptVendorKeys       = [["kms:Decrypt"], ["arn:aws:kms:eu-west-1:111122223333:key/aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"]]
    }
    error_message = "The worker may read the archive prefix and the keys, and read and write its run's checkpoints: nothing else."
  }

  assert {
    condition     = aws_lambda_function.worker.environment[0].variables == tomap({ DD_API_KEY_SECRET_ARN = "arn:aws:secretsmanager:eu-west-1:111122223333:secret:dd-AbCdEf", NEW_RELIC_LICENSE_KEY_SSM_PARAMETER = "/nr/license" })
    error_message = "The worker reads its keys as the forwarder does: by reference."
  }
}

run "no_wildcard_actions_in_any_policy" {
  variables {
    newrelic_license_key_secret_arn = "arn:aws:secretsmanager:eu-west-1:111122223333:secret:nr-AbCdEf"
    results_kms_key_arn             = "arn:aws:kms:eu-west-1:111122223333:key/11111111-2222-3333-4444-555555555555"
    kms_key_arn                     = "arn:aws:kms:eu-west-1:111122223333:key/66666666-7777-8888-9999-000000000000"
  }

  assert {
    condition = alltrue(flatten([
      for doc in [aws_iam_role_policy.state_machine.policy, aws_iam_role_policy.worker.policy, output.operator_policy_json, aws_iam_role.state_machine.assume_role_policy, aws_iam_role.worker.assume_role_policy] : [
        for s in jsondecode(doc).Statement : [for a in flatten([s.Action]) : a != "*" && !endswith(a, ":*")]
      ]
    ]))
    error_message = "No statement may use a wildcard action."
  }

  assert {
    condition = alltrue([
      for s in concat(jsondecode(aws_iam_role_policy.state_machine.policy).Statement, jsondecode(aws_iam_role_policy.worker.policy).Statement, jsondecode(output.operator_policy_json).Statement) :
      alltrue([for r in flatten([s.Resource]) : r != "*"]) || s.Sid == "DeliverExecutionLogs"
    ])
    error_message = "Only the log delivery actions (no resource-level permission) may apply to every resource."
  }
}

run "the_operator_policy_covers_what_the_cli_calls" {
  assert {
    condition = toset(flatten([for s in jsondecode(output.operator_policy_json).Statement : s.Action])) == toset([
      "states:StartExecution", "states:DescribeStateMachine", "states:DescribeExecution", "states:StopExecution",
      "states:RedriveExecution", "states:ListMapRuns", "states:DescribeMapRun", "states:UpdateMapRun",
      "s3:GetObject", "s3:PutObject", "s3:ListBucket",
    ])
    error_message = "The operator policy must allow exactly what `replay --on stepfunctions` calls."
  }

  assert {
    condition     = [for s in jsondecode(output.operator_policy_json).Statement : s.Resource if s.Sid == "WatchAndTuneMapRuns"][0] == ["arn:aws:states:eu-west-1:111122223333:mapRun:ecs-stop-forwarder-replay/*"]
    error_message = "Map Runs may be watched and tuned only for this state machine."
  }
}

run "a_worker_without_any_key_fails_at_plan" {
  command = plan

  variables {
    datadog_api_key_secret_arn = null
  }

  expect_failures = [aws_lambda_function.worker]
}

run "results_inside_the_archive_prefix_fail_at_plan" {
  command = plan

  variables {
    results_prefix = "ecs-task-stop-log/replay/"
  }

  expect_failures = [aws_lambda_function.worker]
}
