locals {
  ssm_parameter_names = compact([var.datadog_api_key_ssm_parameter, var.newrelic_license_key_ssm_parameter])
  ssm_parameter_arns = [
    for name in local.ssm_parameter_names :
    "arn:${local.partition}:ssm:${local.region}:${local.account_id}:parameter/${trimprefix(name, "/")}"
  ]
  secret_arns = compact([var.datadog_api_key_secret_arn, var.newrelic_license_key_secret_arn])

  # Enrichment (FORWARDER_ENRICH). logs:GetLogEvents is authorized against the log-stream
  # resource type: the Service Authorization Reference lists GetLogEvents with "log-stream*"
  # (required), ARN arn:<partition>:logs:<region>:<account>:log-group:<group>:log-stream:<stream>.
  # So each log group ARN given becomes "<log group ARN>:log-stream:*" (any stream of that group,
  # never the group-level actions), and the default is every group of this account and region:
  # "...:log-group:*:log-stream:*". A trailing ":*" after a log group's name is dropped first.
  enrich_logs  = contains(var.enrich, "logs")
  enrich_image = contains(var.enrich, "image")
  enrich_log_stream_arns = [
    for arn in coalesce(var.enrich_log_group_arns, ["arn:${local.partition}:logs:${local.region}:${local.account_id}:log-group:*"]) :
    "${regex("^(.*:log-group:[^:]+)(:\\*)?$", arn)[0]}:log-stream:*"
  ]
  # ecr:BatchGetImage and ecr:GetDownloadUrlForLayer take the repository resource type; the
  # default is every repository of this account in any region (a task may pull from another
  # region's registry).
  enrich_ecr_repository_arns = coalesce(var.enrich_ecr_repository_arns, ["arn:${local.partition}:ecr:*:${local.account_id}:repository/*"])

  enrich_statements = concat(
    length(var.enrich) > 0 ? [
      {
        # ecs:DescribeTaskDefinition supports no resource-level permission (the Service
        # Authorization Reference lists no resource type for it), so IAM only accepts
        # Resource "*" here. It reads task definitions only: no task, secret value or image.
        Sid      = "DescribeTaskDefinitions"
        Effect   = "Allow"
        Action   = ["ecs:DescribeTaskDefinition"]
        Resource = ["*"]
      },
    ] : [],
    local.enrich_logs ? [
      {
        Sid      = "ReadContainerLogStreams"
        Effect   = "Allow"
        Action   = ["logs:GetLogEvents"]
        Resource = local.enrich_log_stream_arns
      },
    ] : [],
    local.enrich_image ? [
      {
        # The manifest (BatchGetImage) and a presigned S3 URL for the image config blob
        # (GetDownloadUrlForLayer); no ecr:GetAuthorizationToken, so no docker pull.
        Sid      = "ReadImageManifests"
        Effect   = "Allow"
        Action   = ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"]
        Resource = local.enrich_ecr_repository_arns
      },
    ] : [],
  )

  # Every KMS statement names the service that may use the key for this role (kms:ViaService)
  # and the encryption context that service sends, so the grant cannot be used directly or for
  # another resource (issue #25, item 5).
  #
  # The function's own key (kms_key_arn) is used with this role by two services: SQS, when
  # Lambda sends a failed invocation to the on-failure queue (encryption context aws:sqs:arn =
  # the queue), and Lambda, which decrypts the function's environment with the execution role
  # (encryption context aws:lambda:FunctionArn = the function).
  function_kms_key_arns = compact([var.kms_key_arn])

  # No condition: when Lambda assumes a function's execution role it sets neither
  # aws:SourceAccount nor aws:SourceArn (those keys describe resources that invoke a function,
  # not the function's own role), and no other key identifies the function at that point, so
  # any condition here would either be always false (the function could not start) or check
  # nothing. Who may attach this role to a function is governed by iam:PassRole instead.
  assume_role_policy = {
    Version = "2012-10-17"
    Statement = [
      {
        Sid       = "LambdaAssumeRole"
        Effect    = "Allow"
        Principal = { Service = "lambda.amazonaws.com" }
        Action    = ["sts:AssumeRole"]
      },
    ]
  }

  # Every statement names its actions and resources; no wildcard actions (tests check it).
  policy_statements = concat(
    [
      {
        Sid      = "WriteOwnLogs"
        Effect   = "Allow"
        Action   = ["logs:CreateLogStream", "logs:PutLogEvents"]
        Resource = ["${aws_cloudwatch_log_group.this.arn}:log-stream:*"]
      },
      {
        Sid      = "SendFailedInvocations"
        Effect   = "Allow"
        Action   = ["sqs:SendMessage"]
        Resource = [aws_sqs_queue.failures.arn]
      },
    ],
    local.archive_enabled ? [
      {
        Sid      = "ReadWriteArchivePrefix"
        Effect   = "Allow"
        Action   = ["s3:PutObject", "s3:GetObject"]
        Resource = ["${local.archive_bucket_arn}/${var.archive_prefix}*"]
      },
    ] : [],
    local.archive_enabled && var.archive_allow_list_bucket ? [
      {
        # GetObject/HeadObject on a missing key answers 404 only with s3:ListBucket on the
        # bucket; without it S3 answers 403, which the forwarder reports as an archive error.
        Sid      = "ListArchiveBucket"
        Effect   = "Allow"
        Action   = ["s3:ListBucket"]
        Resource = [local.archive_bucket_arn]
      },
    ] : [],
    local.archive_enabled && var.archive_kms_key_arn != null ? [
      {
        # S3 calls KMS for the role with the encryption context aws:s3:arn: the bucket's ARN
        # when the bucket uses an S3 Bucket Key (the created bucket does), else the object's.
        Sid      = "UseArchiveKey"
        Effect   = "Allow"
        Action   = ["kms:Decrypt", "kms:GenerateDataKey"]
        Resource = [var.archive_kms_key_arn]
        Condition = {
          StringEquals = { "kms:ViaService" = "s3.${local.region}.amazonaws.com" }
          StringLike   = { "kms:EncryptionContext:aws:s3:arn" = [local.archive_bucket_arn, "${local.archive_bucket_arn}/${var.archive_prefix}*"] }
        }
      },
    ] : [],
    length(local.secret_arns) > 0 ? [
      {
        Sid      = "ReadVendorKeySecrets"
        Effect   = "Allow"
        Action   = ["secretsmanager:GetSecretValue"]
        Resource = local.secret_arns
      },
    ] : [],
    length(local.ssm_parameter_arns) > 0 ? [
      {
        Sid      = "ReadVendorKeyParameters"
        Effect   = "Allow"
        Action   = ["ssm:GetParameter"]
        Resource = local.ssm_parameter_arns
      },
    ] : [],
    # Secrets Manager decrypts a secret with the encryption context SecretARN; SSM a
    # SecureString parameter with PARAMETER_ARN.
    length(var.key_kms_key_arns) > 0 && length(local.secret_arns) > 0 ? [
      {
        Sid      = "DecryptVendorKeySecrets"
        Effect   = "Allow"
        Action   = ["kms:Decrypt"]
        Resource = var.key_kms_key_arns
        Condition = {
          StringEquals = {
            "kms:ViaService"                  = "secretsmanager.${local.region}.amazonaws.com"
            "kms:EncryptionContext:SecretARN" = local.secret_arns
          }
        }
      },
    ] : [],
    length(var.key_kms_key_arns) > 0 && length(local.ssm_parameter_arns) > 0 ? [
      {
        Sid      = "DecryptVendorKeyParameters"
        Effect   = "Allow"
        Action   = ["kms:Decrypt"]
        Resource = var.key_kms_key_arns
        Condition = {
          StringEquals = {
            "kms:ViaService"                      = "ssm.${local.region}.amazonaws.com"
            "kms:EncryptionContext:PARAMETER_ARN" = local.ssm_parameter_arns
          }
        }
      },
    ] : [],
    length(local.function_kms_key_arns) > 0 ? [
      {
        Sid      = "UseFunctionKeyForFailureQueue"
        Effect   = "Allow"
        Action   = ["kms:Decrypt", "kms:GenerateDataKey"]
        Resource = local.function_kms_key_arns
        Condition = {
          StringEquals = {
            "kms:ViaService"                    = "sqs.${local.region}.amazonaws.com"
            "kms:EncryptionContext:aws:sqs:arn" = [aws_sqs_queue.failures.arn]
          }
        }
      },
    ] : [],
    length(local.function_kms_key_arns) > 0 ? [
      {
        Sid      = "DecryptFunctionEnvironment"
        Effect   = "Allow"
        Action   = ["kms:Decrypt"]
        Resource = local.function_kms_key_arns
        Condition = {
          StringEquals = {
            "kms:ViaService"                               = "lambda.${local.region}.amazonaws.com"
            "kms:EncryptionContext:aws:lambda:FunctionArn" = [local.function_arn]
          }
        }
      },
    ] : [],
    local.enrich_statements,
  )

  policy = {
    Version   = "2012-10-17"
    Statement = local.policy_statements
  }
}

resource "aws_iam_role" "this" {
  name               = var.name
  description        = "Execution role of the ${var.name} ECS stop forwarder"
  assume_role_policy = jsonencode(local.assume_role_policy)
  tags               = var.tags
}

resource "aws_iam_role_policy" "this" {
  name   = "${var.name}-least-privilege"
  role   = aws_iam_role.this.id
  policy = jsonencode(local.policy)
}
