################################################################################
# General
################################################################################

variable "name" {
  description = "Name of the function; also the prefix of the rule, role, queue and alarms."
  type        = string
  default     = "ecs-stop-forwarder"

  validation {
    condition     = can(regex("^[a-zA-Z0-9_-]{1,48}$", var.name))
    error_message = "name must be 1-48 characters of letters, digits, hyphens and underscores."
  }
}

variable "tags" {
  description = "Tags applied to every resource that supports them."
  type        = map(string)
  default     = {}
}

variable "kms_key_arn" {
  description = "ARN of a customer managed KMS key for the log group, the on-failure queue and the function's environment. Null uses AWS managed encryption. The key policy must let CloudWatch Logs use it."
  type        = string
  default     = null

  validation {
    condition     = var.kms_key_arn == null || can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/[a-zA-Z0-9-]+$", var.kms_key_arn))
    error_message = "kms_key_arn must be a KMS key ARN (arn:<partition>:kms:<region>:<account>:key/<id>)."
  }
}

################################################################################
# Function
################################################################################

variable "package_path" {
  description = "Path of the deployment zip built by `make package`. Null means dist/lambda.zip at the repository root. Ignored when package_s3 is set."
  type        = string
  default     = null
}

variable "package_s3" {
  description = "The deployment zip in S3 instead of package_path: bucket, key and (recommended) object_version. Use it for the signed zip AWS Signer writes to S3 when code signing is on."
  type = object({
    bucket         = string
    key            = string
    object_version = optional(string)
  })
  default = null

  validation {
    condition     = var.package_s3 == null || try(can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.package_s3.bucket)) && length(var.package_s3.key) > 0, false)
    error_message = "package_s3 must name a bucket (3-63 lowercase letters, digits, dots and hyphens) and a non-empty key."
  }
}

variable "package_manifest_path" {
  description = "Path of the manifest `make package` writes beside the zip (`<zip>.json`), read at plan time to check that the zip was built for runtime. Null means `<package_path>.json`; with package_s3, the manifest of the zip you uploaded. See verify_package_runtime."
  type        = string
  default     = null
}

variable "verify_package_runtime" {
  description = "Refuse a package whose manifest records another Python runtime than runtime (its bytecode would be ignored), and a package without a manifest. A source-only zip (manifest runtime null) is accepted with either runtime. False skips the check, for a zip built without `make package`."
  type        = bool
  default     = true
}

variable "code_signing_config_arn" {
  description = "ARN of an existing Lambda code signing config (for example one your organization manages) the function must use. Null and no code_signing_profile_version_arns: no code signing."
  type        = string
  default     = null

  validation {
    condition     = var.code_signing_config_arn == null || can(regex("^arn:aws[a-z-]*:lambda:[a-z0-9-]+:[0-9]{12}:code-signing-config:csc-[a-z0-9]{17}$", var.code_signing_config_arn))
    error_message = "code_signing_config_arn must be a Lambda code signing config ARN (arn:<partition>:lambda:<region>:<account>:code-signing-config:csc-<17 characters>)."
  }
}

variable "code_signing_profile_version_arns" {
  description = "AWS Signer signing profile version ARNs allowed to sign the function's code. Non-empty creates a code signing config that rejects (Enforce) any deployment not signed by one of them."
  type        = list(string)
  default     = []

  validation {
    condition     = length(var.code_signing_profile_version_arns) <= 20 && alltrue([for arn in var.code_signing_profile_version_arns : can(regex("^arn:aws[a-z-]*:signer:[a-z0-9-]+:[0-9]{12}:/signing-profiles/[a-zA-Z0-9_]{2,64}/[a-zA-Z0-9]{10}$", arn))])
    error_message = "code_signing_profile_version_arns must hold at most 20 AWS Signer profile version ARNs (arn:<partition>:signer:<region>:<account>:/signing-profiles/<name>/<version>)."
  }
}

