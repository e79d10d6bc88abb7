"""The forwarder's own telemetry: one structured log line per event and CloudWatch Embedded Metric
Format (EMF) documents, both single JSON lines on stdout, which Lambda ships to CloudWatch Logs.

EMF is written by hand (a few lines) rather than with aws-lambda-powertools, to keep the package
and its cold start small.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

from forwarder.destinations.base import DELIVERED, FAILED_PERMANENT, FAILED_RETRYABLE
from forwarder.pipeline import EventResult

NAMESPACE = "EcsStopForwarder"


def event_log(result: EventResult, latency_ms: float) -> dict[str, Any]:
    """One log line for one input: never keys, never the raw event."""
    line: dict[str, Any] = {"archive_key": result.key, "latency_ms": round(latency_ms, 1)}
    if result.rejected is not None:
        line.update(level="WARNING", message=f"rejected input: {result.rejected}", kind=result.rejected.kind)
        return line
    assert result.record is not None
    record = result.record
    outcomes = {name: outcome.get("status") for name, outcome in result.deliveries.items()}
    failed = result.permanent + result.retryable
    line.update(
        level="ERROR" if failed else "INFO",
        message=record.message
        if not failed
        else f"delivery failed to {', '.join(failed)}: "
        + "; ".join(f"{name}: {result.deliveries[name].get('error')}" for name in failed),
        event_id=record.event_id,
        category=record.category,
        severity=record.severity,
        cluster=record.cluster,
        group=record.group,
        outcomes=outcomes,
    )
    return line


def archive_metrics(retries: int, timestamp_ms: int) -> dict[str, Any]:
    """The EMF document of an invocation that raised: how often the archive was retried."""
    return {
        "_aws": {
            "Timestamp": timestamp_ms,
            "CloudWatchMetrics": [
                {
                    "Namespace": NAMESPACE,
                    "Dimensions": [[]],
                    "Metrics": [{"Name": "ArchiveRetries", "Unit": "Count"}],
                }
            ],
        },
        "ArchiveRetries": retries,
    }


def metrics(
    results: Sequence[EventResult], latency_ms: float, timestamp_ms: int, archive_retries: int = 0
) -> list[dict[str, Any]]:
    """EMF documents: Received, Rejected, DeliveryLatency, ArchiveRetries (S3 calls made again after
    throttling, a 5xx or no answer); Delivered and Failed per destination."""
    received = sum(1 for r in results if r.record is not None)
    rejected = sum(1 for r in results if r.rejected is not None)
    documents: list[dict[str, Any]] = [
        {
            "_aws": {
                "Timestamp": timestamp_ms,
                "CloudWatchMetrics": [
                    {
                        "Namespace": NAMESPACE,
                        "Dimensions": [[]],
                        "Metrics": [
                            {"Name": "Received", "Unit": "Count"},
                            {"Name": "Rejected", "Unit": "Count"},
                            {"Name": "DeliveryLatency", "Unit": "Milliseconds"},
                            {"Name": "ArchiveRetries", "Unit": "Count"},
                        ],
                    }
                ],
            },
            "Received": received,
            "Rejected": rejected,
            "DeliveryLatency": round(latency_ms, 1),
            "ArchiveRetries": archive_retries,
        }
    ]
    delivered: Counter[str] = Counter()
    failed: Counter[str] = Counter()
    for result in results:
        for name in result.attempted:
            status = result.deliveries[name].get("status")
            if status == DELIVERED:
                delivered[name] += 1
            elif status in (FAILED_RETRYABLE, FAILED_PERMANENT):
                failed[name] += 1
    for name in sorted(set(delivered) | set(failed)):
        documents.append(
            {
                "_aws": {
                    "Timestamp": timestamp_ms,
                    "CloudWatchMetrics": [
                        {
                            "Namespace": NAMESPACE,
                            "Dimensions": [["Destination"]],
                            "Metrics": [
                                {"Name": "Delivered", "Unit": "Count"},
                                {"Name": "Failed", "Unit": "Count"},
                            ],
                        }
                    ],
                },
                "Destination": name,
                "Delivered": delivered[name],
                "Failed": failed[name],
            }
        )
    return documents
