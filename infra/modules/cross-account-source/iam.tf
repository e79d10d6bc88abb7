locals {
  assume_role_policy = {
    Version = "2012-10-17"
    Statement = [
      {
        Sid       = "EventBridgeAssumeRole"
        Effect    = "Allow"
        Principal = { Service = "events.amazonaws.com" }
        Action    = ["sts:AssumeRole"]
        # Only this rule, in this account (issue #25, item 8).
        Condition = {
          StringEquals = { "aws:SourceAccount" = data.aws_caller_identity.current.account_id }
          ArnEquals    = { "aws:SourceArn" = aws_cloudwatch_event_rule.this.arn }
        }
      },
    ]
  }

  policy = {
    Version = "2012-10-17"
    Statement = [
      {
        Sid      = "PutOnCentralBus"
        Effect   = "Allow"
        Action   = ["events:PutEvents"]
        Resource = [var.target_event_bus_arn]
      },
    ]
  }
}

resource "aws_iam_role" "this" {
  name               = var.role_name
  assume_role_policy = jsonencode(local.assume_role_policy)
  tags               = var.tags
}

resource "aws_iam_role_policy" "this" {
  name   = "put-events-on-central-bus"
  role   = aws_iam_role.this.id
  policy = jsonencode(local.policy)
}
