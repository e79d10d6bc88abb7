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
  target_event_bus_arn = "arn:aws:events:us-east-1:111111111111:event-bus/central"
}

run "rejects_bad_target_event_bus_arn" {
  command = plan

  variables {
    target_event_bus_arn = "arn:aws:events:us-east-1:111111111111:rule/central"
  }

  expect_failures = [var.target_event_bus_arn]
}

run "rejects_bad_rule_name" {
  command = plan

  variables {
    rule_name = "has spaces"
  }

  expect_failures = [var.rule_name]
}

run "rejects_bad_role_name" {
  command = plan

  variables {
    role_name = "has spaces"
  }

  expect_failures = [var.role_name]
}

run "rejects_bad_cluster_arns" {
  command = plan

  variables {
    cluster_arns = ["arn:aws:ecs:us-east-1:1234:cluster/x"]
  }

  expect_failures = [var.cluster_arns]
}

run "rejects_bad_dead_letter_queue_arn" {
  command = plan

  variables {
    dead_letter_queue_arn = "arn:aws:sns:us-east-1:111111111111:topic"
  }

  expect_failures = [var.dead_letter_queue_arn]
}

run "rejects_bad_event_retry_attempts" {
  command = plan

  variables {
    event_retry_attempts = -1
  }

  expect_failures = [var.event_retry_attempts]
}

run "rejects_bad_event_maximum_age_seconds" {
  command = plan

  variables {
    event_maximum_age_seconds = 86401
  }

  expect_failures = [var.event_maximum_age_seconds]
}

run "rejects_bad_alarm_sns_topic_arn" {
  command = plan

  variables {
    alarm_sns_topic_arn = "arn:aws:sqs:us-east-1:111111111111:queue"
  }

  expect_failures = [var.alarm_sns_topic_arn]
}
