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

  # EventBridge retries a failed PutRecord (throttling, stream being updated, role or KMS
  # trouble), then keeps the event in the dead-letter queue instead of dropping it.
  retry_policy {
    maximum_retry_attempts       = var.event_retry_attempts
    maximum_event_age_in_seconds = var.event_maximum_age_seconds
  }

  dynamic "dead_letter_config" {
    for_each = var.create_dead_letter_queue ? [1] : []
    content {
      arn = aws_sqs_queue.dead_letter[0].arn
    }
  }
}

resource "aws_sqs_queue" "dead_letter" {
  count = var.create_dead_letter_queue ? 1 : 0

  name                      = "${var.stream_name}-rule-dlq"
  message_retention_seconds = 1209600
  sqs_managed_sse_enabled   = true
  tags                      = var.tags
}

resource "aws_sqs_queue_policy" "dead_letter" {
  count = var.create_dead_letter_queue ? 1 : 0

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
