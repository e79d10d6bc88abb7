"""An archive in the local AWS emulator's S3 for the replay-at-scale tests, and the batch a
Distributed Map would hand the worker for it.

Both formats, interleaved in key order as they are in a real archive: this tool's archive
documents (one event each, named by event id in hour folders) and Firehose backup objects (gzip,
records concatenated with no delimiter), and optionally one corrupt object (three good records,
then one cut off mid-record). Every event is a fixture event moved to its own task and minute, so
each has its own id. What was written is returned, so tests know what to expect without asking
the code under test.
"""

from __future__ import annotations

import gzip
import json
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import cycle
from typing import Any

from forwarder.archive_layout import SCHEMA, encode, event_key
from forwarder.parse import parse_event
from forwarder.redact import redact
from tests.fixtures import stopped_events
from tests.report_archive import rehome

BUCKET = "scale-archive"
PREFIX = "ecs-task-stop-log/"
START = datetime(2026, 11, 28, 0, 0, 30, tzinfo=UTC)


@dataclass
class Written:
    """What ``put_archive`` wrote: every event id, by object key; the corrupt object's key."""

    ids_by_key: dict[str, list[str]] = field(default_factory=dict)
    corrupt_key: str | None = None

    @property
    def ids(self) -> list[str]:
        return sorted(event_id for ids in self.ids_by_key.values() for event_id in ids)


def events(count: int, start: datetime = START) -> list[dict[str, Any]]:
    """``count`` distinct stop events, a minute apart, cycling through the fixtures."""
    fixtures = cycle(stopped_events())
    return [
        rehome(next(fixtures), "scale-prod", f"svc-{index % 7}", f"svc-{index % 7}-td", start + timedelta(minutes=index))
        for index in range(count)
    ]  # fmt: skip


def document(event: dict[str, Any]) -> bytes:
    """An archive document as the forwarder writes it (nothing delivered yet)."""
    record = parse_event(event)
    return encode({"schema": SCHEMA, "event_id": record.event_id, "event_time": record.time,
                   "archived_at": record.time, "category": record.category, "severity": record.severity,
                   "record": record.to_dict(), "event": redact(event), "deliveries": {}})  # fmt: skip


def firehose(events: list[dict[str, Any]]) -> bytes:
    return gzip.compress("".join(json.dumps(e, separators=(",", ":")) for e in events).encode())


def put_archive(s3: Any, documents: int, firehose_objects: int, per_object: int, *, corrupt: bool = True) -> Written:
    """Write ``documents`` archive documents and ``firehose_objects`` Firehose backups of
    ``per_object`` events (and a corrupt object) under ``PREFIX`` in ``BUCKET``."""
    s3.create_bucket(Bucket=BUCKET)
    written = Written()
    puts: list[tuple[str, bytes]] = []
    stream = events(documents + firehose_objects * per_object + (3 if corrupt else 0))
    every = max(1, documents // max(firehose_objects, 1))  # a Firehose object every so many documents
    for index in range(documents):
        event = stream.pop(0)
        moment = datetime.fromisoformat(event["time"].replace("Z", "+00:00"))
        key = event_key(PREFIX, event["id"], moment)
        puts.append((key, document(event)))
        written.ids_by_key[key] = [event["id"]]
        if index % every == 0 and firehose_objects:
            firehose_objects -= 1
            group, stream = stream[:per_object], stream[per_object:]
            key = f"{PREFIX}{moment:%Y/%m/%d/%H}/stops-1-{moment:%Y-%m-%d-%H-%M-%S}-{index:05d}.gz"
            puts.append((key, firehose(group)))
            written.ids_by_key[key] = [e["id"] for e in group]
    for number in range(firehose_objects):  # what is left over
        group, stream = stream[:per_object], stream[per_object:]
        key = f"{PREFIX}2026/11/30/00/stops-1-rest-{number:05d}.gz"
        puts.append((key, firehose(group)))
        written.ids_by_key[key] = [e["id"] for e in group]
    if corrupt:
        good, stream = stream[:3], stream[3:]
        body = "".join(json.dumps(e, separators=(",", ":")) for e in good) + '{"version":"0","id":"cut-off-he'
        key = f"{PREFIX}2026/11/28/05/stops-1-corrupt.gz"
        puts.append((key, gzip.compress(body.encode())))
        written.ids_by_key[key] = [e["id"] for e in good]
        written.corrupt_key = key
    with ThreadPoolExecutor(8) as pool:  # the emulator takes them in parallel
        list(pool.map(lambda put: s3.put_object(Bucket=BUCKET, Key=put[0], Body=put[1]), puts))
    return written


def items(s3: Any, prefix: str = PREFIX) -> list[dict[str, Any]]:
    """The objects under ``prefix`` as the Distributed Map's ``s3:listObjectsV2`` reader hands
    them to a child workflow."""
    listed = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=prefix):
        for entry in page.get("Contents", []):
            listed.append({"Etag": entry["ETag"], "Key": entry["Key"], "LastModified": int(entry["LastModified"].timestamp()),
                           "Size": entry["Size"], "StorageClass": entry.get("StorageClass", "STANDARD")})  # fmt: skip
    return listed


def batch_input(destinations: list[str], run_id: str = "replay-test-run", **request: Any) -> dict[str, Any]:
    """The ``BatchInput`` the state machine builds for every batch of a run."""
    return {"bucket": BUCKET, "destinations": destinations, "since": None, "until": None, "cluster": [],
            "service": [], "family": [], "category": [], "min_severity": None, "timestamp": "original",
            "only_undelivered": False, "max_rps": None, "run_id": run_id,
            "results_prefix": f"s3://{BUCKET}/replay-results/{run_id}/", **request}  # fmt: skip
