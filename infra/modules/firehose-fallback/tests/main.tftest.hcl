# Behaviour of the module under a mock AWS provider (no credentials, no network).

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
    defaults = { arn = "arn:aws:s3:::mock-backup", id = "mock-backup" }
  }
  mock_resource "aws_iam_role" {
    defaults = { arn = "arn:aws:iam::123456789012:role/service-role/mock" }
  }
  mock_resource "aws_kinesis_firehose_delivery_stream" {
    defaults = { arn = "arn:aws:firehose:us-east-1:123456789012:deliverystream/ecs-task-stop-log" }
  }
  mock_resource "aws_cloudwatch_log_group" {
    defaults = { arn = "arn:aws:logs:us-east-1:123456789012:log-group:/aws/kinesisfirehose/ecs-task-stop-log" }
  }
  mock_resource "aws_cloudwatch_event_rule" {
    defaults = { arn = "arn:aws:events:us-east-1:123456789012:rule/ecs-task-stop-rule" }
  }
  mock_resource "aws_sqs_queue" {
    defaults = {
      arn = "arn:aws:sqs:us-east-1:123456789012:ecs-task-stop-log-rule-dlq"
      id  = "https://sqs.us-east-1.amazonaws.com/123456789012/ecs-task-stop-log-rule-dlq"
    }
  }
}

variables {
  vendor             = "datadog"
  api_key_secret_arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:datadog-AbCdEf"
}

run "keeps_the_article_resources_and_defaults" {
  assert {
    condition = jsondecode(aws_cloudwatch_event_rule.this.event_pattern) == {
      source        = ["aws.ecs"]
      "detail-type" = ["ECS Task State Change"]
      detail        = { lastStatus = ["STOPPED"] }
    }
    error_message = "The rule pattern must be the article's."
  }

  assert {
    condition     = aws_cloudwatch_event_rule.this.name == "ecs-task-stop-rule" && aws_cloudwatch_event_rule.this.description == "Capture ECS task stop events"
    error_message = "Rule name and description must be the article's."
  }

  assert {
    condition     = aws_iam_role.firehose.name == "ecs-task-stop-log-firehose-role" && aws_iam_role.firehose.path == "/service-role/" && aws_iam_role.events.name == "event-bridge-to-firehose-role"
    error_message = "Role names and path must be the article's."
  }

  assert {
    condition     = aws_kinesis_firehose_delivery_stream.this.name == "ecs-task-stop-log" && aws_kinesis_firehose_delivery_stream.this.destination == "http_endpoint"
    error_message = "Stream must be ecs-task-stop-log with an http_endpoint destination."
  }

  assert {
    condition     = aws_kinesis_firehose_delivery_stream.this.http_endpoint_configuration[0].url == "https://aws-kinesis-http-intake.logs.datadoghq.com/v1/input"
    error_message = "Datadog US1 must use the article's intake URL."
  }

  assert {
    condition = (
      aws_kinesis_firehose_delivery_stream.this.http_endpoint_configuration[0].buffering_size == 1
      && aws_kinesis_firehose_delivery_stream.this.http_endpoint_configuration[0].buffering_interval == 60
      && aws_kinesis_firehose_delivery_stream.this.http_endpoint_configuration[0].s3_backup_mode == "AllData"
      && aws_kinesis_firehose_delivery_stream.this.http_endpoint_configuration[0].request_configuration[0].content_encoding == "GZIP"
    )
    error_message = "Buffering 1 MiB / 60 s, AllData backup and GZIP requests are the article's defaults."
  }

  assert {
    condition = (
      aws_kinesis_firehose_delivery_stream.this.http_endpoint_configuration[0].s3_configuration[0].prefix == "ecs-task-stop-log/"
      && aws_kinesis_firehose_delivery_stream.this.http_endpoint_configuration[0].s3_configuration[0].compression_format == "GZIP"
      && aws_kinesis_firehose_delivery_stream.this.http_endpoint_configuration[0].s3_configuration[0].bucket_arn == "arn:aws:s3:::mock-backup"
    )
    error_message = "The backup must be GZIP under ecs-task-stop-log/ in the backup bucket."
  }

  assert {
    condition = (
      aws_kinesis_firehose_delivery_stream.this.http_endpoint_configuration[0].access_key == null
      && aws_kinesis_firehose_delivery_stream.this.http_endpoint_configuration[0].secrets_manager_configuration[0].enabled == true
      && aws_kinesis_firehose_delivery_stream.this.http_endpoint_configuration[0].secrets_manager_configuration[0].secret_arn == var.api_key_secret_arn
    )
    error_message = "The key must come from Secrets Manager, never access_key."
  }

  assert {
    condition = (
      aws_kinesis_firehose_delivery_stream.this.http_endpoint_configuration[0].cloudwatch_logging_options[0].enabled == true
      && aws_kinesis_firehose_delivery_stream.this.http_endpoint_configuration[0].cloudwatch_logging_options[0].log_group_name == aws_cloudwatch_log_group.firehose.name
    )
    error_message = "Delivery errors must be logged to CloudWatch."
  }

  assert {
    condition     = aws_cloudwatch_event_target.this.arn == aws_kinesis_firehose_delivery_stream.this.arn && aws_cloudwatch_event_target.this.role_arn == aws_iam_role.events.arn
    error_message = "The rule must target the stream with the EventBridge role."
  }

  assert {
    condition     = aws_cloudwatch_metric_alarm.delivery_failed[0].metric_name == "DeliveryToHttpEndpoint.Success" && aws_cloudwatch_metric_alarm.delivery_failed[0].namespace == "AWS/Firehose"
    error_message = "Failed deliveries must raise an alarm."
  }
}

