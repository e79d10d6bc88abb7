"""The replay-at-scale state machine (Amazon States Language), generated here: one source of truth.

``python -m forwarder.scale.definition`` (``make state-machine``) writes it as the template
``infra/modules/replay-at-scale/state-machine.asl.json``, which the Terraform module fills in
(``templatefile``: ``${...}`` placeholders, below); ``tests/test_state_machine.py`` fails when
the file differs from what this module generates, and runs the npm ``asl-validator`` over it.

A Standard workflow, for each S3 prefix of the run (the hour folders of ``--since/--until``,
coarsened to whole days, months and years where the window covers them):

1. ``ReadControl`` reads the run's control document (``<results>/<run id>/control.json``, written
   by the CLI; ``--max-concurrency`` rewrites it), so each prefix's Map Run starts with the
   concurrency last asked for, not only the Map Run that was running then.
2. ``ReplayBatches``, a Distributed Map: ``ItemReader`` ``s3:listObjectsV2`` over the prefix,
   ``ItemBatcher`` (objects per batch from the input, at most ``MAX_INPUT_BYTES`` of items),
   ``MaxConcurrencyPath`` from the control document, ``ToleratedFailurePercentagePath`` from the
   input, child workflows of type EXPRESS that invoke the worker (``forwarder.replay_worker``),
   ``ResultWriter`` to the run's results prefix.

The worker's errors are retried by name, with backoff and full jitter, within an Express
workflow's five minutes (``worst_case_seconds``); a child that still fails counts against the
tolerated failure percentage and can be redriven (the checkpoint skips what it finished).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

SCHEMA = "ecs-stop-forwarder/replay-at-scale/v1"
#: Where the module keeps the template, from the repository's root.
TEMPLATE = Path("infra/modules/replay-at-scale/state-machine.asl.json")
#: The placeholders the module fills in (``templatefile``), with the values a test renders.
PLACEHOLDERS = {
    "worker_function_arn": "arn:aws:lambda:eu-west-1:111122223333:function:ecs-stop-forwarder-replay",
    "archive_bucket": "archive-bucket",
    "archive_prefix": "ecs-task-stop-log/",
    "results_bucket": "results-bucket",
    "results_prefix": "ecs-stop-forwarder-replay/",
}
#: Step Functions' limit on a state's input is 256 KiB; a batch's items stay well under it,
#: leaving room for the BatchInput.
MAX_INPUT_BYTES = 200 * 1024
#: An Express child workflow runs at most five minutes; the worker's timeout is bounded so that
#: its attempts and the waits between them fit (``worst_case_seconds``; the module validates it).
EXPRESS_SECONDS = 300
WORKER_TIMEOUT_MAX = 60
#: The worker's errors (``forwarder.errors.BatchError``) that are worth another attempt, and those
#: that are not: a permanent vendor refusal, or a request or configuration that cannot work.
RETRIED = ("VendorThrottled", "VendorUnavailable", "BatchUnfinished")
NOT_RETRIED = ("BatchRejected", "BatchMisconfigured")
#: Lambda's own transient errors (throttled invocations, service errors), and its timeout.
LAMBDA_TRANSIENT = (
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "Lambda.TooManyRequestsException",
)
LAMBDA_TIMEOUT = "Sandbox.Timedout"


def _retry(errors: tuple[str, ...], interval: int, attempts: int, most: int) -> dict[str, Any]:
    return {"ErrorEquals": list(errors), "IntervalSeconds": interval, "MaxAttempts": attempts,
            "BackoffRate": 2, "MaxDelaySeconds": most, "JitterStrategy": "FULL"}  # fmt: skip


#: The worker's retries, in the order Step Functions tries them.
WORKER_RETRY = [
    _retry(LAMBDA_TRANSIENT, 2, 3, 20),
    _retry(("VendorThrottled",), 5, 3, 20),
    _retry(("VendorUnavailable", "BatchUnfinished", LAMBDA_TIMEOUT), 5, 3, 20),
]


def worst_case_seconds(worker_timeout: float, retrier: dict[str, Any]) -> float:
    """How long a child workflow can take when one retrier is used to the end: every attempt
    running the worker's whole timeout, every wait as long as it can be."""
    delay, waits = float(retrier["IntervalSeconds"]), 0.0
    for _ in range(retrier["MaxAttempts"]):
        waits += min(delay, retrier["MaxDelaySeconds"])
        delay *= retrier["BackoffRate"]
    return float((retrier["MaxAttempts"] + 1) * worker_timeout + waits)


