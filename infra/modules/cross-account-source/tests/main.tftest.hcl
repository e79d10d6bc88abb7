# Behaviour of the module under a mock AWS provider (no credentials, no network).

mock_provider "aws" {
  mock_data "aws_caller_identity" {
    defaults = { account_id = "222222222222" }
  }
  mock_resource "aws_iam_role" {
    defaults = { arn = "arn:aws:iam::222222222222:role/ecs-task-stop-to-central-bus" }
  }
  mock_resource "aws_cloudwatch_event_rule" {
    defaults = { arn = "arn:aws:events:us-west-2:222222222222:rule/ecs-task-stop-to-central-bus" }
  }
  mock_resource "aws_sqs_queue" {
    defaults = {
      arn = "arn:aws:sqs:us-west-2:222222222222:ecs-task-stop-to-central-bus-dlq"
      id  = "https://sqs.us-west-2.amazonaws.com/222222222222/ecs-task-stop-to-central-bus-dlq"
    }
  }
}

variables {
  target_event_bus_arn = "arn:aws:events:ap-northeast-1:111111111111:event-bus/ecs-task-stop"
}

run "forwards_stopped_tasks_to_the_central_bus" {
  assert {
    condition = jsondecode(aws_cloudwatch_event_rule.this.event_pattern) == {
      source        = ["aws.ecs"]
      "detail-type" = ["ECS Task State Change"]
      detail        = { lastStatus = ["STOPPED"] }
    }
    error_message = "The rule pattern must be the article's."
  }

  assert {
    condition     = aws_cloudwatch_event_target.this.arn == var.target_event_bus_arn && aws_cloudwatch_event_target.this.role_arn == aws_iam_role.this.arn
    error_message = "The target must be the central bus, put with the module's role."
  }

  assert {
    condition = jsondecode(aws_iam_role_policy.this.policy).Statement == [{
      Sid      = "PutOnCentralBus"
      Effect   = "Allow"
      Action   = ["events:PutEvents"]
      Resource = [var.target_event_bus_arn]
    }]
    error_message = "The role may only put events on the central bus."
  }

  assert {
    condition = alltrue(flatten([
      for doc in [aws_iam_role_policy.this.policy, aws_iam_role.this.assume_role_policy] : [
        for s in jsondecode(doc).Statement : [for a in flatten([s.Action]) : a != "*" && !endswith(a, ":*")]
      ]
    ]))
    error_message = "No statement may use a wildcard action."
  }

}

# Issue #25, item 8: EventBridge may assume the role only for this rule.
run "trust_names_the_rule" {
  assert {
    condition = jsondecode(aws_iam_role.this.assume_role_policy).Statement[0].Condition == {
      StringEquals = { "aws:SourceAccount" = "222222222222" }
      ArnEquals    = { "aws:SourceArn" = "arn:aws:events:us-west-2:222222222222:rule/ecs-task-stop-to-central-bus" }
    }
    error_message = "The trust policy must check aws:SourceArn (the rule) as well as aws:SourceAccount."
  }
}

# Issue #25, item 9: an event the central bus rejects (its policy now checks source and
# detail-type) or cannot take is retried, then kept in a queue here, and an alarm says so.
run "creates_a_dead_letter_queue_and_retry_policy_by_default" {
  assert {
    condition     = aws_cloudwatch_event_target.this.dead_letter_config[0].arn == aws_sqs_queue.dead_letter[0].arn
    error_message = "The target must have a dead-letter queue by default."
  }

  assert {
    condition     = aws_cloudwatch_event_target.this.retry_policy[0].maximum_retry_attempts == 185 && aws_cloudwatch_event_target.this.retry_policy[0].maximum_event_age_in_seconds == 86400
    error_message = "The target must retry for EventBridge's maximum (185 attempts, 24 h)."
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
      Resource  = ["arn:aws:sqs:us-west-2:222222222222:ecs-task-stop-to-central-bus-dlq"]
      Condition = { ArnEquals = { "aws:SourceArn" = "arn:aws:events:us-west-2:222222222222:rule/ecs-task-stop-to-central-bus" } }
    }
    error_message = "Only this rule may send dead letters to the queue."
  }

  assert {
    condition     = aws_cloudwatch_metric_alarm.dead_letter[0].dimensions["QueueName"] == aws_sqs_queue.dead_letter[0].name && length(aws_cloudwatch_metric_alarm.dead_letter[0].alarm_actions) == 0
    error_message = "A dead letter must raise an alarm (without actions unless a topic is given)."
  }
}

run "dead_letter_queue_can_be_left_out" {
  variables {
    create_dead_letter_queue = false
  }

  assert {
    condition     = length(aws_sqs_queue.dead_letter) == 0 && length(aws_cloudwatch_event_target.this.dead_letter_config) == 0 && length(aws_cloudwatch_metric_alarm.dead_letter) == 0
    error_message = "create_dead_letter_queue = false and no queue ARN must leave the target without a DLQ."
  }
}

run "cluster_filter_and_dlq" {
  variables {
    cluster_arns          = ["arn:aws:ecs:us-west-2:222222222222:cluster/web"]
    dead_letter_queue_arn = "arn:aws:sqs:us-west-2:222222222222:ecs-stop-dlq"
  }

  assert {
    condition     = jsondecode(aws_cloudwatch_event_rule.this.event_pattern).detail.clusterArn == ["arn:aws:ecs:us-west-2:222222222222:cluster/web"]
    error_message = "cluster_arns must narrow the pattern."
  }

  assert {
    condition     = aws_cloudwatch_event_target.this.dead_letter_config[0].arn == var.dead_letter_queue_arn && length(aws_sqs_queue.dead_letter) == 0
    error_message = "A given DLQ must be wired to the target, and none created."
  }
}