variable "runtime" {
  description = "Lambda Python runtime."
  type        = string
  default     = "python3.12"

  validation {
    condition     = contains(["python3.12", "python3.13"], var.runtime)
    error_message = "runtime must be one of python3.12, python3.13."
  }
}

variable "architecture" {
  description = "Instruction set of the function."
  type        = string
  default     = "arm64"

  validation {
    condition     = contains(["arm64", "x86_64"], var.architecture)
    error_message = "architecture must be one of arm64, x86_64."
  }
}

variable "memory_size" {
  description = "Memory of the function in MiB."
  type        = number
  default     = 256

  validation {
    condition     = var.memory_size >= 128 && var.memory_size <= 10240 && floor(var.memory_size) == var.memory_size
    error_message = "memory_size must be a whole number of MiB between 128 and 10240."
  }
}

variable "timeout" {
  description = "Timeout of one invocation in seconds."
  type        = number
  default     = 60

  validation {
    condition     = var.timeout >= 1 && var.timeout <= 900 && floor(var.timeout) == var.timeout
    error_message = "timeout must be a whole number of seconds between 1 and 900."
  }
}

variable "reserved_concurrent_executions" {
  description = "Concurrency reserved for the function: always available to it, and the most it may use. Null leaves it unreserved (shares the account pool, needed in accounts whose concurrency limit leaves no room to reserve). 0 is rejected: it silently stops every invocation; disable the rule to pause forwarding."
  type        = number
  default     = 10

  validation {
    condition     = var.reserved_concurrent_executions == null || try(var.reserved_concurrent_executions >= 1 && floor(var.reserved_concurrent_executions) == var.reserved_concurrent_executions, false)
    error_message = "reserved_concurrent_executions must be null or a whole number >= 1 (0 would stop the function)."
  }
}

variable "ephemeral_storage_size" {
  description = "Size of the function's /tmp in MiB (the forwarder writes nothing there). At most 512 with snap_start: Lambda SnapStart does not support more."
  type        = number
  default     = 512

  validation {
    condition     = var.ephemeral_storage_size >= 512 && var.ephemeral_storage_size <= 10240 && floor(var.ephemeral_storage_size) == var.ephemeral_storage_size
    error_message = "ephemeral_storage_size must be a whole number of MiB between 512 and 10240."
  }
}

variable "snap_start" {
  description = "Lambda SnapStart: each change publishes a version that Lambda initializes and snapshots; EventBridge invokes it through the alias live, restored from the snapshot instead of a cold start, with the handler forwarder.snapstart.lambda_handler. Costs a cache charge per published version and a charge per restore (README). Not with ephemeral_storage_size above 512."
  type        = bool
  default     = false
}

variable "log_retention_in_days" {
  description = "Retention of the function's CloudWatch log group, in days."
  type        = number
  default     = 365

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_in_days)
    error_message = "log_retention_in_days must be one of 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653."
  }
}

variable "application_log_level" {
  description = "Minimum level of the function's own JSON log lines that CloudWatch keeps."
  type        = string
  default     = "INFO"

  validation {
    condition     = contains(["TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"], var.application_log_level)
    error_message = "application_log_level must be one of TRACE, DEBUG, INFO, WARN, ERROR, FATAL."
  }
}

################################################################################
# Trigger
################################################################################

