variable "target_event_bus_arn" {
  description = "ARN of the central event bus that receives the STOPPED events (see modules/central-bus)."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:events:[a-z0-9-]+:[0-9]{12}:event-bus/[a-zA-Z0-9._/-]{1,256}$", var.target_event_bus_arn))
    error_message = "target_event_bus_arn must be an EventBridge event bus ARN (arn:<partition>:events:<region>:<account>:event-bus/<name>)."
  }
}

variable "rule_name" {
  description = "Name of the rule in this (member) account and region."
  type        = string
  default     = "ecs-task-stop-to-central-bus"

  validation {
    condition     = can(regex("^[a-zA-Z0-9._-]{1,64}$", var.rule_name))
    error_message = "rule_name must be 1-64 characters of letters, digits, periods, hyphens and underscores."
  }
}

variable "role_name" {
  description = "Name of the IAM role EventBridge assumes to put events on the central bus. IAM is global: give each region its own name."
  type        = string
  default     = "ecs-task-stop-to-central-bus"

  validation {
    condition     = can(regex("^[a-zA-Z0-9+=,.@_-]{1,64}$", var.role_name))
    error_message = "role_name must be 1-64 characters of letters, digits and +=,.@_-."
  }
}

variable "event_bus_name" {
  description = "Name of the bus in this account where ECS publishes its events."
  type        = string
  default     = "default"
}

variable "cluster_arns" {
  description = "Only forward tasks of these ECS clusters (matched on detail.clusterArn). Empty forwards every cluster."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for arn in var.cluster_arns : can(regex("^arn:aws[a-z-]*:ecs:[a-z0-9-]+:[0-9]{12}:cluster/[a-zA-Z0-9_-]{1,255}$", arn))])
    error_message = "cluster_arns must contain ECS cluster ARNs (arn:<partition>:ecs:<region>:<account>:cluster/<name>)."
  }
}

variable "create_dead_letter_queue" {
  description = "Create an SQS dead-letter queue (SSE-SQS, 14 days) for events EventBridge could not put on the central bus, with an alarm when create_alarms is true. Ignored when dead_letter_queue_arn is given."
  type        = bool
  default     = true
}

variable "event_retry_attempts" {
  description = "How many times EventBridge retries putting an event on the central bus before it goes to the dead-letter queue."
  type        = number
  default     = 185

  validation {
    condition     = var.event_retry_attempts >= 0 && var.event_retry_attempts <= 185 && floor(var.event_retry_attempts) == var.event_retry_attempts
    error_message = "event_retry_attempts must be a whole number between 0 and 185."
  }
}

variable "event_maximum_age_seconds" {
  description = "How long EventBridge keeps retrying an event before it goes to the dead-letter queue."
  type        = number
  default     = 86400

  validation {
    condition     = var.event_maximum_age_seconds >= 60 && var.event_maximum_age_seconds <= 86400 && floor(var.event_maximum_age_seconds) == var.event_maximum_age_seconds
    error_message = "event_maximum_age_seconds must be a whole number between 60 and 86400."
  }
}

variable "create_alarms" {
  description = "Create a CloudWatch alarm on the created dead-letter queue."
  type        = bool
  default     = true
}

variable "alarm_sns_topic_arn" {
  description = "SNS topic notified when the dead-letter alarm fires or recovers. Null creates the alarm without actions."
  type        = string
  default     = null

  validation {
    condition     = var.alarm_sns_topic_arn == null || can(regex("^arn:aws[a-z-]*:sns:[a-z0-9-]+:[0-9]{12}:[a-zA-Z0-9_-]{1,256}$", var.alarm_sns_topic_arn))
    error_message = "alarm_sns_topic_arn must be an SNS topic ARN (arn:<partition>:sns:<region>:<account>:<name>)."
  }
}

variable "dead_letter_queue_arn" {
  description = "Existing SQS queue (in this account and region) for events EventBridge could not put on the central bus, instead of the one create_dead_letter_queue creates. Its queue policy must allow events.amazonaws.com."
  type        = string
  default     = null

  validation {
    condition     = var.dead_letter_queue_arn == null || can(regex("^arn:aws[a-z-]*:sqs:[a-z0-9-]+:[0-9]{12}:[a-zA-Z0-9_-]{1,80}$", var.dead_letter_queue_arn))
    error_message = "dead_letter_queue_arn must be an SQS queue ARN (arn:<partition>:sqs:<region>:<account>:<name>)."
  }
}

variable "tags" {
  description = "Tags applied to every resource that supports them."
  type        = map(string)
  default     = {}
}
