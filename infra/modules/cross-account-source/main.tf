data "aws_caller_identity" "current" {}

locals {
  # The source article's pattern, optionally narrowed to some clusters.
  event_pattern = {
    source        = ["aws.ecs"]
    "detail-type" = ["ECS Task State Change"]
    detail = merge(
      { lastStatus = ["STOPPED"] },
      { for key, arns in { clusterArn = var.cluster_arns } : key => arns if length(arns) > 0 },
    )
  }
}

resource "aws_cloudwatch_event_rule" "this" {
  name           = var.rule_name
  description    = "Forward ECS task stop events to the central event bus"
  event_bus_name = var.event_bus_name
  event_pattern  = jsonencode(local.event_pattern)
  tags           = var.tags
}

resource "aws_cloudwatch_event_target" "this" {
  rule           = aws_cloudwatch_event_rule.this.name
  event_bus_name = var.event_bus_name
  target_id      = "central-bus"
  arn            = var.target_event_bus_arn
  role_arn       = aws_iam_role.this.arn

  dynamic "dead_letter_config" {
    for_each = var.dead_letter_queue_arn == null ? [] : [var.dead_letter_queue_arn]
    content {
      arn = dead_letter_config.value
    }
  }
}