variable "event_bus_name" {
  description = "Name or ARN of the event bus the rule listens on (\"default\" in the account, or a central bus fed by cross-account-source)."
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

################################################################################
# Asynchronous invocation
################################################################################

variable "maximum_retry_attempts" {
  description = "How many times Lambda retries a failed asynchronous invocation."
  type        = number
  default     = 2

  validation {
    condition     = contains([0, 1, 2], var.maximum_retry_attempts)
    error_message = "maximum_retry_attempts must be 0, 1 or 2."
  }
}

variable "maximum_event_age_in_seconds" {
  description = "How long Lambda keeps an event for retries before sending it to the on-failure queue."
  type        = number
  default     = 21600

  validation {
    condition     = var.maximum_event_age_in_seconds >= 60 && var.maximum_event_age_in_seconds <= 21600 && floor(var.maximum_event_age_in_seconds) == var.maximum_event_age_in_seconds
    error_message = "maximum_event_age_in_seconds must be a whole number between 60 and 21600."
  }
}

variable "failure_queue_message_retention_seconds" {
  description = "How long the on-failure queue keeps a failed event."
  type        = number
  default     = 1209600

  validation {
    condition     = var.failure_queue_message_retention_seconds >= 60 && var.failure_queue_message_retention_seconds <= 1209600 && floor(var.failure_queue_message_retention_seconds) == var.failure_queue_message_retention_seconds
    error_message = "failure_queue_message_retention_seconds must be a whole number between 60 and 1209600."
  }
}

################################################################################
# Forwarder settings (environment)
################################################################################

variable "destinations" {
  description = "Where the forwarder sends records (FORWARDER_DESTINATIONS)."
  type        = list(string)

  validation {
    condition     = length(var.destinations) > 0 && alltrue([for d in var.destinations : contains(["datadog", "newrelic", "stdout"], d)])
    error_message = "destinations must be a non-empty list of datadog, newrelic, stdout."
  }
}

variable "min_severity" {
  description = "Lowest severity forwarded (FORWARDER_MIN_SEVERITY). Null keeps the forwarder's default."
  type        = string
  default     = null

  validation {
    condition     = var.min_severity == null || contains(["info", "warning", "error"], coalesce(var.min_severity, "info"))
    error_message = "min_severity must be one of info, warning, error."
  }
}

variable "exclude_categories" {
  description = "Stop categories never forwarded (FORWARDER_EXCLUDE_CATEGORIES)."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for c in var.exclude_categories : can(regex("^[a-z0-9_-]+$", c))])
    error_message = "exclude_categories must contain lowercase category names (letters, digits, _ and -)."
  }
}

################################################################################
# Enrichment (FORWARDER_ENRICH)
################################################################################

variable "enrich" {
  description = "Enrichment steps the forwarder may run for stops whose cause the event alone does not say (FORWARDER_ENRICH, comma-joined): logs (the culprit container's CloudWatch log stream), image (its image manifest and config in ECR). Either one also reads the task definition. Empty turns enrichment off and grants nothing."
  type        = list(string)
  default     = ["logs", "image"]

  validation {
    condition     = alltrue([for step in var.enrich : contains(["logs", "image"], step)]) && length(distinct(var.enrich)) == length(var.enrich)
    error_message = "enrich must be a list of distinct values among logs, image."
  }
}

variable "enrich_log_group_arns" {
  description = "Log groups whose streams the logs enrichment may read (logs:GetLogEvents), as log group ARNs (arn:<partition>:logs:<region>:<account>:log-group:<name>, a trailing :* is accepted, * may appear in the name). Null means every log group of this account and region."
  type        = list(string)
  default     = null

  validation {
    condition     = var.enrich_log_group_arns == null || try(length(var.enrich_log_group_arns) > 0 && alltrue([for arn in var.enrich_log_group_arns : can(regex("^arn:aws[a-z-]*:logs:[a-z0-9-]+:[0-9]{12}:log-group:[a-zA-Z0-9_./#*-]{1,512}(:\\*)?$", arn))]), false)
    error_message = "enrich_log_group_arns must be null or a non-empty list of CloudWatch Logs log group ARNs (arn:<partition>:logs:<region>:<account>:log-group:<name>)."
  }
}

