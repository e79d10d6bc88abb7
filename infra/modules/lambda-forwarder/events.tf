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
  name           = "${var.name}-task-stopped"
  description    = "Capture ECS task stop events"
  event_bus_name = var.event_bus_name
  event_pattern  = jsonencode(local.event_pattern)
  tags           = var.tags
}

resource "aws_cloudwatch_event_target" "this" {
  rule           = aws_cloudwatch_event_rule.this.name
  event_bus_name = var.event_bus_name
  target_id      = "forwarder"
  # With snap_start, the alias on the published version (SnapStart restores only published
  # versions); otherwise the function ($LATEST).
  arn = var.snap_start ? aws_lambda_alias.live[0].arn : aws_lambda_function.this.arn

  # Events EventBridge itself cannot hand to Lambda (e.g. the function was deleted or the
  # permission is missing) land in the same queue as failed invocations.
  dead_letter_config {
    arn = aws_sqs_queue.failures.arn
  }
}

resource "aws_lambda_permission" "events" {
  statement_id  = "AllowEventBridgeInvoke"
  action        = "lambda:InvokeFunction"
  function_name = aws_lambda_function.this.function_name
  qualifier     = one(aws_lambda_alias.live[*].name)
  principal     = "events.amazonaws.com"
  source_arn    = aws_cloudwatch_event_rule.this.arn
}
