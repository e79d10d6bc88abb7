variable "create_event_bus" {
  description = "Create a dedicated event bus. When false, the policy is attached to event_bus_name, which must exist (\"default\" always does)."
  type        = bool
  default     = true
}

variable "event_bus_name" {
  description = "Name of the central event bus."
  type        = string
  default     = "ecs-task-stop"

  validation {
    condition     = can(regex("^[a-zA-Z0-9._-]{1,256}$", var.event_bus_name))
    error_message = "event_bus_name must be 1-256 characters of letters, digits, periods, hyphens and underscores."
  }
}

variable "source_account_ids" {
  description = "AWS account IDs allowed to put events on the bus."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for id in var.source_account_ids : can(regex("^[0-9]{12}$", id))])
    error_message = "source_account_ids must contain 12-digit AWS account IDs."
  }
}

variable "organization_id" {
  description = "AWS Organizations ID whose accounts may put events on the bus. Null allows only source_account_ids."
  type        = string
  default     = null

  validation {
    condition     = var.organization_id == null || can(regex("^o-[a-z0-9]{10,32}$", var.organization_id))
    error_message = "organization_id must look like o-xxxxxxxxxx (10-32 lowercase letters or digits after o-)."
  }
}

variable "allowed_sources" {
  description = "Event sources (events:source) the senders may put on the bus; every entry of a PutEvents request must have one of them."
  type        = list(string)
  default     = ["aws.ecs"]

  validation {
    condition     = length(var.allowed_sources) > 0 && alltrue([for v in var.allowed_sources : length(v) > 0 && !strcontains(v, "*")])
    error_message = "allowed_sources must be a non-empty list of exact event sources (no *)."
  }
}

variable "allowed_detail_types" {
  description = "Event detail-types (events:detail-type) the senders may put on the bus; every entry of a PutEvents request must have one of them."
  type        = list(string)
  default     = ["ECS Task State Change"]

  validation {
    condition     = length(var.allowed_detail_types) > 0 && alltrue([for v in var.allowed_detail_types : length(v) > 0 && !strcontains(v, "*")])
    error_message = "allowed_detail_types must be a non-empty list of exact detail-types (no *)."
  }
}

variable "existing_policy_json" {
  description = "With create_event_bus = false (required then): the existing bus's current policy, whose statements are kept, because the bus policy resource replaces the whole policy. Statements with this module's Sids (AllowSourceAccounts, AllowOrganization) are replaced."
  type        = string
  default     = null

  validation {
    condition     = var.existing_policy_json == null || can(tolist(jsondecode(var.existing_policy_json).Statement))
    error_message = "existing_policy_json must be a JSON policy document with a Statement list."
  }
}

variable "tags" {
  description = "Tags applied to the bus."
  type        = map(string)
  default     = {}
}
