# Behaviour of the module under a mock AWS provider (no credentials, no network).

mock_provider "aws" {
  mock_resource "aws_s3_bucket" {
    defaults = { arn = "arn:aws:s3:::mock-bucket", id = "mock-bucket" }
  }
}

run "hardened_by_default" {
  assert {
    condition = (
      aws_s3_bucket_public_access_block.this.block_public_acls
      && aws_s3_bucket_public_access_block.this.block_public_policy
      && aws_s3_bucket_public_access_block.this.ignore_public_acls
      && aws_s3_bucket_public_access_block.this.restrict_public_buckets
    )
    error_message = "All public access must be blocked."
  }

  assert {
    condition     = one(one(aws_s3_bucket_server_side_encryption_configuration.this.rule).apply_server_side_encryption_by_default).sse_algorithm == "AES256"
    error_message = "Without a key the bucket must use SSE-S3."
  }

  assert {
    condition     = aws_s3_bucket_versioning.this.versioning_configuration[0].status == "Enabled"
    error_message = "Versioning must be on."
  }

  assert {
    condition = jsondecode(aws_s3_bucket_policy.tls_only.policy).Statement == [{
      Sid       = "DenyInsecureTransport"
      Effect    = "Deny"
      Principal = "*"
      Action    = "s3:*"
      Resource  = ["arn:aws:s3:::mock-bucket", "arn:aws:s3:::mock-bucket/*"]
      Condition = { Bool = { "aws:SecureTransport" = "false" } }
    }]
    error_message = "The bucket policy must deny every non-TLS request."
  }

  assert {
    condition = (
      one(one(aws_s3_bucket_lifecycle_configuration.this.rule).transition).days == 30
      && one(one(aws_s3_bucket_lifecycle_configuration.this.rule).transition).storage_class == "STANDARD_IA"
      && one(one(aws_s3_bucket_lifecycle_configuration.this.rule).expiration).days == 400
    )
    error_message = "Lifecycle defaults: STANDARD_IA after 30 days, expire after 400."
  }

  assert {
    condition     = length(aws_s3_bucket_logging.this) == 0
    error_message = "Access logging is off unless a target bucket is given."
  }
}

run "kms_and_lifecycle_variables" {
  variables {
    kms_key_arn              = "arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555"
    transition_days          = null
    expiration_days          = 90
    transition_storage_class = "GLACIER_IR"
    access_log_bucket        = "central-access-logs"
  }

  assert {
    condition     = one(one(aws_s3_bucket_server_side_encryption_configuration.this.rule).apply_server_side_encryption_by_default).sse_algorithm == "aws:kms"
    error_message = "A key must switch the bucket to SSE-KMS."
  }

  assert {
    condition     = one(one(aws_s3_bucket_server_side_encryption_configuration.this.rule).apply_server_side_encryption_by_default).kms_master_key_id == var.kms_key_arn
    error_message = "SSE-KMS must use the given key."
  }

  assert {
    condition     = length(one(aws_s3_bucket_lifecycle_configuration.this.rule).transition) == 0 && one(one(aws_s3_bucket_lifecycle_configuration.this.rule).expiration).days == 90
    error_message = "transition_days = null must drop the transition; expiration_days must pass through."
  }

  assert {
    condition     = aws_s3_bucket_logging.this[0].target_bucket == "central-access-logs" && output.access_log_bucket == "central-access-logs"
    error_message = "Access logs must go to the given bucket."
  }
}

# Issue #25, item 3: the archive is the only durable copy of a stop.

run "old_versions_are_kept_as_long_as_objects_by_default" {
  assert {
    condition     = one(one(aws_s3_bucket_lifecycle_configuration.this.rule).noncurrent_version_expiration).noncurrent_days == 400 && output.noncurrent_version_expiration_days == 400
    error_message = "An overwritten version must be kept as long as objects are (expiration_days), not 30 days."
  }

  assert {
    condition     = length(aws_s3_bucket_object_lock_configuration.this) == 0 && output.object_lock_retention_days == null
    error_message = "Object Lock is opt-in."
  }
}

run "no_expiration_keeps_old_versions_too" {
  variables {
    expiration_days = null
  }

  assert {
    condition     = length(one(aws_s3_bucket_lifecycle_configuration.this.rule).noncurrent_version_expiration) == 0 && length(one(aws_s3_bucket_lifecycle_configuration.this.rule).expiration) == 0
    error_message = "expiration_days = null must keep current and old versions."
  }
}

run "object_lock_in_governance_mode" {
  variables {
    object_lock                        = { retention_days = 30 }
    noncurrent_version_expiration_days = 45
  }

  assert {
    condition = (
      aws_s3_bucket_object_lock_configuration.this[0].object_lock_enabled == "Enabled"
      && one(one(aws_s3_bucket_object_lock_configuration.this[0].rule).default_retention).mode == "GOVERNANCE"
      && one(one(aws_s3_bucket_object_lock_configuration.this[0].rule).default_retention).days == 30
      && one(one(aws_s3_bucket_object_lock_configuration.this[0].rule).default_retention).years == null
    )
    error_message = "object_lock must set a governance-mode default retention of retention_days."
  }

  assert {
    condition     = aws_s3_bucket_object_lock_configuration.this[0].bucket == aws_s3_bucket.this.id && output.object_lock_retention_days == 30
    error_message = "Object Lock must apply to this bucket."
  }

  assert {
    condition     = one(one(aws_s3_bucket_lifecycle_configuration.this.rule).noncurrent_version_expiration).noncurrent_days == 45
    error_message = "noncurrent_version_expiration_days must pass through."
  }

  # Object Lock is enabled on the (versioned) bucket by its own resource, never by
  # aws_s3_bucket.object_lock_enabled, which would replace an existing bucket.
  assert {
    condition     = aws_s3_bucket.this.object_lock_enabled != true
    error_message = "Turning Object Lock on must not replace the bucket."
  }
}