run "least_privilege_policies" {
  variables {
    api_key_secret_kms_key_arn = "arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555"
    backup_bucket_kms_key_arn  = "arn:aws:kms:us-east-1:123456789012:key/66666666-7777-8888-9999-000000000000"
  }

  assert {
    condition = alltrue(flatten([
      for doc in [
        aws_iam_role_policy.firehose.policy,
        aws_iam_role_policy.events.policy,
        aws_iam_role.firehose.assume_role_policy,
        aws_iam_role.events.assume_role_policy,
        module.backup_bucket[0].bucket_policy,
        ] : [
        for s in jsondecode(doc).Statement : [
          for a in flatten([s.Action]) : s.Effect == "Deny" || (a != "*" && !endswith(a, ":*"))
        ]
      ]
    ]))
    error_message = "No Allow statement may use a wildcard action (\"*\" or \"service:*\")."
  }

  assert {
    condition = toset(flatten([
      for s in jsondecode(aws_iam_role_policy.firehose.policy).Statement : s.Action if startswith(s.Action[0], "s3:")
      ])) == toset([
      "s3:AbortMultipartUpload", "s3:GetBucketLocation", "s3:GetObject",
      "s3:ListBucket", "s3:ListBucketMultipartUploads", "s3:PutObject",
    ])
    error_message = "Firehose must get exactly the S3 actions it documents, not s3:*."
  }

  assert {
    condition = [
      for s in jsondecode(aws_iam_role_policy.events.policy).Statement : s.Action
    ][0] == ["firehose:PutRecord", "firehose:PutRecordBatch"]
    error_message = "EventBridge may only put records."
  }

  assert {
    condition     = length([for s in jsondecode(aws_iam_role_policy.firehose.policy).Statement : s if startswith(s.Action[0], "kms:")]) == 2
    error_message = "Given keys must add kms statements for the secret and the backup bucket."
  }
}

run "new_relic_regions" {
  variables {
    vendor          = "newrelic"
    newrelic_region = "EU"
  }

  assert {
    condition     = aws_kinesis_firehose_delivery_stream.this.http_endpoint_configuration[0].url == "https://aws-api.eu.newrelic.com/firehose/v1"
    error_message = "New Relic EU must use the EU Firehose intake."
  }

  assert {
    condition     = aws_kinesis_firehose_delivery_stream.this.http_endpoint_configuration[0].name == "New Relic"
    error_message = "The endpoint name must name the vendor."
  }
}

