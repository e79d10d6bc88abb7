# Behaviour of the module under a mock AWS provider (no credentials, no network).

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
  mock_resource "aws_cloudwatch_event_bus" {
    defaults = { arn = "arn:aws:events:ap-northeast-1:111111111111:event-bus/ecs-task-stop" }
  }
}

run "allows_listed_accounts" {
  variables {
    source_account_ids = ["222222222222", "333333333333"]
  }

  assert {
    condition = jsondecode(aws_cloudwatch_event_bus_policy.this.policy).Statement == [{
      Sid       = "AllowSourceAccounts"
      Effect    = "Allow"
      Principal = { AWS = ["arn:aws:iam::222222222222:root", "arn:aws:iam::333333333333:root"] }
      Action    = ["events:PutEvents"]
      Resource  = ["arn:aws:events:ap-northeast-1:111111111111:event-bus/ecs-task-stop"]
    }]
    error_message = "The listed accounts, and only they, may put events on the bus."
  }
}

run "allows_an_organization_on_the_default_bus" {
  variables {
    create_event_bus = false
    event_bus_name   = "default"
    organization_id  = "o-abcdef1234"
  }

  assert {
    condition     = length(aws_cloudwatch_event_bus.this) == 0 && output.event_bus_arn == "arn:aws:events:ap-northeast-1:111111111111:event-bus/default"
    error_message = "An existing bus must be used, not created."
  }

  assert {
    condition     = jsondecode(aws_cloudwatch_event_bus_policy.this.policy).Statement[0].Condition == { StringEquals = { "aws:PrincipalOrgID" = "o-abcdef1234" } }
    error_message = "Organization access must be conditioned on aws:PrincipalOrgID."
  }
}

run "needs_a_sender" {
  command = plan

  expect_failures = [aws_cloudwatch_event_bus_policy.this]
}
