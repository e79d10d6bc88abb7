# The example under a mock AWS provider (no credentials, no network).

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
  mock_resource "aws_s3_bucket" {
    defaults = { arn = "arn:aws:s3:::ecs-task-stop-log-backup-mock", id = "ecs-task-stop-log-backup-mock" }
  }
}

variables {
  datadog_api_key_secret_arn = "arn:aws:secretsmanager:ap-northeast-1:111111111111:secret:ecs-stop-forwarder/datadog-firehose-AbCdEf"
}

# Issue #25, item 10: the example said "the article's 60 s" and set 0.
run "buffers_like_the_article_as_its_comment_says" {
  command = plan

  assert {
    condition     = output.buffering_interval == 60
    error_message = "The example keeps the article's 60 s buffer, as its comment and README say."
  }
}
