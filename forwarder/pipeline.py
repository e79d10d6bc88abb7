"""The forwarder's main job, for the Lambda handler and ``send`` alike.

For each input: parse it; archive it first (nothing is sent without a durable copy); skip the
destinations an earlier attempt already delivered to (idempotent Lambda retries); deliver to the
rest in batches, the destinations side by side; rewrite the archive document with every outcome.
Inputs that are not ECS STOPPED task events are archived under ``rejected/`` with the reason and
sent nowhere.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from forwarder.archive import REJECTED_SCHEMA, SCHEMA, ArchiveStore, decode, encode, event_key, rejected_key
from forwarder.destinations.base import DELIVERED, FAILED_PERMANENT, FAILED_RETRYABLE, Destination, Outcome
from forwarder.errors import InvalidEvent
from forwarder.model import StopRecord, severity_rank
from forwarder.parse import iso, parse_event
from forwarder.redact import redact

SKIPPED = "skipped"


def deliver(
    records: Sequence[StopRecord], destinations: Sequence[Destination], deadline: float
) -> list[dict[str, Outcome]]:
    """Send ``records`` to each destination; for each record, its outcome per destination name."""
    results: list[dict[str, Outcome]] = [{} for _ in records]
    for destination in destinations:
        items: list[dict[str, Any]] = [destination.build(record) for record in records]
        for result, outcome in zip(results, destination.deliver(items, deadline), strict=True):
            result[destination.name] = outcome
    return results


@dataclass(frozen=True)
class Filters:
    """What goes to vendors. The archive always gets everything."""

    min_severity: str = "info"
    exclude_categories: frozenset[str] = frozenset()

    def skip_reason(self, record: StopRecord) -> str | None:
        if record.category in self.exclude_categories:
            return f"category {record.category} is excluded (FORWARDER_EXCLUDE_CATEGORIES)"
        if severity_rank(record.severity) < severity_rank(self.min_severity):
            return f"severity {record.severity} is below FORWARDER_MIN_SEVERITY={self.min_severity}"
        return None


@dataclass
class EventResult:
    """What happened to one input. ``deliveries`` maps destination -> archived outcome dict."""

    key: str
    record: StopRecord | None = None
    rejected: InvalidEvent | None = None
    deliveries: dict[str, dict[str, Any]] = field(default_factory=dict)
    attempted: set[str] = field(default_factory=set)  # destinations tried by this call

    def with_status(self, status: str) -> list[str]:
        return [name for name, outcome in self.deliveries.items() if outcome.get("status") == status]

    @property
    def retryable(self) -> list[str]:
        return self.with_status(FAILED_RETRYABLE)

    @property
    def permanent(self) -> list[str]:
        return self.with_status(FAILED_PERMANENT)


def _archived(document: dict[str, Any]) -> StopRecord | None:
    """The record an archive document holds, None when it holds none usable."""
    try:
        return StopRecord.from_dict(document["record"])
    except (KeyError, TypeError, AttributeError):
        return None


def utc_now() -> datetime:
    return datetime.now(UTC)


class Forwarder:
    """Archive-first delivery of raw inputs. ``destinations`` is called only when something must be
    sent, so a retry that has nothing left to send never resolves keys."""

    def __init__(
        self,
        archive: ArchiveStore,
        names: Sequence[str],
        destinations: Callable[[], Sequence[Destination]],
        filters: Filters | None = None,
        now: Callable[[], datetime] = utc_now,
        *,
        enrich: Callable[[StopRecord, float], StopRecord] | None = None,
    ) -> None:
        self.archive = archive
        self.names = tuple(names)
        self._destinations = destinations
        self.filters = filters or Filters()
        self.now = now
        self.enrich = enrich  # diagnosis beyond the event (forwarder.enrich), between parse and archive

    def forward(self, raws: Sequence[Any], deadline: float) -> list[EventResult]:
        """Archive, deliver and record each of ``raws``; ``ArchiveError`` and ``ConfigError`` propagate
        (after the inputs were archived, for the latter)."""
        results: list[EventResult] = []
        documents: dict[int, dict[str, Any]] = {}
        for index, raw in enumerate(raws):
            result, document = self._archive(raw, deadline)
            results.append(result)
            if document is not None:
                documents[index] = document
        pending = {
            name: [i for i in documents if self._needs(results[i], documents[i], name)] for name in self.names
        }
        if any(pending.values()):
            by_name = {d.name: d for d in self._destinations()}
            jobs = [
                (by_name[name], [results[i] for i in indices]) for name, indices in pending.items() if indices
            ]
            # Side by side, each with the whole deadline: a vendor that hangs must not hold back the other.
            with ThreadPoolExecutor(max_workers=len(jobs), thread_name_prefix="deliver") as pool:
                for future in [
                    pool.submit(self._send, destination, batch, deadline) for destination, batch in jobs
                ]:
                    future.result()
        for index, document in documents.items():
            if results[index].attempted:  # outcomes (or filter decisions) to record
                document["deliveries"] = results[index].deliveries
                self.archive.put(results[index].key, encode(document))
        return results

    def _archive(self, raw: Any, deadline: float) -> tuple[EventResult, dict[str, Any] | None]:
        now = self.now()
        try:
            record = parse_event(raw)
        except InvalidEvent as exc:
            safe = redact(raw)
            body = json.dumps(safe, sort_keys=True).encode()  # ASCII-escaped: any text hashes
            key = rejected_key(self.archive.prefix, body, now)
            rejected = {"schema": REJECTED_SCHEMA, "received_at": iso(now), "kind": exc.kind,
                        "reason": str(exc), "input": safe}  # fmt: skip
            self.archive.put(key, encode(rejected))
            return EventResult(key, rejected=exc), None
        moment = datetime.fromisoformat(record.time) if record.time else now
        key = event_key(self.archive.prefix, record.event_id, moment)
        existing = self.archive.get(key)
        if existing is not None:  # a retry of the same event: keep what was delivered
            document = decode(existing, key)
            deliveries = dict(document.get("deliveries") or {})
            record = _archived(document) or record  # what was diagnosed the first time
        else:
            if self.enrich is not None:  # diagnosis beyond the event, once, before the first write
                record = self.enrich(record, deadline)
            document = {"schema": SCHEMA, "event_id": record.event_id, "event_time": record.time,
                        "archived_at": iso(now), "category": record.category, "severity": record.severity,
                        "record": record.to_dict(), "event": redact(raw), "deliveries": {}}  # fmt: skip
            deliveries = {}
            self.archive.put(key, encode(document))  # archive first
        return EventResult(key, record=record, deliveries=deliveries), document

    def _needs(self, result: EventResult, document: dict[str, Any], name: str) -> bool:
        assert result.record is not None
        previous = result.deliveries.get(name, {}).get("status")
        if previous in (DELIVERED, SKIPPED):
            return False
        reason = self.filters.skip_reason(result.record)
        if reason is not None:
            result.deliveries[name] = {"status": SKIPPED, "reason": reason, "at": iso(self.now())}
            result.attempted.add(name)
            return False
        return True

    def _send(self, destination: Destination, results: list[EventResult], deadline: float) -> None:
        records = [r.record for r in results if r.record is not None]
        outcomes = deliver(records, [destination], deadline)
        at = iso(self.now())
        for result, outcome in zip(results, outcomes, strict=True):
            result.deliveries[destination.name] = {**outcome[destination.name].to_dict(), "at": at}
            result.attempted.add(destination.name)
