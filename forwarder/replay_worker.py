"""AWS Lambda entry point of replay at scale: ``forwarder.replay_worker.lambda_handler``.

The Step Functions Distributed Map (``infra/modules/replay-at-scale``) hands it one batch of
archive objects as ``s3:listObjectsV2`` listed them, with the run's request:

    {"Items": [{"Key": ..., "Size": ..., "Etag": ..., "LastModified": ..., "StorageClass": ...}],
     "BatchInput": {"bucket": ..., "destinations": ["datadog"], "since": ISO|null, "until": ISO|null,
                    "cluster": [...], "service": [...], "family": [...], "category": [...],
                    "min_severity": null|"warning", "timestamp": "original"|"now"|"auto",
                    "only_undelivered": false, "max_rps": null|1.0,
                    "run_id": "...", "results_prefix": "s3://bucket/prefix/run-id/"}}

It replays the batch (``forwarder.scale.batch``) and returns its counts, or raises an error
Step Functions matches by its name (``forwarder.errors.BatchError``): ``VendorThrottled``,
``VendorUnavailable`` and ``BatchUnfinished`` are retried with backoff and go on from the
checkpoint, ``BatchRejected`` and ``BatchMisconfigured`` are not.

Like the forwarder's handler, importing it does no I/O and reads no environment; vendor keys come
from Secrets Manager or SSM (or the environment) through the same settings and resolver, and
everything is built on the first invocation and reused by the warm container.
"""

from __future__ import annotations

import functools
import json
import os
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from botocore.exceptions import BotoCoreError, ClientError

from forwarder.archive import S3Archive
from forwarder.classify import CATEGORIES
from forwarder.config import DESTINATIONS, Settings
from forwarder.destinations.clients import Urllib3Client, prepare_tls
from forwarder.errors import (
    ArchiveError,
    BatchMisconfigured,
    BatchRejected,
    BatchUnfinished,
    ConfigError,
    InputError,
    VendorThrottled,
    VendorUnavailable,
)
from forwarder.model import SEVERITIES
from forwarder.replay.digest import TimestampPolicy
from forwarder.replay.selection import Selection, Window
from forwarder.replay.sources import SourceObject
from forwarder.scale.batch import BatchPlan, BatchResult, replay_batch
from forwarder.scale.checkpoint import Checkpoint, batch_id
from forwarder.secrets import KeyResolver
from forwarder.wiring import ClientFactory, VendorClients, aws_client, print_line

RESULT_SCHEMA = "ecs-stop-forwarder/replay-batch/v1"
#: The worker stops this long before the Lambda's timeout: the checkpoint is written and the
#: counts returned (or the error raised) before Lambda would cut it off.
SAFETY_MARGIN_SECONDS = 3.0
#: Optional: the KMS key the results bucket wants checkpoints written with (SSE-S3 otherwise).
RESULTS_KMS_VARIABLE = "REPLAY_RESULTS_KMS_KEY_ID"
_POLICIES = ("original", "now", "auto")
_RUN_ID = re.compile(r"^[A-Za-z0-9_-]{1,80}$")


class LambdaContext(Protocol):
    def get_remaining_time_in_millis(self) -> int: ...


