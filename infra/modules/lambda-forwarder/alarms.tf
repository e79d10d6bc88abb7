locals {
  alarm_actions = var.alarm_sns_topic_arn == null ? [] : [var.alarm_sns_topic_arn]
  # Every alarm fires on any datapoint above zero in a period; they differ only in what they watch.
  alarm_order = ["errors", "throttles", "failure_queue"]
  lambda_metric = {
    namespace  = "AWS/Lambda"
    dimensions = { FunctionName = aws_lambda_function.this.function_name }
    statistic  = "Sum"
  }
  alarms = {
    errors = merge(local.lambda_metric, {
      name        = "${var.name}-errors"
      description = "The ECS stop forwarder raised errors: stop records may not have reached the vendors. Check log group ${aws_cloudwatch_log_group.this.name}."
      metric_name = "Errors"
    })
    throttles = merge(local.lambda_metric, {
      name        = "${var.name}-throttles"
      description = "The ECS stop forwarder was throttled: events are delayed and may expire into the on-failure queue."
      metric_name = "Throttles"
    })
    failure_queue = {
      name        = "${var.name}-failure-queue-not-empty"
      description = "Events failed every retry and wait in ${aws_sqs_queue.failures.name}: inspect them and replay from the archive."
      namespace   = "AWS/SQS"
      metric_name = "ApproximateNumberOfMessagesVisible"
      dimensions  = { QueueName = aws_sqs_queue.failures.name }
      statistic   = "Maximum"
    }
  }
}

resource "aws_cloudwatch_metric_alarm" "this" {
  for_each = { for key, alarm in local.alarms : key => alarm if var.create_alarms }

  alarm_name          = each.value.name
  alarm_description   = each.value.description
  namespace           = each.value.namespace
  metric_name         = each.value.metric_name
  dimensions          = each.value.dimensions
  statistic           = each.value.statistic
  period              = var.alarm_period_seconds
  evaluation_periods  = 1
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
  tags                = var.tags
}

# The alarms were three resources with count; these keep existing deployments from recreating them.
moved {
  from = aws_cloudwatch_metric_alarm.errors[0]
  to   = aws_cloudwatch_metric_alarm.this["errors"]
}

moved {
  from = aws_cloudwatch_metric_alarm.throttles[0]
  to   = aws_cloudwatch_metric_alarm.this["throttles"]
}

moved {
  from = aws_cloudwatch_metric_alarm.failure_queue[0]
  to   = aws_cloudwatch_metric_alarm.this["failure_queue"]
}
