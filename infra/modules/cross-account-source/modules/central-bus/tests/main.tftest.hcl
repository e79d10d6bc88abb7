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

  # Issue #25, item 1: only ECS task state changes, whatever else the senders publish.
  assert {
    condition = jsondecode(aws_cloudwatch_event_bus_policy.this.policy).Statement == [{
      Sid       = "AllowSourceAccounts"
      Effect    = "Allow"
      Principal = { AWS = ["arn:aws:iam::222222222222:root", "arn:aws:iam::333333333333:root"] }
      Action    = ["events:PutEvents"]
      Resource  = ["arn:aws:events:ap-northeast-1:111111111111:event-bus/ecs-task-stop"]
      Condition = {
        "ForAllValues:StringEquals" = {
          "events:source"      = ["aws.ecs"]
          "events:detail-type" = ["ECS Task State Change"]
        }
        Null = { "events:source" = "false", "events:detail-type" = "false" }
      }
    }]
    error_message = "The listed accounts, and only they, may put events on the bus, and only ECS task state changes."
  }
}

run "every_statement_checks_source_and_detail_type" {
  variables {
    source_account_ids = ["222222222222"]
    organization_id    = "o-abcdef1234"
  }

  assert {
    condition = alltrue([
      for s in jsondecode(aws_cloudwatch_event_bus_policy.this.policy).Statement :
      s.Condition["ForAllValues:StringEquals"] == { "events:source" = ["aws.ecs"], "events:detail-type" = ["ECS Task State Change"] }
      && s.Condition.Null == { "events:source" = "false", "events:detail-type" = "false" }
    ])
    error_message = "Every Allow must be conditioned on events:source and events:detail-type, present and ECS's."
  }

  assert {
    condition     = [for s in jsondecode(aws_cloudwatch_event_bus_policy.this.policy).Statement : s.Condition.StringEquals if s.Sid == "AllowOrganization"][0] == { "aws:PrincipalOrgID" = "o-abcdef1234" }
    error_message = "Organization access must still be conditioned on aws:PrincipalOrgID."
  }
}

run "sources_and_detail_types_can_be_given" {
  variables {
    source_account_ids   = ["222222222222"]
    allowed_sources      = ["aws.ecs", "com.example.batch"]
    allowed_detail_types = ["ECS Task State Change", "Batch Job Stopped"]
  }

  assert {
    condition = jsondecode(aws_cloudwatch_event_bus_policy.this.policy).Statement[0].Condition["ForAllValues:StringEquals"] == {
      "events:source"      = ["aws.ecs", "com.example.batch"]
      "events:detail-type" = ["ECS Task State Change", "Batch Job Stopped"]
    }
    error_message = "allowed_sources and allowed_detail_types must reach the policy."
  }
}

run "allows_an_organization_on_the_default_bus" {
  variables {
    create_event_bus     = false
    event_bus_name       = "default"
    organization_id      = "o-abcdef1234"
    existing_policy_json = jsonencode({ Version = "2012-10-17", Statement = [] })
  }

  assert {
    condition     = length(aws_cloudwatch_event_bus.this) == 0 && output.event_bus_arn == "arn:aws:events:ap-northeast-1:111111111111:event-bus/default"
    error_message = "An existing bus must be used, not created."
  }

  assert {
    condition     = jsondecode(aws_cloudwatch_event_bus_policy.this.policy).Statement[0].Condition.StringEquals == { "aws:PrincipalOrgID" = "o-abcdef1234" }
    error_message = "Organization access must be conditioned on aws:PrincipalOrgID."
  }
}

# Issue #25, item 1: on an existing bus (default) the bus policy resource replaces the whole
# policy, so the module must be told what is there and keeps it.
run "an_existing_bus_keeps_its_other_statements" {
  variables {
    create_event_bus   = false
    event_bus_name     = "default"
    source_account_ids = ["222222222222"]
    existing_policy_json = jsonencode({
      Version = "2012-10-17"
      Statement = [
        {
          Sid       = "AllowPartnerPutEvents"
          Effect    = "Allow"
          Principal = { AWS = "arn:aws:iam::444444444444:root" }
          Action    = "events:PutEvents"
          Resource  = "arn:aws:events:ap-northeast-1:111111111111:event-bus/default"
        },
        {
          Sid       = "AllowSourceAccounts"
          Effect    = "Allow"
          Principal = { AWS = "arn:aws:iam::999999999999:root" }
          Action    = "events:PutEvents"
          Resource  = "arn:aws:events:ap-northeast-1:111111111111:event-bus/default"
        },
      ]
    })
  }

  assert {
    condition     = [for s in jsondecode(aws_cloudwatch_event_bus_policy.this.policy).Statement : s.Sid] == ["AllowPartnerPutEvents", "AllowSourceAccounts"]
    error_message = "Statements already on the bus must be kept; the module's own Sids replace their earlier versions."
  }

  assert {
    condition     = jsondecode(aws_cloudwatch_event_bus_policy.this.policy).Statement[1].Principal == { AWS = ["arn:aws:iam::222222222222:root"] }
    error_message = "The module's statement must be the current one, not the old one with the same Sid."
  }
}

run "an_existing_bus_needs_its_current_policy" {
  command = plan

  variables {
    create_event_bus   = false
    event_bus_name     = "default"
    source_account_ids = ["222222222222"]
  }

  expect_failures = [aws_cloudwatch_event_bus_policy.this]
}

run "needs_a_sender" {
  command = plan

  expect_failures = [aws_cloudwatch_event_bus_policy.this]
}
