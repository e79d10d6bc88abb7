# The complete example under mock AWS providers (no credentials, no network): the central
# account 111111111111 in ap-northeast-1, the member account 222222222222 in us-west-2.
# Resource ARNs are fixed with override_resource so the policies below are the real statements.

mock_provider "aws" {
  mock_data "aws_partition" {
    defaults = { partition = "aws" }
  }
  mock_data "aws_region" {
    defaults = { name = "ap-northeast-1" }
  }
  mock_data "aws_caller_identity" {
    defaults = { account_id = "111111111111" }
  }
}

mock_provider "aws" {
  alias = "member"

  mock_data "aws_partition" {
    defaults = { partition = "aws" }
  }
  mock_data "aws_region" {
    defaults = { name = "us-west-2" }
  }
  mock_data "aws_caller_identity" {
    defaults = { account_id = "222222222222" }
  }
}

variables {
  package_path                    = "../../modules/lambda-forwarder/tests/fixtures/lambda.zip"
  datadog_api_key_secret_arn      = "arn:aws:secretsmanager:ap-northeast-1:111111111111:secret:ecs-stop-forwarder/datadog-AbCdEf"
  datadog_firehose_secret_arn     = "arn:aws:secretsmanager:ap-northeast-1:111111111111:secret:ecs-stop-forwarder/datadog-firehose-GhIjKl"
  newrelic_license_key_secret_arn = "arn:aws:secretsmanager:ap-northeast-1:111111111111:secret:ecs-stop-forwarder/newrelic-MnOpQr"
  kms_key_arn                     = "arn:aws:kms:ap-northeast-1:111111111111:key/0a1b2c3d-0000-4000-8000-000000000002"
}

override_resource {
  target = aws_kms_key.alarms
  values = { arn = "arn:aws:kms:ap-northeast-1:111111111111:key/0a1b2c3d-0000-4000-8000-000000000001" }
}

override_resource {
  target = aws_sns_topic.alarms
  values = { arn = "arn:aws:sns:ap-northeast-1:111111111111:ecs-stop-forwarder-alarms" }
}

override_resource {
  target = module.central_bus.aws_cloudwatch_event_bus.this
  values = { arn = "arn:aws:events:ap-northeast-1:111111111111:event-bus/ecs-task-stop" }
}

override_resource {
  target = module.forwarder.aws_iam_role.this
  values = { arn = "arn:aws:iam::111111111111:role/ecs-stop-forwarder" }
}

override_resource {
  target = module.forwarder.aws_sqs_queue.failures
  values = { arn = "arn:aws:sqs:ap-northeast-1:111111111111:ecs-stop-forwarder-failures", id = "https://sqs.ap-northeast-1.amazonaws.com/111111111111/ecs-stop-forwarder-failures" }
}

override_resource {
  target = module.forwarder.aws_cloudwatch_log_group.this
  values = { arn = "arn:aws:logs:ap-northeast-1:111111111111:log-group:/aws/lambda/ecs-stop-forwarder" }
}

override_resource {
  target = module.forwarder.aws_cloudwatch_event_rule.this
  values = { arn = "arn:aws:events:ap-northeast-1:111111111111:rule/ecs-task-stop/ecs-stop-forwarder-task-stopped" }
}

override_resource {
  target = module.forwarder.aws_lambda_function.this
  values = { arn = "arn:aws:lambda:ap-northeast-1:111111111111:function:ecs-stop-forwarder" }
}

override_resource {
  target = module.forwarder.module.archive_bucket[0].aws_s3_bucket.this
  values = { arn = "arn:aws:s3:::ecs-stop-forwarder-archive-20260101000000000000000001", id = "ecs-stop-forwarder-archive-20260101000000000000000001" }
}

override_resource {
  target = module.firehose_fallback.aws_iam_role.firehose
  values = { arn = "arn:aws:iam::111111111111:role/service-role/ecs-task-stop-log-firehose-role" }
}

override_resource {
  target = module.firehose_fallback.aws_iam_role.events
  values = { arn = "arn:aws:iam::111111111111:role/event-bridge-to-firehose-role" }
}

override_resource {
  target = module.firehose_fallback.aws_kinesis_firehose_delivery_stream.this
  values = { arn = "arn:aws:firehose:ap-northeast-1:111111111111:deliverystream/ecs-task-stop-log" }
}

