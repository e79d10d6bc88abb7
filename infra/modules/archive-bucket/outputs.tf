output "bucket_id" {
  description = "Name of the bucket."
  value       = aws_s3_bucket.this.id
}

output "bucket_arn" {
  description = "ARN of the bucket."
  value       = aws_s3_bucket.this.arn
}

output "bucket_policy" {
  description = "JSON of the TLS-only bucket policy."
  value       = aws_s3_bucket_policy.tls_only.policy
}

output "noncurrent_version_expiration_days" {
  description = "Days an overwritten (noncurrent) version is kept; null when old versions are kept forever."
  value       = local.noncurrent_version_expiration_days
}

output "object_lock_retention_days" {
  description = "Default Object Lock retention (governance mode) in days; null when Object Lock is off."
  value       = var.object_lock == null ? null : var.object_lock.retention_days
}

output "access_log_bucket" {
  description = "Bucket receiving the S3 server access logs of this bucket; null when access logging is off."
  value       = var.access_log_bucket
}
