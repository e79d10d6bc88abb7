################################################################################
# General
################################################################################

variable "name" {
  description = "Name of the state machine and the worker function; also the prefix of their roles and log groups."
  type        = string
  default     = "ecs-stop-forwarder-replay"

  validation {
    condition     = can(regex("^[a-zA-Z0-9_-]{1,40}$", var.name))
    error_message = "name must be 1-40 characters of letters, digits, hyphens and underscores."
  }
}

variable "tags" {
  description = "Tags applied to every resource that supports them."
  type        = map(string)
  default     = {}
}

variable "kms_key_arn" {
  description = "ARN of a customer managed KMS key for the log groups and the worker's environment. Null uses AWS managed encryption. The key policy must let CloudWatch Logs use it."
  type        = string
  default     = null

  validation {
    condition     = var.kms_key_arn == null || can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/[a-zA-Z0-9-]+$", var.kms_key_arn))
    error_message = "kms_key_arn must be a KMS key ARN (arn:<partition>:kms:<region>:<account>:key/<id>)."
  }
}

variable "log_retention_in_days" {
  description = "Retention of the worker's and the state machine's CloudWatch log groups, in days."
  type        = number
  default     = 365

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_in_days)
    error_message = "log_retention_in_days must be one of 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653."
  }
}

variable "state_machine_log_level" {
  description = "Which execution history events of the state machine (and its Express child workflows) go to its log group, with their data (batch inputs are S3 keys; a failed batch's error holds its counts and what the vendor answered, never a key). ALL logs every state of every batch: much more log volume in a backfill."
  type        = string
  default     = "ERROR"

  validation {
    condition     = contains(["ALL", "ERROR", "FATAL"], var.state_machine_log_level)
    error_message = "state_machine_log_level must be one of ALL, ERROR, FATAL."
  }
}

################################################################################
# Worker function (the same zip as the forwarder: forwarder.replay_worker.lambda_handler)
################################################################################

variable "package_path" {
  description = "Path of the deployment zip built by `make package` (the forwarder's: the worker is a second entry point in it). Null means dist/lambda.zip at the repository root."
  type        = string
  default     = null
}

variable "runtime" {
  description = "Lambda Python runtime of the worker."
  type        = string
  default     = "python3.12"

  validation {
    condition     = contains(["python3.12", "python3.13"], var.runtime)
    error_message = "runtime must be one of python3.12, python3.13."
  }
}

variable "architecture" {
  description = "Instruction set of the worker."
  type        = string
  default     = "arm64"

  validation {
    condition     = contains(["arm64", "x86_64"], var.architecture)
    error_message = "architecture must be one of arm64, x86_64."
  }
}

variable "memory_size" {
  description = "Memory of the worker in MiB (CPU grows with it: reading and encoding a batch is CPU-bound)."
  type        = number
  default     = 1024

  validation {
    condition     = var.memory_size >= 256 && var.memory_size <= 10240 && floor(var.memory_size) == var.memory_size
    error_message = "memory_size must be a whole number of MiB between 256 and 10240."
  }
}

variable "worker_timeout" {
  description = "Timeout of one worker invocation in seconds. At most 60: a batch's child workflow is an Express workflow (five minutes at most) and retries the worker up to three times with backoff."
  type        = number
  default     = 60

  validation {
    condition     = var.worker_timeout >= 15 && var.worker_timeout <= 60 && floor(var.worker_timeout) == var.worker_timeout
    error_message = "worker_timeout must be a whole number of seconds between 15 and 60 (an Express child workflow runs at most five minutes, retries included)."
  }
}

variable "reserved_concurrent_executions" {
  description = "Concurrency reserved for the worker, which also caps it: no run can have more batches in flight than this, whatever its MaxConcurrency. Null leaves it unreserved (shares the account pool)."
  type        = number
  default     = null

  validation {
    condition     = var.reserved_concurrent_executions == null || try(var.reserved_concurrent_executions >= 1 && floor(var.reserved_concurrent_executions) == var.reserved_concurrent_executions, false)
    error_message = "reserved_concurrent_executions must be null or a whole number >= 1."
  }
}

################################################################################
# Archive (read) and results (written)
################################################################################

variable "archive_bucket_name" {
  description = "Bucket holding the archive to replay (this tool's archive or a Firehose backup)."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.archive_bucket_name))
    error_message = "archive_bucket_name must be 3-63 characters of lowercase letters, digits, dots and hyphens, starting and ending with a letter or digit."
  }
}

variable "archive_prefix" {
  description = "Key prefix of the archive (YYYY/MM/DD/HH/ folders below it). The state machine lists and the worker reads nothing else."
  type        = string
  default     = "ecs-task-stop-log/"

  validation {
    condition     = can(regex("^[a-zA-Z0-9!_.*'()/-]+/$", var.archive_prefix))
    error_message = "archive_prefix must be a non-empty S3 key prefix ending with /."
  }
}

variable "archive_kms_key_arn" {
  description = "ARN of the KMS key the archive's objects are encrypted with (SSE-KMS); the worker gets kms:Decrypt on it. Null for SSE-S3."
  type        = string
  default     = null

  validation {
    condition     = var.archive_kms_key_arn == null || can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/[a-zA-Z0-9-]+$", var.archive_kms_key_arn))
    error_message = "archive_kms_key_arn must be a KMS key ARN (arn:<partition>:kms:<region>:<account>:key/<id>)."
  }
}

variable "results_bucket_name" {
  description = "Existing bucket for the runs' results (Map Run results, per-run checkpoints, the control document). Null uses the archive bucket."
  type        = string
  default     = null

  validation {
    condition     = var.results_bucket_name == null || can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", coalesce(var.results_bucket_name, "ok-bucket")))
    error_message = "results_bucket_name must be 3-63 characters of lowercase letters, digits, dots and hyphens, starting and ending with a letter or digit."
  }
}