@dataclass(frozen=True)
class BatchInput:
    """A Distributed Map batch, checked: its items, and the request as ``BatchPlan``."""

    items: tuple[Mapping[str, Any], ...]
    bucket: str
    plan: BatchPlan
    run_id: str
    results_bucket: str
    results_prefix: str  # a key prefix, ending in "/"

    @classmethod
    def from_event(cls, event: Any) -> BatchInput:
        """``ConfigError`` naming the field when anything is not as the state machine sends it."""
        if not isinstance(event, dict) or not isinstance(event.get("BatchInput"), dict):
            raise ConfigError("the event is not a Distributed Map batch: no BatchInput object")
        items = event.get("Items")
        if not isinstance(items, list) or not all(
            isinstance(item, dict) and isinstance(item.get("Key"), str) and item["Key"] for item in items
        ):
            raise ConfigError("Items must be a list of objects with a Key, as s3:listObjectsV2 lists them")
        given = event["BatchInput"]
        bucket = _text(given, "bucket")
        names = _texts(given, "destinations")
        unknown = [name for name in names if name not in DESTINATIONS]
        if unknown or not names:
            raise ConfigError(f"BatchInput.destinations: choose from {', '.join(DESTINATIONS)}, got {names}")
        categories = _texts(given, "category")
        if bad := sorted(set(categories) - set(CATEGORIES)):
            raise ConfigError(f"BatchInput.category: unknown categories {', '.join(bad)}")
        severity = given.get("min_severity") or "info"
        if severity not in SEVERITIES:
            raise ConfigError(f"BatchInput.min_severity must be null or one of {', '.join(SEVERITIES)}")
        timestamp = given.get("timestamp") or "auto"
        if timestamp not in _POLICIES:
            raise ConfigError("BatchInput.timestamp must be original, now or auto")
        run_id = _text(given, "run_id")
        if not _RUN_ID.match(run_id):
            raise ConfigError("BatchInput.run_id must be 1-80 letters, digits, '-' or '_'")
        results = _text(given, "results_prefix")
        results_bucket, _, results_prefix = results.removeprefix("s3://").partition("/")
        if not results.startswith("s3://") or not results_bucket or not results_prefix.endswith("/"):
            raise ConfigError("BatchInput.results_prefix must be s3://bucket/prefix/ (ending in /)")
        max_rps = given.get("max_rps")
        if max_rps is not None and (
            isinstance(max_rps, bool) or not isinstance(max_rps, int | float) or not max_rps > 0
        ):
            raise ConfigError("BatchInput.max_rps must be null or a number above 0")
        only_undelivered = given.get("only_undelivered", False)
        if not isinstance(only_undelivered, bool):
            raise ConfigError("BatchInput.only_undelivered must be true or false")
        selection = Selection(
            Window(_moment(given, "since"), _moment(given, "until")),
            frozenset(_texts(given, "cluster")), frozenset(_texts(given, "service")),
            frozenset(_texts(given, "family")), frozenset(categories), severity,
        )  # fmt: skip
        policy: TimestampPolicy = (
            "original" if timestamp == "original" else "now" if timestamp == "now" else "auto"
        )
        plan = BatchPlan(names, selection, policy, only_undelivered, float(max_rps) if max_rps else None)
        return cls(tuple(items), bucket, plan, run_id, results_bucket, results_prefix)

    def objects(self, reader: Callable[[str, str], Callable[[], bytes]]) -> list[SourceObject]:
        bucket = self.bucket
        return [
            SourceObject(f"s3://{bucket}/{item['Key']}", _size(item.get("Size")), reader(bucket, item["Key"]))
            for item in self.items
        ]

    @property
    def checkpoint_key(self) -> str:
        return f"{self.results_prefix}checkpoints/{batch_id(self.items)}.json"