def definition() -> dict[str, Any]:
    """The state machine, with ``${...}`` placeholders for the module to fill in."""
    batch_input = {
        "bucket.$": "$.module.archive_bucket",
        "destinations.$": "$.request.destinations",
        "since.$": "$.request.since",
        "until.$": "$.request.until",
        "cluster.$": "$.request.cluster",
        "service.$": "$.request.service",
        "family.$": "$.request.family",
        "category.$": "$.request.category",
        "min_severity.$": "$.request.min_severity",
        "timestamp.$": "$.request.timestamp",
        "only_undelivered.$": "$.request.only_undelivered",
        "max_rps.$": "$.request.max_rps",
        "run_id.$": "$.run_id",
        "results_prefix.$": "States.Format('s3://{}/{}{}/', $.module.results_bucket, "
        "$.module.results_prefix, $.run_id)",
    }
    return {
        "Comment": f"{SCHEMA}: ecs-stop-forwarder replay at scale. "
        "Generated by forwarder/scale/definition.py (make state-machine): do not edit.",
        "StartAt": "Configure",
        "States": {
            "Configure": {
                "Type": "Pass",
                "Comment": "Where this module's archive and results are (the CLI reads them here too).",
                "Result": {
                    "schema": SCHEMA,
                    "archive_bucket": "${archive_bucket}",
                    "archive_prefix": "${archive_prefix}",
                    "results_bucket": "${results_bucket}",
                    "results_prefix": "${results_prefix}",
                },
                "ResultPath": "$.module",
                "Next": "Start",
            },
            "Start": {
                "Type": "Pass",
                "Parameters": {"index": 0, "count.$": "States.ArrayLength($.prefixes)"},
                "ResultPath": "$.cursor",
                "Next": "MorePrefixes",
            },
            "MorePrefixes": {
                "Type": "Choice",
                "Choices": [
                    {
                        "Variable": "$.cursor.index",
                        "NumericLessThanPath": "$.cursor.count",
                        "Next": "ReadControl",
                    }
                ],
                "Default": "Done",
            },
            "ReadControl": {
                "Type": "Task",
                "Comment": "The concurrency last asked for (--max-concurrency rewrites the document).",
                "Resource": "arn:aws:states:::aws-sdk:s3:getObject",
                "Parameters": {
                    "Bucket.$": "$.module.results_bucket",
                    "Key.$": "States.Format('{}{}/control.json', $.module.results_prefix, $.run_id)",
                },
                "ResultSelector": {"settings.$": "States.StringToJson($.Body)"},
                "ResultPath": "$.control",
                "Retry": [_retry(("States.TaskFailed",), 2, 3, 20)],
                "Next": "PickPrefix",
            },
            "PickPrefix": {
                "Type": "Pass",
                "Parameters": {"prefix.$": "States.ArrayGetItem($.prefixes, $.cursor.index)"},
                "ResultPath": "$.current",
                "Next": "ReplayBatches",
            },
            "ReplayBatches": {
                "Type": "Map",
                "Label": "ReplayBatches",
                "ItemReader": {
                    "Resource": "arn:aws:states:::s3:listObjectsV2",
                    "Parameters": {"Bucket.$": "$.module.archive_bucket", "Prefix.$": "$.current.prefix"},
                },
                "ItemBatcher": {
                    "MaxItemsPerBatchPath": "$.objects_per_batch",
                    "MaxInputBytesPerBatch": MAX_INPUT_BYTES,
                    "BatchInput": batch_input,
                },
                "MaxConcurrencyPath": "$.control.settings.max_concurrency",
                "ToleratedFailurePercentagePath": "$.tolerated_failure_percentage",
                "ItemProcessor": {
                    "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "EXPRESS"},
                    "StartAt": "ReplayBatch",
                    "States": {
                        "ReplayBatch": {
                            "Type": "Task",
                            "Resource": "arn:aws:states:::lambda:invoke",
                            "Parameters": {"FunctionName": "${worker_function_arn}", "Payload.$": "$"},
                            "OutputPath": "$.Payload",
                            "Retry": WORKER_RETRY,
                            "End": True,
                        }
                    },
                },
                "ResultWriter": {
                    "Resource": "arn:aws:states:::s3:putObject",
                    "Parameters": {
                        "Bucket.$": "$.module.results_bucket",
                        "Prefix.$": "States.Format('{}{}/results', $.module.results_prefix, $.run_id)",
                    },
                },
                "ResultPath": "$.last_map_run",
                "Next": "Advance",
            },
            "Advance": {
                "Type": "Pass",
                "Parameters": {"index.$": "States.MathAdd($.cursor.index, 1)", "count.$": "$.cursor.count"},
                "ResultPath": "$.cursor",
                "Next": "MorePrefixes",
            },
            "Done": {"Type": "Succeed"},
        },
    }


def template() -> str:
    """The file the module reads: the definition as JSON, placeholders and all."""
    return json.dumps(definition(), indent=2) + "\n"


def render(values: dict[str, str] | None = None) -> dict[str, Any]:
    """The definition with the placeholders filled in, as ``templatefile`` fills them."""
    text = template()
    for name, value in (values or PLACEHOLDERS).items():
        text = text.replace("${" + name + "}", value)
    rendered: dict[str, Any] = json.loads(text)
    return rendered


def main(argv: list[str] | None = None) -> int:
    """``python -m forwarder.scale.definition [PATH]``: write the template (default ``TEMPLATE``)."""
    args = sys.argv[1:] if argv is None else argv
    path = Path(args[0]) if args else TEMPLATE
    path.write_text(template())
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
