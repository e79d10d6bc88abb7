module "archive_bucket" {
  source = "../archive-bucket"
  count  = var.create_archive_bucket ? 1 : 0

  bucket_name       = var.archive_bucket_name
  bucket_prefix     = "${lower(substr(var.name, 0, 24))}-archive-"
  kms_key_arn       = var.archive_kms_key_arn
  force_destroy     = var.archive_force_destroy
  access_log_bucket = var.archive_access_log_bucket

  transition_days          = var.archive_transition_days
  transition_storage_class = var.archive_transition_storage_class
  expiration_days          = var.archive_expiration_days

  noncurrent_version_expiration_days = var.archive_noncurrent_version_expiration_days
  object_lock                        = var.archive_object_lock

  tags = var.tags
}
