locals {
  ssm_parameter_names = compact([var.datadog_api_key_ssm_parameter, var.newrelic_license_key_ssm_parameter])
  ssm_parameter_arns = [
    for name in local.ssm_parameter_names :
    "arn:${local.partition}:ssm:${local.region}:${local.account_id}:parameter/${trimprefix(name, "/")}"
  ]
  secret_arns = compact([var.datadog_api_key_secret_arn, var.newrelic_license_key_secret_arn])

  # Resource ARNs of the run's parts (the Service Authorization Reference's resource types for
  # Step Functions): the Distributed Map's child executions are named
  # <state machine>/<Map Run label>:<id> (Express ones under "express:"), its Map Runs
  # "mapRun:<state machine>/<label>:<id>", and the label is the Map state's ("ReplayBatches").
  map_label           = "ReplayBatches"
  execution_arns      = "arn:${local.partition}:states:${local.region}:${local.account_id}:execution:${var.name}:*"
  child_execution_arn = "arn:${local.partition}:states:${local.region}:${local.account_id}:execution:${var.name}/*"
  child_express_arn   = "arn:${local.partition}:states:${local.region}:${local.account_id}:express:${var.name}/*"
  map_run_arns        = "arn:${local.partition}:states:${local.region}:${local.account_id}:mapRun:${var.name}/*"
  results_objects     = "${local.results_bucket_arn}/${var.results_prefix}*"

  ############################################################################
  # The state machine: list the archive prefix, invoke the worker, read the run's control
  # document and write its results, start, describe, stop and redrive its own child executions.
  ############################################################################
  state_machine_statements = concat(
    [
      {
        Sid       = "ListArchivePrefix"
        Effect    = "Allow"
        Action    = ["s3:ListBucket"]
        Resource  = [local.archive_bucket_arn]
        Condition = { StringLike = { "s3:prefix" = ["${var.archive_prefix}*"] } }
      },
      {
        Sid      = "InvokeWorker"
        Effect   = "Allow"
        Action   = ["lambda:InvokeFunction"]
        Resource = [aws_lambda_function.worker.arn, "${aws_lambda_function.worker.arn}:*"]
      },
      {
        # ResultWriter (PutObject, multipart) and the control document (GetObject).
        Sid      = "ReadControlWriteResults"
        Effect   = "Allow"
        Action   = ["s3:GetObject", "s3:PutObject", "s3:ListMultipartUploadParts", "s3:AbortMultipartUpload"]
        Resource = [local.results_objects]
      },
      {
        # A Distributed Map starts its child workflows as executions of this state machine.
        Sid      = "StartOwnChildExecutions"
        Effect   = "Allow"
        Action   = ["states:StartExecution"]
        Resource = [local.state_machine_arn]
      },
      {
        Sid      = "DescribeStopOwnChildExecutions"
        Effect   = "Allow"
        Action   = ["states:DescribeExecution", "states:StopExecution"]
        Resource = [local.child_execution_arn, local.child_express_arn]
      },
      {
        Sid      = "RedriveOwnMapRuns"
        Effect   = "Allow"
        Action   = ["states:RedriveExecution"]
        Resource = ["arn:${local.partition}:states:${local.region}:${local.account_id}:execution:${var.name}/${local.map_label}:*"]
      },
      {
        # Vended logs delivery (the state machine's logging configuration): CloudWatch Logs'
        # delivery actions take no resource-level permission, so IAM only accepts "*" here.
        Sid    = "DeliverExecutionLogs"
        Effect = "Allow"
        Action = [
          "logs:CreateLogDelivery", "logs:GetLogDelivery", "logs:UpdateLogDelivery", "logs:DeleteLogDelivery",
          "logs:ListLogDeliveries", "logs:PutResourcePolicy", "logs:DescribeResourcePolicies", "logs:DescribeLogGroups",
        ]
        Resource = ["*"]
      },
    ],
    var.results_kms_key_arn != null ? [
      {
        Sid      = "UseResultsKey"
        Effect   = "Allow"
        Action   = ["kms:Decrypt", "kms:GenerateDataKey"]
        Resource = [var.results_kms_key_arn]
      },
    ] : [],
  )

  ############################################################################
  # The worker: read the archive prefix, read and write its run's checkpoints, read the keys.
  ############################################################################
  worker_statements = concat(
    [
      {
        Sid      = "WriteOwnLogs"
        Effect   = "Allow"
        Action   = ["logs:CreateLogStream", "logs:PutLogEvents"]
        Resource = ["${aws_cloudwatch_log_group.worker.arn}:log-stream:*"]
      },
      {
        Sid      = "ReadArchivePrefix"
        Effect   = "Allow"
        Action   = ["s3:GetObject"]
        Resource = ["${local.archive_bucket_arn}/${var.archive_prefix}*"]
      },
      {
        Sid      = "ReadWriteCheckpoints"
        Effect   = "Allow"
        Action   = ["s3:GetObject", "s3:PutObject"]
        Resource = ["${local.results_bucket_arn}/${var.results_prefix}*/checkpoints/*"]
      },
      {
        # A checkpoint that does not exist yet reads as 404 only with s3:ListBucket (else 403).
        Sid       = "ListResultsPrefix"
        Effect    = "Allow"
        Action    = ["s3:ListBucket"]
        Resource  = [local.results_bucket_arn]
        Condition = { StringLike = { "s3:prefix" = ["${var.results_prefix}*"] } }
      },
    ],
    var.archive_kms_key_arn != null ? [
      {
        Sid      = "DecryptArchive"
        Effect   = "Allow"
        Action   = ["kms:Decrypt"]
        Resource = [var.archive_kms_key_arn]
      },
    ] : [],
    var.results_kms_key_arn != null ? [
      {
        Sid      = "UseResultsKey"
        Effect   = "Allow"
        Action   = ["kms:Decrypt", "kms:GenerateDataKey"]
        Resource = [var.results_kms_key_arn]
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
    length(var.key_kms_key_arns) > 0 ? [
      {
        Sid      = "DecryptVendorKeys"
        Effect   = "Allow"
        Action   = ["kms:Decrypt"]
        Resource = var.key_kms_key_arns
      },
    ] : [],
    var.kms_key_arn != null ? [
      {
        Sid      = "UseFunctionKey"
        Effect   = "Allow"
        Action   = ["kms:Decrypt"]
        Resource = [var.kms_key_arn]
      },
    ] : [],
  )

  ############################################################################
  # Whoever runs `ecs-stop-forwarder replay --on stepfunctions` (output operator_policy_json):
  # start, attach, watch, change and stop runs of this state machine, write a run's control
  # document and read its results, and list the archive (the prefixes of a run, --dry-run).
  ############################################################################
  operator_statements = concat(
    [
      {
        Sid      = "StartAndDescribeRuns"
        Effect   = "Allow"
        Action   = ["states:StartExecution", "states:DescribeStateMachine"]
        Resource = [local.state_machine_arn]
      },
      {
        Sid      = "WatchStopRedriveRuns"
        Effect   = "Allow"
        Action   = ["states:DescribeExecution", "states:StopExecution", "states:RedriveExecution", "states:ListMapRuns"]
        Resource = [local.execution_arns]
      },
      {
        Sid      = "WatchAndTuneMapRuns"
        Effect   = "Allow"
        Action   = ["states:DescribeMapRun", "states:UpdateMapRun"]
        Resource = [local.map_run_arns]
      },
      {
        Sid      = "WriteControlReadResults"
        Effect   = "Allow"
        Action   = ["s3:GetObject", "s3:PutObject"]
        Resource = [local.results_objects]
      },
      {
        Sid       = "ListResults"
        Effect    = "Allow"
        Action    = ["s3:ListBucket"]
        Resource  = [local.results_bucket_arn]
        Condition = { StringLike = { "s3:prefix" = ["${var.results_prefix}*"] } }
      },
      {
        Sid       = "ListArchivePrefix"
        Effect    = "Allow"
        Action    = ["s3:ListBucket"]
        Resource  = [local.archive_bucket_arn]
        Condition = { StringLike = { "s3:prefix" = ["${var.archive_prefix}*", var.archive_prefix] } }
      },
    ],
    var.results_kms_key_arn != null ? [
      {
        Sid      = "UseResultsKey"
        Effect   = "Allow"
        Action   = ["kms:Decrypt", "kms:GenerateDataKey"]
        Resource = [var.results_kms_key_arn]
      },
    ] : [],
  )
}

resource "aws_iam_role" "state_machine" {
  name        = "${var.name}-states"
  description = "Execution role of the ${var.name} replay state machine"
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid       = "StepFunctionsAssumeRole"
        Effect    = "Allow"
        Principal = { Service = "states.amazonaws.com" }
        Action    = ["sts:AssumeRole"]
        Condition = { StringEquals = { "aws:SourceAccount" = local.account_id } }
      },
    ]
  })
  tags = var.tags
}

resource "aws_iam_role_policy" "state_machine" {
  name   = "${var.name}-states-least-privilege"
  role   = aws_iam_role.state_machine.id
  policy = jsonencode({ Version = "2012-10-17", Statement = local.state_machine_statements })
}

resource "aws_iam_role" "worker" {
  name        = "${var.name}-worker"
  description = "Execution role of the ${var.name} replay worker"
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid       = "LambdaAssumeRole"
        Effect    = "Allow"
        Principal = { Service = "lambda.amazonaws.com" }
        Action    = ["sts:AssumeRole"]
      },
    ]
  })
  tags = var.tags
}

resource "aws_iam_role_policy" "worker" {
  name   = "${var.name}-worker-least-privilege"
  role   = aws_iam_role.worker.id
  policy = jsonencode({ Version = "2012-10-17", Statement = local.worker_statements })
}
