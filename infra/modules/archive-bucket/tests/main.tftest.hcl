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
    condition     = aws_s3_bucket_logging.this[0].target_bucket == "central-access-logs"
    error_message = "Access logs must go to the given bucket."
  }
}
