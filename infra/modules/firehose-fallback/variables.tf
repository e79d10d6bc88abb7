################################################################################
# Names (defaults are the source article's)
################################################################################

variable "stream_name" {
  description = "Name of the Firehose delivery stream."
  type        = string
  default     = "ecs-task-stop-log"

  validation {
    condition     = can(regex("^[a-zA-Z0-9_.-]{1,64}$", var.stream_name))
    error_message = "stream_name must be 1-64 characters of letters, digits, underscores, hyphens and periods."
  }
}

variable "firehose_role_name" {
  description = "Name of the IAM role Firehose assumes."
  type        = string
  default     = "ecs-task-stop-log-firehose-role"
}

variable "firehose_role_path" {
  description = "Path of the IAM role Firehose assumes."
  type        = string
  default     = "/service-role/"

  validation {
    condition     = can(regex("^/([a-zA-Z0-9+=,.@_-]+/)*$", var.firehose_role_path))
    error_message = "firehose_role_path must start and end with / (for example /service-role/)."
  }
}

variable "events_role_name" {
  description = "Name of the IAM role EventBridge assumes to put records into the stream."
  type        = string
  default     = "event-bridge-to-firehose-role"
}

variable "rule_name" {
  description = "Name of the EventBridge rule."
  type        = string
  default     = "ecs-task-stop-rule"
}

variable "rule_description" {
  description = "Description of the EventBridge rule."
  type        = string
  default     = "Capture ECS task stop events"
}

variable "event_bus_name" {
  description = "Name or ARN of the event bus the rule listens on."
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

variable "tags" {
  description = "Tags applied to every resource that supports them."
  type        = map(string)
  default     = {}
}

################################################################################
# Vendor endpoint
################################################################################

variable "vendor" {
  description = "Observability vendor the stream delivers to."
  type        = string

  validation {
    condition     = contains(["datadog", "newrelic"], var.vendor)
    error_message = "vendor must be one of datadog, newrelic."
  }
}

variable "datadog_site" {
  description = "Datadog site; selects https://aws-kinesis-http-intake.logs.<site>/v1/input."
  type        = string
  default     = "datadoghq.com"

  validation {
    condition     = contains(["datadoghq.com", "us3.datadoghq.com", "us5.datadoghq.com", "datadoghq.eu", "ap1.datadoghq.com", "ap2.datadoghq.com", "uk1.datadoghq.com", "ddog-gov.com"], var.datadog_site)
    error_message = "datadog_site must be one of datadoghq.com, us3.datadoghq.com, us5.datadoghq.com, datadoghq.eu, ap1.datadoghq.com, ap2.datadoghq.com, uk1.datadoghq.com, ddog-gov.com."
  }
}

variable "newrelic_region" {
  description = "New Relic data center; selects the US or EU Firehose intake."
  type        = string
  default     = "US"

  validation {
    condition     = contains(["US", "EU"], var.newrelic_region)
    error_message = "newrelic_region must be one of US, EU."
  }
}

variable "endpoint_url" {
  description = "Full HTTPS intake URL overriding the one derived from vendor and site/region."
  type        = string
  default     = null

  validation {
    condition     = var.endpoint_url == null || can(regex("^https://[^\\s:/]+(/[^\\s]*)?$", var.endpoint_url))
    error_message = "endpoint_url must be an https:// URL on the default port 443."
  }
}

variable "api_key_secret_arn" {
  description = "ARN of the Secrets Manager secret whose JSON {\"api_key\": ...} Firehose sends as the vendor key."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:[0-9]{12}:secret:[a-zA-Z0-9/_+=.@-]+$", var.api_key_secret_arn))
    error_message = "api_key_secret_arn must be a Secrets Manager secret ARN (arn:<partition>:secretsmanager:<region>:<account>:secret:<name>)."
  }
}

variable "api_key_secret_kms_key_arn" {
  description = "ARN of the customer managed KMS key encrypting the secret, if any; Firehose gets kms:Decrypt on it."
  type        = string
  default     = null

  validation {
    condition     = var.api_key_secret_kms_key_arn == null || can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/[a-zA-Z0-9-]+$", var.api_key_secret_kms_key_arn))
    error_message = "api_key_secret_kms_key_arn must be a KMS key ARN (arn:<partition>:kms:<region>:<account>:key/<id>)."
  }
}

################################################################################
# Delivery
################################################################################

variable "buffering_size" {
  description = "HTTP endpoint buffer size in MiB."
  type        = number
  default     = 1

  validation {
    condition     = var.buffering_size >= 1 && var.buffering_size <= 64 && floor(var.buffering_size) == var.buffering_size
    error_message = "buffering_size must be a whole number of MiB between 1 and 64."
  }
}

variable "buffering_interval" {
  description = "HTTP endpoint buffer interval in seconds. 0 disables buffering for HTTP endpoints (delivery within seconds)."
  type        = number
  default     = 60

  validation {
    condition     = var.buffering_interval >= 0 && var.buffering_interval <= 900 && floor(var.buffering_interval) == var.buffering_interval
    error_message = "buffering_interval must be a whole number of seconds between 0 and 900."
  }
}

variable "retry_duration" {
  description = "How long Firehose retries a failed HTTP delivery, in seconds, before giving up (the data stays in the S3 backup)."
  type        = number
  default     = 300

  validation {
    condition     = var.retry_duration >= 0 && var.retry_duration <= 7200 && floor(var.retry_duration) == var.retry_duration
    error_message = "retry_duration must be a whole number of seconds between 0 and 7200."
  }
}

variable "enable_server_side_encryption" {
  description = "Encrypt records at rest inside Firehose (DirectPut source)."
  type        = bool
  default     = true
}

