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

  # Every Allow is limited to the events this bus is for (issue #25, item 1). events:source and
  # events:detail-type hold the values of every entry of a PutEvents request, so
  # ForAllValues:StringEquals admits a request only if each entry is allowed; the Null check
  # refuses a request where a key is absent, which ForAllValues alone would let through.
  event_condition = {
    "ForAllValues:StringEquals" = {
      "events:source"      = var.allowed_sources
      "events:detail-type" = var.allowed_detail_types
    }
    Null = { "events:source" = "false", "events:detail-type" = "false" }
  }

  own_statements = concat(
    length(var.source_account_ids) == 0 ? [] : [
      {
        Sid       = "AllowSourceAccounts"
        Effect    = "Allow"
        Principal = { AWS = [for id in var.source_account_ids : "arn:${data.aws_partition.current.partition}:iam::${id}:root"] }
        Action    = ["events:PutEvents"]
        Resource  = [local.bus_arn]
        Condition = local.event_condition
      },
    ],
    var.organization_id == null ? [] : [
      {
        Sid       = "AllowOrganization"
        Effect    = "Allow"
        Principal = "*"
        Action    = ["events:PutEvents"]
        Resource  = [local.bus_arn]
        Condition = merge(local.event_condition, { StringEquals = { "aws:PrincipalOrgID" = var.organization_id } })
      },
    ],
  )
  own_sids = ["AllowSourceAccounts", "AllowOrganization"]

  # An event bus has one policy document, and aws_cloudwatch_event_bus_policy replaces all of
  # it. On an existing bus (default) the statements already there are kept from
  # existing_policy_json, except earlier versions of this module's own.
  existing_statements = var.existing_policy_json == null ? [] : [
    for s in jsondecode(var.existing_policy_json).Statement : s if !contains(local.own_sids, try(s.Sid, ""))
  ]

  policy = {
    Version   = "2012-10-17"
    Statement = concat(local.existing_statements, local.own_statements)
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
    precondition {
      condition     = var.create_event_bus || var.existing_policy_json != null
      error_message = "create_event_bus = false: this module's policy replaces the whole policy of the existing bus. Set existing_policy_json to its current policy (aws events describe-event-bus --name <bus> --query Policy --output text), or to {\"Version\":\"2012-10-17\",\"Statement\":[]} if it has none, so the statements already there are kept."
    }
  }
}
