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

variable "tags" {
  description = "Tags applied to the bus."
  type        = map(string)
  default     = {}
}
