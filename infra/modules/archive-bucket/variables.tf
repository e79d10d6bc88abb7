variable "bucket_name" {
  description = "Exact name of the bucket to create. Leave null to let AWS derive a unique name from bucket_prefix."
  type        = string
  default     = null

  validation {
    condition     = var.bucket_name == null || can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.bucket_name))
    error_message = "bucket_name must be 3-63 characters of lowercase letters, digits, dots and hyphens, starting and ending with a letter or digit."
  }
}

variable "bucket_prefix" {
  description = "Prefix for a generated bucket name, used only when bucket_name is null."
  type        = string
  default     = "ecs-stop-archive-"

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9.-]{0,36}$", var.bucket_prefix))
    error_message = "bucket_prefix must be 1-37 characters of lowercase letters, digits, dots and hyphens, starting with a letter or digit."
  }
}

variable "kms_key_arn" {
  description = "ARN of a KMS key for SSE-KMS. Null means SSE-S3 (AES256)."
  type        = string
  default     = null

  validation {
    condition     = var.kms_key_arn == null || can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/[a-zA-Z0-9-]+$", var.kms_key_arn))
    error_message = "kms_key_arn must be a KMS key ARN (arn:<partition>:kms:<region>:<account>:key/<id>)."
  }
}

variable "force_destroy" {
  description = "Allow terraform destroy to delete a bucket that still holds objects (and their versions)."
  type        = bool
  default     = false
}

variable "transition_days" {
  description = "Days after creation when objects move to transition_storage_class. Null disables the transition."
  type        = number
  default     = 30

  validation {
    condition     = var.transition_days == null || try(var.transition_days >= 0 && floor(var.transition_days) == var.transition_days, false)
    error_message = "transition_days must be null or a whole number of days >= 0."
  }
}

variable "transition_storage_class" {
  description = "Storage class objects transition to after transition_days."
  type        = string
  default     = "STANDARD_IA"

  validation {
    condition     = contains(["STANDARD_IA", "ONEZONE_IA", "INTELLIGENT_TIERING", "GLACIER_IR", "GLACIER", "DEEP_ARCHIVE"], var.transition_storage_class)
    error_message = "transition_storage_class must be one of STANDARD_IA, ONEZONE_IA, INTELLIGENT_TIERING, GLACIER_IR, GLACIER, DEEP_ARCHIVE."
  }
}

variable "expiration_days" {
  description = "Days after creation when objects expire. Null keeps them forever."
  type        = number
  default     = 400

  validation {
    condition     = var.expiration_days == null || try(var.expiration_days >= 1 && floor(var.expiration_days) == var.expiration_days, false)
    error_message = "expiration_days must be null or a whole number of days >= 1."
  }
}

variable "noncurrent_version_expiration_days" {
  description = "Days after an object version becomes noncurrent (a newer version replaced it) when it is deleted. Null keeps old versions as long as expiration_days keeps objects (forever when that is null)."
  type        = number
  default     = null

  validation {
    condition     = var.noncurrent_version_expiration_days == null || try(var.noncurrent_version_expiration_days >= 1 && floor(var.noncurrent_version_expiration_days) == var.noncurrent_version_expiration_days, false)
    error_message = "noncurrent_version_expiration_days must be null or a whole number of days >= 1."
  }
}

variable "object_lock" {
  description = "S3 Object Lock in governance mode: every object version gets a default retention of retention_days, during which no one can delete it or overwrite it in place (a PUT to the same key adds a new version) unless they hold s3:BypassGovernanceRetention and ask to bypass. Null: no Object Lock."
  type = object({
    retention_days = number
  })
  default = null

  validation {
    condition     = var.object_lock == null || try(var.object_lock.retention_days >= 1 && var.object_lock.retention_days <= 36500 && floor(var.object_lock.retention_days) == var.object_lock.retention_days, false)
    error_message = "object_lock.retention_days must be a whole number of days between 1 and 36500."
  }
}

variable "access_log_bucket" {
  description = "Name of an existing bucket that receives S3 server access logs for this bucket. Null disables access logging."
  type        = string
  default     = null
}

variable "access_log_prefix" {
  description = "Key prefix for S3 server access logs in access_log_bucket."
  type        = string
  default     = "s3-access/"
}

variable "tags" {
  description = "Tags applied to the bucket."
  type        = map(string)
  default     = {}
}