variable "kms_key_arn" {
  description = "Customer managed KMS key for Firehose server-side encryption and the log group. Null uses AWS owned/managed keys."
  type        = string
  default     = null

  validation {
    condition     = var.kms_key_arn == null || can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/[a-zA-Z0-9-]+$", var.kms_key_arn))
    error_message = "kms_key_arn must be a KMS key ARN (arn:<partition>:kms:<region>:<account>:key/<id>)."
  }
}

################################################################################
# S3 backup
################################################################################

variable "create_backup_bucket" {
  description = "Create a hardened backup bucket. When false, backup_bucket_name must name an existing bucket."
  type        = bool
  default     = true
}

variable "backup_bucket_name" {
  description = "Name of the backup bucket: the bucket to create (null derives a unique name) or the existing bucket to use."
  type        = string
  default     = null

  validation {
    condition     = var.backup_bucket_name == null || can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.backup_bucket_name))
    error_message = "backup_bucket_name must be 3-63 characters of lowercase letters, digits, dots and hyphens, starting and ending with a letter or digit."
  }
}

variable "backup_prefix" {
  description = "Key prefix of the GZIP backup objects (Firehose appends YYYY/MM/DD/HH/)."
  type        = string
  default     = "ecs-task-stop-log/"

  validation {
    condition     = can(regex("^[a-zA-Z0-9!_.'()/-]+/$", var.backup_prefix))
    error_message = "backup_prefix must be a non-empty S3 key prefix ending with / (letters, digits and !_.'()/-; no *, which would widen the IAM resource)."
  }
}

variable "backup_error_output_prefix" {
  description = "Key prefix under which Firehose writes records it failed to deliver (Firehose appends YYYY/MM/DD/HH/). Must not lie inside backup_prefix, so a replay of the backup does not read error documents."
  type        = string
  default     = "ecs-task-stop-log-failed/"

  validation {
    condition     = can(regex("^[a-zA-Z0-9!_.'()/-]+/$", var.backup_error_output_prefix))
    error_message = "backup_error_output_prefix must be a non-empty S3 key prefix ending with / (letters, digits and !_.'()/-; no *)."
  }
}

variable "backup_bucket_kms_key_arn" {
  description = "KMS key for SSE-KMS of backup objects. Null means SSE-S3."
  type        = string
  default     = null

  validation {
    condition     = var.backup_bucket_kms_key_arn == null || can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/[a-zA-Z0-9-]+$", var.backup_bucket_kms_key_arn))
    error_message = "backup_bucket_kms_key_arn must be a KMS key ARN (arn:<partition>:kms:<region>:<account>:key/<id>)."
  }
}

variable "backup_access_log_bucket" {
  description = "Existing bucket receiving S3 server access logs of the created backup bucket. Null disables access logging."
  type        = string
  default     = null

  validation {
    condition     = var.backup_access_log_bucket == null || can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.backup_access_log_bucket))
    error_message = "backup_access_log_bucket must be a bucket name (3-63 lowercase letters, digits, dots and hyphens)."
  }
}

variable "backup_object_lock" {
  description = "S3 Object Lock (governance mode) on the created backup bucket: each backup object cannot be deleted or overwritten for retention_days. Null: no Object Lock."
  type = object({
    retention_days = number
  })
  default = null

  validation {
    condition     = var.backup_object_lock == null || try(var.backup_object_lock.retention_days >= 1 && var.backup_object_lock.retention_days <= 36500 && floor(var.backup_object_lock.retention_days) == var.backup_object_lock.retention_days, false)
    error_message = "backup_object_lock.retention_days must be a whole number of days between 1 and 36500."
  }
}

variable "backup_force_destroy" {
  description = "Let terraform destroy delete the created backup bucket with its objects."
  type        = bool
  default     = false
}

################################################################################
# Rule target: retries and dead letters
################################################################################

variable "create_dead_letter_queue" {
  description = "Create an SQS dead-letter queue (SSE-SQS, 14 days) for events EventBridge could not put into the stream after its retries, with an alarm when create_alarms is true."
  type        = bool
  default     = true
}

variable "event_retry_attempts" {
  description = "How many times EventBridge retries putting an event into the stream before it goes to the dead-letter queue."
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

################################################################################
# Logging and alarms
################################################################################

variable "log_retention_in_days" {
  description = "Retention of the delivery-error log group, in days."
  type        = number
  default     = 365

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_in_days)
    error_message = "log_retention_in_days must be one of 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653."
  }
}

variable "create_alarms" {
  description = "Create CloudWatch alarms on failed and stale deliveries."
  type        = bool
  default     = true
}

variable "alarm_sns_topic_arn" {
  description = "SNS topic notified when an alarm fires or recovers. Null creates alarms without actions."
  type        = string
  default     = null

  validation {
    condition     = var.alarm_sns_topic_arn == null || can(regex("^arn:aws[a-z-]*:sns:[a-z0-9-]+:[0-9]{12}:[a-zA-Z0-9_-]{1,256}$", var.alarm_sns_topic_arn))
    error_message = "alarm_sns_topic_arn must be an SNS topic ARN (arn:<partition>:sns:<region>:<account>:<name>)."
  }
}

variable "data_freshness_threshold_seconds" {
  description = "Alarm when the oldest undelivered record is older than this many seconds."
  type        = number
  default     = 900

  validation {
    condition     = var.data_freshness_threshold_seconds >= 60 && floor(var.data_freshness_threshold_seconds) == var.data_freshness_threshold_seconds
    error_message = "data_freshness_threshold_seconds must be a whole number of seconds >= 60."
  }
}
