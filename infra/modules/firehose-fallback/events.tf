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
  description    = var.rule_description
  event_bus_name = var.event_bus_name
  event_pattern  = jsonencode(local.event_pattern)
  tags           = var.tags
}

resource "aws_cloudwatch_event_target" "this" {
  rule           = aws_cloudwatch_event_rule.this.name
  event_bus_name = var.event_bus_name
  target_id      = "firehose"
  arn            = aws_kinesis_firehose_delivery_stream.this.arn
  role_arn       = aws_iam_role.events.arn
}
