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
  source_account_ids = ["111111111111"]
}

run "rejects_bad_event_bus_name" {
  command = plan

  variables {
    event_bus_name = "has spaces"
  }

  expect_failures = [var.event_bus_name]
}

run "rejects_bad_source_account_ids" {
  command = plan

  variables {
    source_account_ids = ["1234"]
  }

  expect_failures = [var.source_account_ids]
}

run "rejects_bad_organization_id" {
  command = plan

  variables {
    organization_id = "org-123"
  }

  expect_failures = [var.organization_id]
}

run "rejects_empty_allowed_sources" {
  command = plan

  variables {
    allowed_sources = []
  }

  expect_failures = [var.allowed_sources]
}

run "rejects_empty_allowed_detail_types" {
  command = plan

  variables {
    allowed_detail_types = []
  }

  expect_failures = [var.allowed_detail_types]
}

run "rejects_bad_existing_policy_json" {
  command = plan

  variables {
    existing_policy_json = "{\"Version\": \"2012-10-17\"}"
  }

  expect_failures = [var.existing_policy_json]
}
