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
