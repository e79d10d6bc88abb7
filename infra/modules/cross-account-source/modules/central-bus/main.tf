data "aws_partition" "current" {}
data "aws_region" "current" {}
data "aws_caller_identity" "current" {}

locals {
  bus_arn = (
    var.create_event_bus
    ? aws_cloudwatch_event_bus.this[0].arn
    : "arn:${data.aws_partition.current.partition}:events:${data.aws_region.current.name}:${data.aws_caller_identity.current.account_id}:event-bus/${var.event_bus_name}"
  )
  bus_name = var.create_event_bus ? aws_cloudwatch_event_bus.this[0].name : var.event_bus_name

  policy = {
    Version = "2012-10-17"
    Statement = concat(
      length(var.source_account_ids) == 0 ? [] : [
        {
          Sid       = "AllowSourceAccounts"
          Effect    = "Allow"
          Principal = { AWS = [for id in var.source_account_ids : "arn:${data.aws_partition.current.partition}:iam::${id}:root"] }
          Action    = ["events:PutEvents"]
          Resource  = [local.bus_arn]
        },
      ],
      var.organization_id == null ? [] : [
        {
          Sid       = "AllowOrganization"
          Effect    = "Allow"
          Principal = "*"
          Action    = ["events:PutEvents"]
          Resource  = [local.bus_arn]
          Condition = { StringEquals = { "aws:PrincipalOrgID" = var.organization_id } }
        },
      ],
    )
  }
}

resource "aws_cloudwatch_event_bus" "this" {
  count = var.create_event_bus ? 1 : 0

  name = var.event_bus_name
  tags = var.tags
}

resource "aws_cloudwatch_event_bus_policy" "this" {
  event_bus_name = local.bus_name
  policy         = jsonencode(local.policy)

  lifecycle {
    precondition {
      condition     = length(var.source_account_ids) > 0 || var.organization_id != null
      error_message = "Set source_account_ids or organization_id: a bus policy needs at least one allowed sender."
    }
  }
}
