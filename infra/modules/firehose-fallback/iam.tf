locals {
  firehose_assume_role_policy = {
    Version = "2012-10-17"
    Statement = [
      {
        Sid       = "FirehoseAssumeRole"
        Effect    = "Allow"
        Principal = { Service = "firehose.amazonaws.com" }
        Action    = ["sts:AssumeRole"]
        Condition = { StringEquals = { "sts:ExternalId" = local.account_id } }
      },
    ]
  }

  # The actions Firehose documents for an S3 destination/backup, instead of the article's s3:*.
  # Object actions cover only the backup prefix and the error output prefix, where failed
  # records go (issue #25, item 6); the bucket-level actions need the bucket ARN.
  backup_object_arns = [
    "${local.backup_bucket_arn}/${var.backup_prefix}*",
    "${local.backup_bucket_arn}/${var.backup_error_output_prefix}*",
  ]

  firehose_policy_statements = concat(
    [
      {
        Sid      = "BackupBucket"
        Effect   = "Allow"
        Action   = ["s3:GetBucketLocation", "s3:ListBucket", "s3:ListBucketMultipartUploads"]
        Resource = [local.backup_bucket_arn]
      },
      {
        Sid      = "BackupObjects"
        Effect   = "Allow"
        Action   = ["s3:AbortMultipartUpload", "s3:GetObject", "s3:PutObject"]
        Resource = local.backup_object_arns
      },
      {
        Sid      = "ReadVendorKey"
        Effect   = "Allow"
        Action   = ["secretsmanager:GetSecretValue"]
        Resource = [var.api_key_secret_arn]
      },
      {
        Sid      = "LogDeliveryErrors"
        Effect   = "Allow"
        Action   = ["logs:PutLogEvents"]
        Resource = ["${aws_cloudwatch_log_group.firehose.arn}:log-stream:*"]
      },
    ],
    var.api_key_secret_kms_key_arn == null ? [] : [
      {
        Sid      = "DecryptVendorKey"
        Effect   = "Allow"
        Action   = ["kms:Decrypt"]
        Resource = [var.api_key_secret_kms_key_arn]
        Condition = {
          StringEquals = {
            "kms:ViaService"                  = "secretsmanager.${local.region}.amazonaws.com"
            "kms:EncryptionContext:SecretARN" = var.api_key_secret_arn
          }
        }
      },
    ],
    var.backup_bucket_kms_key_arn == null ? [] : [
      {
        Sid      = "EncryptBackupObjects"
        Effect   = "Allow"
        Action   = ["kms:Decrypt", "kms:GenerateDataKey"]
        Resource = [var.backup_bucket_kms_key_arn]
        # aws:s3:arn is the bucket with an S3 Bucket Key (the created bucket has one), else the object.
        Condition = {
          StringEquals = { "kms:ViaService" = "s3.${local.region}.amazonaws.com" }
          StringLike   = { "kms:EncryptionContext:aws:s3:arn" = concat([local.backup_bucket_arn], local.backup_object_arns) }
        }
      },
    ],
  )

  firehose_policy = {
    Version   = "2012-10-17"
    Statement = local.firehose_policy_statements
  }

  events_assume_role_policy = {
    Version = "2012-10-17"
    Statement = [
      {
        Sid       = "EventBridgeAssumeRole"
        Effect    = "Allow"
        Principal = { Service = "events.amazonaws.com" }
        Action    = ["sts:AssumeRole"]
        # Only this rule, in this account (issue #25, item 8).
        Condition = {
          StringEquals = { "aws:SourceAccount" = local.account_id }
          ArnEquals    = { "aws:SourceArn" = aws_cloudwatch_event_rule.this.arn }
        }
      },
    ]
  }

  events_policy = {
    Version = "2012-10-17"
    Statement = [
      {
        Sid      = "PutIntoStream"
        Effect   = "Allow"
        Action   = ["firehose:PutRecord", "firehose:PutRecordBatch"]
        Resource = [aws_kinesis_firehose_delivery_stream.this.arn]
      },
    ]
  }
}

resource "aws_iam_role" "firehose" {
  name               = var.firehose_role_name
  path               = var.firehose_role_path
  assume_role_policy = jsonencode(local.firehose_assume_role_policy)
  tags               = var.tags
}

resource "aws_iam_role_policy" "firehose" {
  name   = "${var.stream_name}-delivery"
  role   = aws_iam_role.firehose.id
  policy = jsonencode(local.firehose_policy)
}

resource "aws_iam_role" "events" {
  name               = var.events_role_name
  assume_role_policy = jsonencode(local.events_assume_role_policy)
  tags               = var.tags
}

resource "aws_iam_role_policy" "events" {
  name   = "${var.stream_name}-put-records"
  role   = aws_iam_role.events.id
  policy = jsonencode(local.events_policy)
}
