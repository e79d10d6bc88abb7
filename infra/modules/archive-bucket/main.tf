locals {
  sse_algorithm = var.kms_key_arn == null ? "AES256" : "aws:kms"
  # Old versions are kept as long as current objects unless told otherwise (issue #25, item 3).
  noncurrent_version_expiration_days = var.noncurrent_version_expiration_days != null ? var.noncurrent_version_expiration_days : var.expiration_days
}

resource "aws_s3_bucket" "this" {
  #checkov:skip=CKV_AWS_144:Cross-region replication needs a destination bucket, role and key in another region that this module does not own. The bucket is the only durable copy of a stop (EventBridge keeps none): in its region it is protected by versioning, old versions kept as long as objects and optional Object Lock; add replication outside the module where a regional loss must not lose records.
  #checkov:skip=CKV2_AWS_62:Nothing consumes archive writes as events; the forwarder itself is the event consumer.
  bucket        = var.bucket_name
  bucket_prefix = var.bucket_name == null ? var.bucket_prefix : null
  force_destroy = var.force_destroy
  tags          = var.tags
}

resource "aws_s3_bucket_ownership_controls" "this" {
  bucket = aws_s3_bucket.this.id

  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_public_access_block" "this" {
  bucket = aws_s3_bucket.this.id

  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_server_side_encryption_configuration" "this" {
  bucket = aws_s3_bucket.this.id

  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = local.sse_algorithm
      kms_master_key_id = var.kms_key_arn
    }
    bucket_key_enabled = var.kms_key_arn != null
  }
}

resource "aws_s3_bucket_versioning" "this" {
  bucket = aws_s3_bucket.this.id

  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "this" {
  bucket = aws_s3_bucket.this.id

  rule {
    id     = "archive-retention"
    status = "Enabled"

    filter {}

    dynamic "transition" {
      for_each = var.transition_days == null ? [] : [var.transition_days]
      content {
        days          = transition.value
        storage_class = var.transition_storage_class
      }
    }

    dynamic "expiration" {
      for_each = var.expiration_days == null ? [] : [var.expiration_days]
      content {
        days = expiration.value
      }
    }

    dynamic "noncurrent_version_expiration" {
      for_each = local.noncurrent_version_expiration_days == null ? [] : [local.noncurrent_version_expiration_days]
      content {
        noncurrent_days = noncurrent_version_expiration.value
      }
    }

    abort_incomplete_multipart_upload {
      days_after_initiation = 7
    }
  }

  depends_on = [aws_s3_bucket_versioning.this]
}

# Object Lock (governance mode) on the versioned bucket. It is enabled here rather than with
# aws_s3_bucket.object_lock_enabled, which would replace an existing bucket; S3 accepts it on a
# bucket that already has versioning. Writers are unaffected: a PUT to an existing key adds a new
# version (also locked), and nothing is ever deleted by the forwarder. Deleting or shortening
# the retention of a locked version needs s3:BypassGovernanceRetention, which no role in infra/
# has; lifecycle expiration only adds delete markers and removes old versions after their
# retention ends. A PUT into a bucket with a default retention must carry Content-MD5 or an
# x-amz-checksum-* header (boto3 >= 1.36 sends a CRC32 checksum by default).
resource "aws_s3_bucket_object_lock_configuration" "this" {
  count = var.object_lock == null ? 0 : 1

  bucket              = aws_s3_bucket.this.id
  object_lock_enabled = "Enabled"

  rule {
    default_retention {
      mode = "GOVERNANCE"
      days = var.object_lock.retention_days
    }
  }

  depends_on = [aws_s3_bucket_versioning.this]
}

resource "aws_s3_bucket_logging" "this" {
  count = var.access_log_bucket == null ? 0 : 1

  bucket        = aws_s3_bucket.this.id
  target_bucket = var.access_log_bucket
  target_prefix = var.access_log_prefix
}

# Deny every request that is not sent over TLS. This is the one policy in infra/ with a
# wildcard action: a Deny has to cover all actions to be a guarantee, and a wildcard in a
# Deny can only take access away. Allow statements never use wildcards (see tests).
resource "aws_s3_bucket_policy" "tls_only" {
  bucket = aws_s3_bucket.this.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid       = "DenyInsecureTransport"
        Effect    = "Deny"
        Principal = "*"
        Action    = "s3:*"
        Resource  = [aws_s3_bucket.this.arn, "${aws_s3_bucket.this.arn}/*"]
        Condition = { Bool = { "aws:SecureTransport" = "false" } }
      },
    ]
  })

  depends_on = [aws_s3_bucket_public_access_block.this]
}
