locals {
  alarm_actions = var.alarm_sns_topic_arn == null ? [] : [var.alarm_sns_topic_arn]
}

# DeliveryToHttpEndpoint.Success is the share of HTTP delivery requests the vendor accepted
# (1 = all). Its Minimum over a period drops below 1 as soon as one request in it failed
# (bad key, endpoint down, 4xx/5xx). Firehose publishes it only while it is delivering, so
# missing data (no stop events) is not a failure.
resource "aws_cloudwatch_metric_alarm" "delivery_failed" {
  count = var.create_alarms ? 1 : 0

  alarm_name          = "${var.stream_name}-http-delivery-failed"
  alarm_description   = "Firehose ${var.stream_name} failed to deliver to ${local.endpoint_name}. Errors are in ${local.log_group_name}; every record is also in the S3 backup."
  namespace           = "AWS/Firehose"
  metric_name         = "DeliveryToHttpEndpoint.Success"
  dimensions          = { DeliveryStreamName = aws_kinesis_firehose_delivery_stream.this.name }
  statistic           = "Minimum"
  period              = 300
  evaluation_periods  = 1
  threshold           = 1
  comparison_operator = "LessThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
  tags                = var.tags
}

# A dead letter is a stop event that never reached the stream (nor the S3 backup).
resource "aws_cloudwatch_metric_alarm" "dead_letter" {
  count = var.create_alarms && var.create_dead_letter_queue ? 1 : 0

  alarm_name          = "${var.stream_name}-rule-dead-letters"
  alarm_description   = "EventBridge could not put ECS stop events into Firehose ${var.stream_name}; they wait in ${aws_sqs_queue.dead_letter[0].name} and are in neither the vendor nor the S3 backup."
  namespace           = "AWS/SQS"
  metric_name         = "ApproximateNumberOfMessagesVisible"
  dimensions          = { QueueName = aws_sqs_queue.dead_letter[0].name }
  statistic           = "Maximum"
  period              = 300
  evaluation_periods  = 1
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
  tags                = var.tags
}

# DeliveryToHttpEndpoint.DataFreshness is the age of the oldest record not yet delivered: it
# catches deliveries that keep retrying without an outright failure.
resource "aws_cloudwatch_metric_alarm" "delivery_stale" {
  count = var.create_alarms ? 1 : 0

  alarm_name          = "${var.stream_name}-http-delivery-stale"
  alarm_description   = "Records in Firehose ${var.stream_name} wait more than ${var.data_freshness_threshold_seconds} s for delivery to ${local.endpoint_name}."
  namespace           = "AWS/Firehose"
  metric_name         = "DeliveryToHttpEndpoint.DataFreshness"
  dimensions          = { DeliveryStreamName = aws_kinesis_firehose_delivery_stream.this.name }
  statistic           = "Maximum"
  period              = 300
  evaluation_periods  = 1
  threshold           = var.data_freshness_threshold_seconds
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
  tags                = var.tags
}