run "new_relic_us_and_datadog_sites" {
  variables {
    vendor = "newrelic"
  }

  assert {
    condition     = output.endpoint_url == "https://aws-api.newrelic.com/firehose/v1"
    error_message = "New Relic US must use the article's intake URL."
  }
}

run "datadog_site_and_zero_buffering" {
  variables {
    datadog_site       = "ap1.datadoghq.com"
    buffering_interval = 0
    retry_duration     = 900
    create_alarms      = false
  }

  assert {
    condition     = output.endpoint_url == "https://aws-kinesis-http-intake.logs.ap1.datadoghq.com/v1/input"
    error_message = "The Datadog site must select the intake host."
  }

  assert {
    condition     = aws_kinesis_firehose_delivery_stream.this.http_endpoint_configuration[0].buffering_interval == 0 && aws_kinesis_firehose_delivery_stream.this.http_endpoint_configuration[0].retry_duration == 900
    error_message = "0 s buffering and the retry duration must pass through."
  }

  assert {
    condition     = length(aws_cloudwatch_metric_alarm.delivery_failed) == 0
    error_message = "create_alarms = false must drop the alarms."
  }
}

run "existing_backup_bucket_requires_a_name" {
  command = plan

  variables {
    create_backup_bucket = false
  }

  expect_failures = [aws_kinesis_firehose_delivery_stream.this]
}

# Issue #25, firehose-fallback items.

# Item 6: Firehose writes (and may read) only its own prefixes, and failed records go to an
# error prefix of ours rather than one Firehose chooses.
run "backup_access_is_limited_to_the_backup_and_error_prefixes" {
  assert {
    condition     = aws_kinesis_firehose_delivery_stream.this.http_endpoint_configuration[0].s3_configuration[0].error_output_prefix == "ecs-task-stop-log-failed/"
    error_message = "Failed records must go under the error output prefix."
  }

  assert {
    condition = [
      for s in jsondecode(aws_iam_role_policy.firehose.policy).Statement : s.Resource if s.Sid == "BackupObjects"
    ][0] == ["arn:aws:s3:::mock-backup/ecs-task-stop-log/*", "arn:aws:s3:::mock-backup/ecs-task-stop-log-failed/*"]
    error_message = "Object access must be limited to the backup and error prefixes, not bucket/*."
  }

  assert {
    condition = alltrue(flatten([
      for s in jsondecode(aws_iam_role_policy.firehose.policy).Statement : [for r in s.Resource : r != "arn:aws:s3:::mock-backup/*"]
    ]))
    error_message = "No statement may cover every object of the backup bucket."
  }
}

# Item 5 (as in the Lambda module): each KMS statement names its service and resource.
run "kms_statements_name_their_service_and_resource" {
  variables {
    api_key_secret_kms_key_arn = "arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555"
    backup_bucket_kms_key_arn  = "arn:aws:kms:us-east-1:123456789012:key/66666666-7777-8888-9999-000000000000"
  }

  assert {
    condition = { for s in jsondecode(aws_iam_role_policy.firehose.policy).Statement : s.Sid => s.Condition if startswith(s.Action[0], "kms:") } == {
      DecryptVendorKey = {
        StringEquals = {
          "kms:ViaService"                  = "secretsmanager.us-east-1.amazonaws.com"
          "kms:EncryptionContext:SecretARN" = "arn:aws:secretsmanager:us-east-1:123456789012:secret:datadog-AbCdEf"
        }
      }
      EncryptBackupObjects = {
        StringEquals = { "kms:ViaService" = "s3.us-east-1.amazonaws.com" }
        StringLike = {
          "kms:EncryptionContext:aws:s3:arn" = [
            "arn:aws:s3:::mock-backup",
            "arn:aws:s3:::mock-backup/ecs-task-stop-log/*",
            "arn:aws:s3:::mock-backup/ecs-task-stop-log-failed/*",
          ]
        }
      }
    }
    error_message = "KMS statements must be limited to their service and the resource's encryption context."
  }
}