override_resource {
  target = module.firehose_fallback.aws_cloudwatch_log_group.firehose
  values = { arn = "arn:aws:logs:ap-northeast-1:111111111111:log-group:/aws/kinesisfirehose/ecs-task-stop-log" }
}

override_resource {
  target = module.firehose_fallback.aws_cloudwatch_event_rule.this
  values = { arn = "arn:aws:events:ap-northeast-1:111111111111:rule/ecs-task-stop/ecs-task-stop-rule" }
}

override_resource {
  target = module.firehose_fallback.aws_sqs_queue.dead_letter
  values = { arn = "arn:aws:sqs:ap-northeast-1:111111111111:ecs-task-stop-log-rule-dlq", id = "https://sqs.ap-northeast-1.amazonaws.com/111111111111/ecs-task-stop-log-rule-dlq" }
}

override_resource {
  target = module.firehose_fallback.module.backup_bucket[0].aws_s3_bucket.this
  values = { arn = "arn:aws:s3:::ecs-task-stop-log-backup-20260101000000000000000002", id = "ecs-task-stop-log-backup-20260101000000000000000002" }
}

override_resource {
  target = module.member_source.aws_iam_role.this
  values = { arn = "arn:aws:iam::222222222222:role/ecs-task-stop-to-central-us-west-2" }
}

override_resource {
  target = module.member_source.aws_cloudwatch_event_rule.this
  values = { arn = "arn:aws:events:us-west-2:222222222222:rule/ecs-task-stop-to-central-bus" }
}

override_resource {
  target = module.member_source.aws_sqs_queue.dead_letter
  values = { arn = "arn:aws:sqs:us-west-2:222222222222:ecs-task-stop-to-central-bus-dlq", id = "https://sqs.us-west-2.amazonaws.com/222222222222/ecs-task-stop-to-central-bus-dlq" }
}

# Issue #25, item 2: CloudWatch alarms cannot publish to a topic encrypted with the AWS managed
# alias/aws/sns key (its policy does not let CloudWatch use it and cannot be edited).
run "alarm_topic_uses_a_key_cloudwatch_alarms_can_use" {
  assert {
    condition     = aws_sns_topic.alarms.kms_master_key_id != "alias/aws/sns" && aws_sns_topic.alarms.kms_master_key_id == aws_kms_key.alarms.arn
    error_message = "The alarm topic must be encrypted with the example's customer managed key, not alias/aws/sns."
  }

  assert {
    condition = [for s in jsondecode(aws_kms_key.alarms.policy).Statement : s if s.Sid == "CloudWatchAlarmsUseKey"] == [{
      Sid       = "CloudWatchAlarmsUseKey"
      Effect    = "Allow"
      Principal = { Service = "cloudwatch.amazonaws.com" }
      Action    = ["kms:Decrypt", "kms:GenerateDataKey"]
      Resource  = "*"
    }]
    error_message = "The key policy must let CloudWatch alarms encrypt messages for the topic."
  }

  assert {
    condition     = aws_kms_key.alarms.enable_key_rotation == true
    error_message = "The alarm key must rotate."
  }

  assert {
    condition = alltrue(flatten([
      for s in jsondecode(aws_kms_key.alarms.policy).Statement : [for a in s.Action : a != "kms:*" && a != "*"]
    ]))
    error_message = "The key policy names its actions (no kms:*)."
  }
}

# Issue #25, item 10: the example said the article's 60 s and set 0.
run "fallback_buffers_like_the_article" {
  command = plan

  assert {
    condition     = module.firehose_fallback.buffering_interval == 60
    error_message = "The Firehose fallback keeps the article's 60 s buffer."
  }
}

# Issue #25: the real statements, for a reviewer. tests/policies.json is the rendering of every
# policy the example creates for the accounts and ARNs above; the README shows the same JSON
# (tests/infra/test_terraform.py checks they agree). A change to any policy must update both.
run "policies_are_the_reviewed_ones" {
  assert {
    condition     = { for name, doc in output.policies : name => jsondecode(doc) } == jsondecode(file("tests/policies.json"))
    error_message = "The rendered policies differ from tests/policies.json: review the change and update it (and the README)."
  }
}