variable "enrich_ecr_repository_arns" {
  description = "ECR repositories whose image manifests and layers the image enrichment may read (ecr:BatchGetImage, ecr:GetDownloadUrlForLayer), as repository ARNs (arn:<partition>:ecr:<region or *>:<account>:repository/<name>, * may appear in the name). Null means every repository of this account, in any region."
  type        = list(string)
  default     = null

  validation {
    condition     = var.enrich_ecr_repository_arns == null || try(length(var.enrich_ecr_repository_arns) > 0 && alltrue([for arn in var.enrich_ecr_repository_arns : can(regex("^arn:aws[a-z-]*:ecr:([a-z0-9-]+|\\*):[0-9]{12}:repository/[a-z0-9._/*-]{1,256}$", arn))]), false)
    error_message = "enrich_ecr_repository_arns must be null or a non-empty list of ECR repository ARNs (arn:<partition>:ecr:<region or *>:<account>:repository/<name>)."
  }
}

################################################################################
# Archive
################################################################################

variable "create_archive_bucket" {
  description = "Create a hardened archive bucket. When false, archive_bucket_name must name an existing bucket: the forwarder always archives."
  type        = bool
  default     = true
}

variable "archive_bucket_name" {
  description = "Name of the archive bucket: the bucket to create (null derives a unique name) or, with create_archive_bucket = false, the existing bucket to use."
  type        = string
  default     = null

  validation {
    condition     = var.archive_bucket_name == null || can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.archive_bucket_name))
    error_message = "archive_bucket_name must be 3-63 characters of lowercase letters, digits, dots and hyphens, starting and ending with a letter or digit."
  }
}

variable "archive_prefix" {
  description = "Key prefix of archived records (ARCHIVE_PREFIX); IAM access is limited to it."
  type        = string
  default     = "ecs-task-stop-log/"

  validation {
    condition     = can(regex("^[a-zA-Z0-9!_.'()/-]+/$", var.archive_prefix))
    error_message = "archive_prefix must be a non-empty S3 key prefix ending with / (letters, digits and !_.'()/-; no *, which would widen the IAM resource)."
  }
}

variable "archive_kms_key_arn" {
  description = "ARN of a KMS key for SSE-KMS on archived objects (ARCHIVE_KMS_KEY_ID, bucket default encryption). Null means SSE-S3."
  type        = string
  default     = null

  validation {
    condition     = var.archive_kms_key_arn == null || can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/[a-zA-Z0-9-]+$", var.archive_kms_key_arn))
    error_message = "archive_kms_key_arn must be a KMS key ARN (arn:<partition>:kms:<region>:<account>:key/<id>)."
  }
}

variable "archive_allow_list_bucket" {
  description = "Grant s3:ListBucket on the archive bucket so reading a missing key returns 404 rather than 403. False keeps access to the prefix only; new events are archived with a create-only write and never read first, so only a read of an object that vanished between two writes then fails (as 403)."
  type        = bool
  default     = true
}

variable "archive_force_destroy" {
  description = "Let terraform destroy delete the created archive bucket with its objects."
  type        = bool
  default     = false
}

variable "archive_transition_days" {
  description = "Days before archived objects move to archive_transition_storage_class. Null disables the transition."
  type        = number
  default     = 30
}

variable "archive_transition_storage_class" {
  description = "Storage class archived objects move to."
  type        = string
  default     = "STANDARD_IA"
}

variable "archive_expiration_days" {
  description = "Days before archived objects expire. Null keeps them."
  type        = number
  default     = 400
}

variable "archive_noncurrent_version_expiration_days" {
  description = "Days an old version of an archived record is kept after a newer one replaces it (the forwarder rewrites a record to add delivery outcomes). Null keeps old versions as long as archive_expiration_days (forever when that is null)."
  type        = number
  default     = null

  validation {
    condition     = var.archive_noncurrent_version_expiration_days == null || try(var.archive_noncurrent_version_expiration_days >= 1 && floor(var.archive_noncurrent_version_expiration_days) == var.archive_noncurrent_version_expiration_days, false)
    error_message = "archive_noncurrent_version_expiration_days must be null or a whole number of days >= 1."
  }
}