variable "results_prefix" {
  description = "Key prefix of the runs' results; each run writes under <results_prefix><run id>/. Must not be inside archive_prefix."
  type        = string
  default     = "ecs-stop-forwarder-replay/"

  validation {
    condition     = can(regex("^[a-zA-Z0-9!_.*'()/-]+/$", var.results_prefix))
    error_message = "results_prefix must be a non-empty S3 key prefix ending with /."
  }
}

variable "results_kms_key_arn" {
  description = "ARN of the KMS key the results bucket encrypts with (SSE-KMS); the state machine and the worker get kms:GenerateDataKey and kms:Decrypt on it, and the worker writes checkpoints with it. Null for SSE-S3."
  type        = string
  default     = null

  validation {
    condition     = var.results_kms_key_arn == null || can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/[a-zA-Z0-9-]+$", var.results_kms_key_arn))
    error_message = "results_kms_key_arn must be a KMS key ARN (arn:<partition>:kms:<region>:<account>:key/<id>)."
  }
}

################################################################################
# Vendor keys (by reference only) and vendor settings: as the forwarder's
################################################################################

variable "datadog_api_key_secret_arn" {
  description = "ARN of the Secrets Manager secret holding the Datadog API key (plain string or JSON with api_key) (DD_API_KEY_SECRET_ARN)."
  type        = string
  default     = null

  validation {
    condition     = var.datadog_api_key_secret_arn == null || can(regex("^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:[0-9]{12}:secret:[a-zA-Z0-9/_+=.@-]+$", var.datadog_api_key_secret_arn))
    error_message = "datadog_api_key_secret_arn must be a Secrets Manager secret ARN (arn:<partition>:secretsmanager:<region>:<account>:secret:<name>)."
  }
}

variable "datadog_api_key_ssm_parameter" {
  description = "Name of the SSM SecureString parameter holding the Datadog API key (DD_API_KEY_SSM_PARAMETER)."
  type        = string
  default     = null

  validation {
    condition     = var.datadog_api_key_ssm_parameter == null || can(regex("^/?[a-zA-Z0-9_.-]+(/[a-zA-Z0-9_.-]+)*$", var.datadog_api_key_ssm_parameter))
    error_message = "datadog_api_key_ssm_parameter must be an SSM parameter name (letters, digits, _ . - and / separators), not an ARN."
  }
}

variable "datadog_site" {
  description = "Datadog site (DD_SITE). Null keeps the forwarder's default (datadoghq.com)."
  type        = string
  default     = null

  validation {
    condition     = var.datadog_site == null || contains(["datadoghq.com", "us3.datadoghq.com", "us5.datadoghq.com", "datadoghq.eu", "ap1.datadoghq.com", "ap2.datadoghq.com", "uk1.datadoghq.com", "ddog-gov.com"], coalesce(var.datadog_site, "datadoghq.com"))
    error_message = "datadog_site must be one of datadoghq.com, us3.datadoghq.com, us5.datadoghq.com, datadoghq.eu, ap1.datadoghq.com, ap2.datadoghq.com, uk1.datadoghq.com, ddog-gov.com."
  }
}

variable "datadog_tags" {
  description = "Tags added to every replayed Datadog log, as key:value strings (DD_TAGS, comma-joined)."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for t in var.datadog_tags : length(t) > 0 && !strcontains(t, ",")])
    error_message = "datadog_tags must contain non-empty tags without commas."
  }
}

variable "newrelic_license_key_secret_arn" {
  description = "ARN of the Secrets Manager secret holding the New Relic license key (NEW_RELIC_LICENSE_KEY_SECRET_ARN)."
  type        = string
  default     = null

  validation {
    condition     = var.newrelic_license_key_secret_arn == null || can(regex("^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:[0-9]{12}:secret:[a-zA-Z0-9/_+=.@-]+$", var.newrelic_license_key_secret_arn))
    error_message = "newrelic_license_key_secret_arn must be a Secrets Manager secret ARN (arn:<partition>:secretsmanager:<region>:<account>:secret:<name>)."
  }
}

variable "newrelic_license_key_ssm_parameter" {
  description = "Name of the SSM SecureString parameter holding the New Relic license key (NEW_RELIC_LICENSE_KEY_SSM_PARAMETER)."
  type        = string
  default     = null

  validation {
    condition     = var.newrelic_license_key_ssm_parameter == null || can(regex("^/?[a-zA-Z0-9_.-]+(/[a-zA-Z0-9_.-]+)*$", var.newrelic_license_key_ssm_parameter))
    error_message = "newrelic_license_key_ssm_parameter must be an SSM parameter name (letters, digits, _ . - and / separators), not an ARN."
  }
}

variable "newrelic_region" {
  description = "New Relic data center (NEW_RELIC_REGION). Null keeps the forwarder's default (US)."
  type        = string
  default     = null

  validation {
    condition     = var.newrelic_region == null || contains(["US", "EU", "FEDRAMP"], coalesce(var.newrelic_region, "US"))
    error_message = "newrelic_region must be one of US, EU, FEDRAMP."
  }
}

variable "key_kms_key_arns" {
  description = "ARNs of customer managed KMS keys that encrypt the vendor key secrets or parameters; the worker gets kms:Decrypt on them. Not needed for AWS managed keys."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for arn in var.key_kms_key_arns : can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/[a-zA-Z0-9-]+$", arn))])
    error_message = "key_kms_key_arns must contain KMS key ARNs (arn:<partition>:kms:<region>:<account>:key/<id>)."
  }
}
