# Behaviour of the module under a mock AWS provider (no credentials, no network).

mock_provider "aws" {
  mock_data "aws_caller_identity" {
    defaults = { account_id = "222222222222" }
  }
  mock_resource "aws_iam_role" {
    defaults = { arn = "arn:aws:iam::222222222222:role/ecs-task-stop-to-central-bus" }
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

  assert {
    condition     = length(aws_cloudwatch_event_target.this.dead_letter_config) == 0
    error_message = "No DLQ unless one is given."
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
    condition     = aws_cloudwatch_event_target.this.dead_letter_config[0].arn == var.dead_letter_queue_arn
    error_message = "The DLQ must be wired to the target."
  }
}
