data "aws_caller_identity" "current" {}

locals {
  # A given queue, else the one created here (default), else none.
  dead_letter_queue_arn = var.dead_letter_queue_arn != null ? var.dead_letter_queue_arn : one(aws_sqs_queue.dead_letter[*].arn)
  create_dead_letter    = var.dead_letter_queue_arn == null && var.create_dead_letter_queue

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

  # EventBridge retries a failed put (the central bus throttling, or its policy rejecting the
  # event), then keeps the event in the dead-letter queue instead of dropping it.
  retry_policy {
    maximum_retry_attempts       = var.event_retry_attempts
    maximum_event_age_in_seconds = var.event_maximum_age_seconds
  }

  dynamic "dead_letter_config" {
    for_each = var.dead_letter_queue_arn != null || var.create_dead_letter_queue ? [1] : []
    content {
      arn = local.dead_letter_queue_arn
    }
  }
}

resource "aws_sqs_queue" "dead_letter" {
  count = local.create_dead_letter ? 1 : 0

  name                      = "${var.rule_name}-dlq"
  message_retention_seconds = 1209600
  sqs_managed_sse_enabled   = true
  tags                      = var.tags
}

resource "aws_sqs_queue_policy" "dead_letter" {
  count = local.create_dead_letter ? 1 : 0

  queue_url = aws_sqs_queue.dead_letter[0].id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid       = "AllowRuleDeadLetters"
        Effect    = "Allow"
        Principal = { Service = "events.amazonaws.com" }
        Action    = ["sqs:SendMessage"]
        Resource  = [aws_sqs_queue.dead_letter[0].arn]
        Condition = { ArnEquals = { "aws:SourceArn" = aws_cloudwatch_event_rule.this.arn } }
      },
      {
        Sid       = "DenyInsecureTransport"
        Effect    = "Deny"
        Principal = "*"
        Action    = ["sqs:SendMessage", "sqs:ReceiveMessage", "sqs:DeleteMessage"]
        Resource  = [aws_sqs_queue.dead_letter[0].arn]
        Condition = { Bool = { "aws:SecureTransport" = "false" } }
      },
    ]
  })
}

# A dead letter is a stop event that never reached the central bus, so no forwarder saw it.
resource "aws_cloudwatch_metric_alarm" "dead_letter" {
  count = local.create_dead_letter && var.create_alarms ? 1 : 0

  alarm_name          = "${var.rule_name}-dead-letters"
  alarm_description   = "ECS stop events could not be put on the central bus ${var.target_event_bus_arn} (rejected by its policy, or it was unavailable); they wait in ${aws_sqs_queue.dead_letter[0].name}."
  namespace           = "AWS/SQS"
  metric_name         = "ApproximateNumberOfMessagesVisible"
  dimensions          = { QueueName = aws_sqs_queue.dead_letter[0].name }
  statistic           = "Maximum"
  period              = 300
  evaluation_periods  = 1
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = var.alarm_sns_topic_arn == null ? [] : [var.alarm_sns_topic_arn]
  ok_actions          = var.alarm_sns_topic_arn == null ? [] : [var.alarm_sns_topic_arn]
  tags                = var.tags
}