variable "archive_object_lock" {
  description = "S3 Object Lock on the created archive bucket, in governance mode: every version of a record (each rewrite is a new version) cannot be deleted or overwritten for retention_days, except by a principal with s3:BypassGovernanceRetention. Null: no Object Lock."
  type = object({
    retention_days = number
  })
  default = null

  validation {
    condition     = var.archive_object_lock == null || try(var.archive_object_lock.retention_days >= 1 && var.archive_object_lock.retention_days <= 36500 && floor(var.archive_object_lock.retention_days) == var.archive_object_lock.retention_days, false)
    error_message = "archive_object_lock.retention_days must be a whole number of days between 1 and 36500."
  }
}

variable "archive_access_log_bucket" {
  description = "Existing bucket receiving S3 server access logs of the created archive bucket. Null disables access logging."
  type        = string
  default     = null
}

################################################################################
# Vendor keys (by reference only) and vendor settings
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
  description = "Datadog site (DD_SITE). Null keeps the forwarder's default."
  type        = string
  default     = null

  validation {
    condition     = var.datadog_site == null || contains(["datadoghq.com", "us3.datadoghq.com", "us5.datadoghq.com", "datadoghq.eu", "ap1.datadoghq.com", "ap2.datadoghq.com", "uk1.datadoghq.com", "ddog-gov.com"], coalesce(var.datadog_site, "datadoghq.com"))
    error_message = "datadog_site must be one of datadoghq.com, us3.datadoghq.com, us5.datadoghq.com, datadoghq.eu, ap1.datadoghq.com, ap2.datadoghq.com, uk1.datadoghq.com, ddog-gov.com."
  }
}

variable "datadog_tags" {
  description = "Tags added to every Datadog log, as key:value strings (DD_TAGS, comma-joined)."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for t in var.datadog_tags : length(t) > 0 && !strcontains(t, ",")])
    error_message = "datadog_tags must contain non-empty tags without commas."
  }
}

variable "datadog_source" {
  description = "Datadog ddsource of the logs (DD_SOURCE). Null keeps the forwarder's default (ecs)."
  type        = string
  default     = null
}

variable "datadog_logs_url" {
  description = "Full Datadog logs intake URL overriding the one derived from the site (DD_LOGS_URL)."
  type        = string
  default     = null

  validation {
    condition     = var.datadog_logs_url == null || can(regex("^https://[^\\s]+$", var.datadog_logs_url))
    error_message = "datadog_logs_url must be an https:// URL."
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
  description = "New Relic data center (NEW_RELIC_REGION). Null keeps the forwarder's default."
  type        = string
  default     = null

  validation {
    condition     = var.newrelic_region == null || contains(["US", "EU", "FEDRAMP"], coalesce(var.newrelic_region, "US"))
    error_message = "newrelic_region must be one of US, EU, FEDRAMP."
  }
}

variable "newrelic_logs_url" {
  description = "Full New Relic Log API URL overriding the one derived from the region (NEW_RELIC_LOGS_URL)."
  type        = string
  default     = null

  validation {
    condition     = var.newrelic_logs_url == null || can(regex("^https://[^\\s]+$", var.newrelic_logs_url))
    error_message = "newrelic_logs_url must be an https:// URL."
  }
}

variable "key_kms_key_arns" {
  description = "ARNs of customer managed KMS keys that encrypt the vendor key secrets or parameters; the function gets kms:Decrypt on them. Not needed for AWS managed keys."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for arn in var.key_kms_key_arns : can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/[a-zA-Z0-9-]+$", arn))])
    error_message = "key_kms_key_arns must contain KMS key ARNs (arn:<partition>:kms:<region>:<account>:key/<id>)."
  }
}

################################################################################
# Alarms
################################################################################

variable "create_alarms" {
  description = "Create CloudWatch alarms on function errors, throttles and the on-failure queue."
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

variable "alarm_period_seconds" {
  description = "Period of each alarm's metric evaluation."
  type        = number
  default     = 300

  validation {
    condition     = contains([60, 300, 900, 3600], var.alarm_period_seconds)
    error_message = "alarm_period_seconds must be one of 60, 300, 900, 3600."
  }
}