# Item 8: EventBridge may assume the role only for this rule.
run "events_role_trust_names_the_rule" {
  assert {
    condition = jsondecode(aws_iam_role.events.assume_role_policy).Statement[0].Condition == {
      StringEquals = { "aws:SourceAccount" = "123456789012" }
      ArnEquals    = { "aws:SourceArn" = "arn:aws:events:us-east-1:123456789012:rule/ecs-task-stop-rule" }
    }
    error_message = "The EventBridge trust policy must check aws:SourceArn (the rule) as well as aws:SourceAccount."
  }
}

# Item 9: events EventBridge cannot put into the stream are retried, then kept in a queue.
run "rule_target_has_a_dead_letter_queue_and_retry_policy" {
  assert {
    condition     = aws_cloudwatch_event_target.this.dead_letter_config[0].arn == aws_sqs_queue.dead_letter[0].arn
    error_message = "The rule target must have a dead-letter queue."
  }

  assert {
    condition     = aws_cloudwatch_event_target.this.retry_policy[0].maximum_retry_attempts == 185 && aws_cloudwatch_event_target.this.retry_policy[0].maximum_event_age_in_seconds == 86400
    error_message = "The rule target must retry for EventBridge's maximum (185 attempts, 24 h)."
  }

  assert {
    condition     = aws_sqs_queue.dead_letter[0].sqs_managed_sse_enabled == true && aws_sqs_queue.dead_letter[0].message_retention_seconds == 1209600
    error_message = "The dead-letter queue must be encrypted and keep events 14 days."
  }

  assert {
    condition = jsondecode(aws_sqs_queue_policy.dead_letter[0].policy).Statement[0] == {
      Sid       = "AllowRuleDeadLetters"
      Effect    = "Allow"
      Principal = { Service = "events.amazonaws.com" }
      Action    = ["sqs:SendMessage"]
      Resource  = ["arn:aws:sqs:us-east-1:123456789012:ecs-task-stop-log-rule-dlq"]
      Condition = { ArnEquals = { "aws:SourceArn" = "arn:aws:events:us-east-1:123456789012:rule/ecs-task-stop-rule" } }
    }
    error_message = "Only this rule may send dead letters to the queue."
  }

  assert {
    condition     = aws_cloudwatch_metric_alarm.dead_letter[0].metric_name == "ApproximateNumberOfMessagesVisible" && aws_cloudwatch_metric_alarm.dead_letter[0].dimensions["QueueName"] == aws_sqs_queue.dead_letter[0].name
    error_message = "A dead letter must raise an alarm."
  }
}

run "dead_letter_queue_can_be_left_out" {
  variables {
    create_dead_letter_queue = false
  }

  assert {
    condition     = length(aws_sqs_queue.dead_letter) == 0 && length(aws_cloudwatch_event_target.this.dead_letter_config) == 0 && length(aws_cloudwatch_metric_alarm.dead_letter) == 0
    error_message = "create_dead_letter_queue = false must create no queue."
  }
}

# Item 9: the backup bucket can log access; item 3: it can be Object-Locked like the archive.
run "backup_bucket_access_logging_and_object_lock" {
  variables {
    backup_access_log_bucket = "central-access-logs"
    backup_object_lock       = { retention_days = 30 }
  }

  assert {
    condition     = module.backup_bucket[0].access_log_bucket == "central-access-logs" && module.backup_bucket[0].object_lock_retention_days == 30
    error_message = "Access logging and Object Lock must reach the backup bucket."
  }
}

# Item 10: the default buffer is the article's 60 s.
run "the_articles_buffering_by_default" {
  assert {
    condition     = output.buffering_interval == 60
    error_message = "The stream must buffer 60 s by default, as the article does."
  }
}
