resource "aws_sqs_queue" "failures" {
  name                      = "${var.name}-failures"
  message_retention_seconds = var.failure_queue_message_retention_seconds

  sqs_managed_sse_enabled           = var.kms_key_arn == null ? true : null
  kms_master_key_id                 = var.kms_key_arn
  kms_data_key_reuse_period_seconds = var.kms_key_arn == null ? null : 300

  tags = var.tags
}

# Lambda sends failed invocations with the function's role (see iam.tf); EventBridge needs
# this resource policy to deliver undeliverable events to the same queue.
resource "aws_sqs_queue_policy" "failures" {
  queue_url = aws_sqs_queue.failures.id
  policy    = local.failure_queue_policy_json
}

locals {
  failure_queue_policy = {
    Version = "2012-10-17"
    Statement = [
      {
        Sid       = "AllowRuleDeadLetters"
        Effect    = "Allow"
        Principal = { Service = "events.amazonaws.com" }
        Action    = ["sqs:SendMessage"]
        Resource  = [aws_sqs_queue.failures.arn]
        Condition = { ArnEquals = { "aws:SourceArn" = [aws_cloudwatch_event_rule.this.arn] } }
      },
      {
        Sid       = "DenyInsecureTransport"
        Effect    = "Deny"
        Principal = "*"
        Action    = ["sqs:SendMessage", "sqs:ReceiveMessage", "sqs:DeleteMessage"]
        Resource  = [aws_sqs_queue.failures.arn]
        Condition = { Bool = { "aws:SecureTransport" = "false" } }
      },
    ]
  }
  failure_queue_policy_json = jsonencode(local.failure_queue_policy)
}