class Worker:
    """Built once per container: settings (keys by reference), the key resolver, S3 clients, and
    the destinations (rebuilt when a key rotates)."""

    def __init__(
        self,
        settings: Settings,
        client_factory: ClientFactory,
        results_kms_key_id: str | None = None,
        emit: Callable[[str], None] | None = None,
    ) -> None:
        self.settings = settings
        self.resolver = KeyResolver(client_factory)
        self.s3 = client_factory("s3")  # object reads: botocore's few quick retries
        self.store_client = client_factory("s3", retries=False)  # the checkpoint: the deadline-aware policy
        self.results_kms_key_id = results_kms_key_id
        self.emit = emit or print_line
        self.vendors = VendorClients(settings, self.resolver, http=Urllib3Client)

    @classmethod
    def from_env(cls, environ: Mapping[str, str], client_factory: ClientFactory = aws_client) -> Worker:
        settings = Settings.from_env(environ)
        prepare_tls()  # beside the first calls to S3
        return cls(settings, client_factory, environ.get(RESULTS_KMS_VARIABLE) or None)

    def handle(self, event: Any, context: LambdaContext | None) -> dict[str, Any]:
        started = time.monotonic()
        remaining = context.get_remaining_time_in_millis() / 1000 if context else 60.0
        deadline = started + max(remaining - SAFETY_MARGIN_SECONDS, 1.0)
        try:
            batch = BatchInput.from_event(event)
            destinations = {name: self.vendors.get(name) for name in batch.plan.destinations}
        except ConfigError as exc:
            raise BatchMisconfigured(str(exc)) from None
        store = S3Archive(self.store_client, batch.results_bucket, "", self.results_kms_key_id)
        checkpoint = Checkpoint(store, batch.checkpoint_key, batch.run_id)
        try:
            checkpoint.load(deadline)
            result = replay_batch(batch.objects(self._reader), batch.plan, destinations, checkpoint, deadline)
        except ArchiveError as exc:  # the checkpoint: throttled or down is worth a retry, denied is not
            kind = BatchUnfinished if exc.retryable else BatchMisconfigured
            raise kind(f"checkpoint {checkpoint.location}: {exc}") from None
        answer = {"schema": RESULT_SCHEMA, "run_id": batch.run_id, "checkpoint": checkpoint.location,
                  **result.to_dict()}  # fmt: skip
        self.emit(json.dumps({"level": "INFO", "message": "replay batch", **answer}))
        _raise_for(result, answer)
        return answer

    def _reader(self, bucket: str, key: str) -> Callable[[], bytes]:
        def read() -> bytes:
            try:
                return bytes(self.s3.get_object(Bucket=bucket, Key=key)["Body"].read())
            except ClientError as exc:
                code = str(exc.response.get("Error", {}).get("Code", "error"))
                raise InputError(f"cannot read ({code})", f"s3://{bucket}/{key}") from None
            except BotoCoreError as exc:
                raise InputError(f"cannot read ({type(exc).__name__})", f"s3://{bucket}/{key}") from None

        return read


def _raise_for(result: BatchResult, answer: dict[str, Any]) -> None:
    """The error Step Functions retries (or not) for what is left undone; nothing when all is."""
    if result.throttled:
        raise VendorThrottled(f"{result.throttled} record(s) still throttled (429) at the deadline", answer)
    if result.unavailable:
        raise VendorUnavailable(f"{result.unavailable} record(s) not delivered by the deadline", answer)
    if result.objects_unfinished:
        raise BatchUnfinished(f"{result.objects_unfinished} object(s) not read by the deadline", answer)
    if result.rejected:
        raise BatchRejected(f"{result.rejected} record(s) refused by a destination", answer)


def _text(given: Mapping[str, Any], name: str) -> str:
    value = given.get(name)
    if not isinstance(value, str) or not value:
        raise ConfigError(f"BatchInput.{name} must be a non-empty string")
    return value


def _texts(given: Mapping[str, Any], name: str) -> tuple[str, ...]:
    value = given.get(name)
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise ConfigError(f"BatchInput.{name} must be null or a list of non-empty strings")
    return tuple(dict.fromkeys(value))


def _moment(given: Mapping[str, Any], name: str) -> datetime | None:
    value = given.get(name)
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        raise ConfigError(f"BatchInput.{name} must be null or ISO 8601, got {value!r}") from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _size(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


@functools.cache
def worker() -> Worker:
    """The container's worker, built on first use (not at import)."""
    return Worker.from_env(os.environ)


def lambda_handler(event: Any, context: LambdaContext | None) -> dict[str, Any]:
    return worker().handle(event, context)


__all__ = ["BatchInput", "Worker", "lambda_handler"]
