"""Replay archives to the vendors: read, filter, deduplicate, batch, send — streaming.

Objects are read one at a time and their stop records queued per destination; a full batch becomes
a job for a bounded pool of sender threads (each with its own destinations), so memory stays flat
however large the archive. An object is checkpointed once every record read from it was delivered.
"""

from __future__ import annotations

import threading
import time
from array import array
from bisect import bisect_left
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from itertools import chain
from pathlib import Path
from typing import Any, Literal

from forwarder.archive import REJECTED_SCHEMA, SCHEMA
from forwarder.destinations.base import DELIVERED, Destination
from forwarder.errors import ForwarderError, InputError, InvalidEvent
from forwarder.inputs import iter_items
from forwarder.model import StopRecord, severity_rank
from forwarder.parse import parse_event
from forwarder.payloads import Replay, record_timestamp_ms
from forwarder.sources import SourceObject, Window

TimestampPolicy = Literal["original", "now", "auto"]
BATCH = 1000  # records per job: one Datadog request, about one New Relic request
HOUR_MS = 3_600_000
#: How old a log each destination still indexes (Datadog 18 h, New Relic 48 h), and how far ahead.
WINDOW_MS = {"datadog": 18 * HOUR_MS, "newrelic": 48 * HOUR_MS}
FUTURE_MS = {"datadog": 2 * HOUR_MS}
#: ``auto`` switches to "now" this long before the window closes: the log must still be inside it
#: when the vendor reads it.
MARGIN_MS = 5 * 60_000


def replay_mark(record: StopRecord, destination: str, policy: TimestampPolicy, now_ms: int) -> Replay:
    """The timestamp a replayed record is sent with; the original is always kept."""
    original = record_timestamp_ms(record)
    if original is None or policy == "now":
        return Replay(now_ms, original)
    if policy == "original":
        return Replay(original, original)
    window = WINDOW_MS.get(destination)
    too_old = window is not None and now_ms - original > window - MARGIN_MS
    future = FUTURE_MS.get(destination)
    too_new = future is not None and original - now_ms > future - MARGIN_MS
    return Replay(now_ms if too_old or too_new else original, original)


@dataclass(frozen=True)
class Selection:
    """Which records are replayed (all given sets must match; empty sets match everything)."""

    window: Window = field(default_factory=Window)
    clusters: frozenset[str] = frozenset()
    services: frozenset[str] = frozenset()
    families: frozenset[str] = frozenset()
    categories: frozenset[str] = frozenset()
    min_severity: str = "info"

    def keeps(self, record: StopRecord) -> bool:
        bounded = self.window.since is not None or self.window.until is not None
        moment = datetime.fromisoformat(record.time) if bounded and record.time else None
        if moment is not None and self.window.since is not None and moment < self.window.since:
            return False
        if moment is not None and self.window.until is not None and moment > self.window.until:
            return False
        return (
            (not self.clusters or record.cluster in self.clusters)
            and (not self.services or record.service in self.services)
            and (not self.families or record.family in self.families)
            and (not self.categories or record.category in self.categories)
            and severity_rank(record.severity) >= severity_rank(self.min_severity)
        )


@dataclass
class Stats:
    objects: int = 0
    objects_skipped: int = 0
    read: int = 0
    matched: int = 0
    duplicates: int = 0
    already_delivered: int = 0
    invalid: int = 0
    sent: Counter[str] = field(default_factory=Counter)
    failed: Counter[str] = field(default_factory=Counter)
    errors: Counter[tuple[str, str]] = field(default_factory=Counter)
    started: float = field(default_factory=time.monotonic)

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def to_dict(self) -> dict[str, Any]:
        return {
            "objects": self.objects,
            "objects_skipped_by_checkpoint": self.objects_skipped,
            "read": self.read,
            "matched": self.matched,
            "duplicates_skipped": self.duplicates,
            "already_delivered": self.already_delivered,
            "invalid": self.invalid,
            "sent": dict(self.sent),
            "failed": dict(self.failed),
            "errors": [{"destination": d, "error": e, "count": n} for (d, e), n in self.errors.items()],
            "elapsed_seconds": round(self.elapsed, 3),
        }


class Checkpoint:
    """Finished objects, one name a line, appended as they finish: a re-run skips them."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.done = set(self.path.read_text().splitlines()) if self.path.exists() else set()
        self._lock = threading.Lock()

    def mark(self, name: str) -> None:
        with self._lock, self.path.open("a") as handle:
            handle.write(name + "\n")
            handle.flush()
        self.done.add(name)


class RateLimiter:
    """At most ``rate`` job starts per second across all senders."""

    def __init__(self, rate: float | None) -> None:
        self.interval = 1.0 / rate if rate else 0.0
        self._next = 0.0
        self._lock = threading.Lock()

    def wait(self) -> None:
        if not self.interval:
            return
        with self._lock:
            now = time.monotonic()
            start = max(now, self._next)
            self._next = start + self.interval
        time.sleep(max(0.0, start - now))


@dataclass
class _Object:
    name: str
    pending: int = 0
    read: bool = False
    failed: bool = False


class SeenIds:
    """Event ids seen in this run, for dedup: 8 bytes each (a 64-bit hash in sorted arrays), so a
    million events cost ~8 MB instead of ~100 MB of strings. New ids wait in a small set, are merged
    into a middle array, which is merged into the main one when it grows large: merging stays cheap
    and few Python objects stay alive. A false "seen" needs two ids with the same 64-bit hash."""

    RECENT = 4_096
    MIDDLE = 131_072

    def __init__(self) -> None:
        self._main = array("q")
        self._middle = array("q")
        self._recent: set[int] = set()

    def add(self, event_id: str) -> bool:
        """True when ``event_id`` is new (and remember it), False when it was seen before."""
        fingerprint = hash(event_id)
        if fingerprint in self._recent or _has(self._middle, fingerprint) or _has(self._main, fingerprint):
            return False
        self._recent.add(fingerprint)
        if len(self._recent) >= self.RECENT:
            # sorted() finds the long sorted run and merges in C: far cheaper than heapq.merge.
            self._middle = array("q", sorted(chain(self._middle, self._recent)))
            self._recent = set()
            if len(self._middle) >= self.MIDDLE:
                self._main = array("q", sorted(chain(self._main, self._middle)))
                self._middle = array("q")
        return True


def _has(values: array[int], fingerprint: int) -> bool:
    at = bisect_left(values, fingerprint)
    return at < len(values) and values[at] == fingerprint


def entries(data: bytes, name: str) -> Iterator[tuple[StopRecord, dict[str, Any] | None] | ForwarderError]:
    """Stop records in one object (and the archive's delivery record when there is one)."""
    for item in iter_items(data, name):
        if isinstance(item, InputError):
            yield item
            continue
        value = item.value
        schema = value.get("schema") if isinstance(value, dict) else None
        if schema == REJECTED_SCHEMA:
            continue
        try:
            if schema == SCHEMA:
                deliveries = value.get("deliveries")
                yield _archived_record(value), deliveries if isinstance(deliveries, dict) else {}
            else:
                yield parse_event(value), None
        except InvalidEvent as exc:
            yield InvalidEvent(f"{item.where}: {exc}")


def _archived_record(document: dict[str, Any]) -> StopRecord:
    """The record as it was archived (and sent) — no re-parse; the raw event if the record is unusable."""
    record = document.get("record")
    if isinstance(record, dict):
        try:
            return StopRecord.from_dict(record)
        except (KeyError, TypeError, AttributeError):
            pass
    return parse_event(document.get("event"))


class Replayer:
    def __init__(
        self,
        names: tuple[str, ...],
        destination_factory: Callable[[str], Destination],
        selection: Selection,
        *,
        timestamp: TimestampPolicy = "auto",
        only_undelivered: bool = False,
        concurrency: int = 4,
        max_rps: float | None = None,
        timeout: float = 300.0,
        checkpoint: Checkpoint | None = None,
        report: Callable[[str, ForwarderError], None] = lambda where, error: None,
        progress: Callable[[Stats], None] = lambda stats: None,
        dry_run: Callable[[StopRecord, tuple[str, ...]], None] | None = None,
        now_ms: Callable[[], int] = lambda: int(time.time() * 1000),
        batch: int = BATCH,
    ) -> None:
        self.batch = batch
        self.names = names
        self.factory = destination_factory
        self.selection = selection
        self.timestamp = timestamp
        self.only_undelivered = only_undelivered
        self.concurrency = max(1, concurrency)
        self.limiter = RateLimiter(max_rps)
        self.timeout = timeout
        self.checkpoint = checkpoint
        self.report = report
        self.progress = progress
        self.dry_run = dry_run
        self.now_ms = now_ms
        self.stats = Stats()
        self._lock = threading.Lock()
        self._local = threading.local()
        self._built: list[Destination] = []
        self._seen = SeenIds()

    # --- sender threads -------------------------------------------------------------------------
    def _destination(self, name: str) -> Destination:
        cache: dict[str, Destination] | None = getattr(self._local, "destinations", None)
        if cache is None:
            cache = self._local.destinations = {}
        if name not in cache:
            cache[name] = self.factory(name)
            with self._lock:
                self._built.append(cache[name])
        return cache[name]

    def _job(self, name: str, batch: list[tuple[StopRecord, _Object]]) -> None:
        self.limiter.wait()
        destination = self._destination(name)
        now_ms = self.now_ms()
        items = [
            destination.build(record, replay_mark(record, name, self.timestamp, now_ms))
            for record, _ in batch
        ]
        outcomes = destination.deliver(items, time.monotonic() + self.timeout)
        with self._lock:
            for (_, owner), outcome in zip(batch, outcomes, strict=True):
                if outcome.status == DELIVERED:
                    self.stats.sent[name] += 1
                else:
                    self.stats.failed[name] += 1
                    self.stats.errors[(name, f"{outcome.status}: {outcome.error}")] += 1
                    owner.failed = True
                owner.pending -= 1
                self._finish_if_done(owner)

    def _finish_if_done(self, owner: _Object) -> None:
        if owner.read and owner.pending == 0 and not owner.failed and self.checkpoint is not None:
            self.checkpoint.mark(owner.name)

    # --- reading (the calling thread) ------------------------------------------------------------
    def _wanted(self, record: StopRecord, deliveries: dict[str, Any] | None) -> tuple[str, ...]:
        """Destinations this record goes to; empty when filtered, seen, or already delivered."""
        if not self.selection.keeps(record):
            return ()
        if self.only_undelivered:
            if deliveries is None:  # no delivery record to go by (e.g. a Firehose backup): not ours to resend
                return ()
            wanted = tuple(n for n in self.names if deliveries.get(n, {}).get("status") != DELIVERED)
            if not wanted:
                self.stats.already_delivered += 1
                return ()
        else:
            wanted = self.names
        if not self._seen.add(record.event_id):
            self.stats.duplicates += 1
            return ()
        return wanted

    def run(self, objects: Iterable[SourceObject | InputError]) -> Stats:
        queues: dict[str, list[tuple[StopRecord, _Object]]] = {name: [] for name in self.names}
        slots = threading.BoundedSemaphore(self.concurrency)  # jobs queued or running: bounded memory
        futures: list[Future[None]] = []
        executor = ThreadPoolExecutor(max_workers=self.concurrency, thread_name_prefix="replay")

        def release(_: Future[None]) -> None:
            slots.release()

        def submit(name: str) -> None:
            batch, queues[name] = queues[name], []
            slots.acquire()
            future = executor.submit(self._job, name, batch)
            future.add_done_callback(release)
            futures.append(future)

        try:
            for source in objects:
                if isinstance(source, InputError):
                    self.report(source.source, source)
                    continue
                if self.checkpoint is not None and source.name in self.checkpoint.done:
                    self.stats.objects_skipped += 1
                    continue
                owner = _Object(source.name)
                self._read(source, owner, queues, submit)
                with self._lock:
                    owner.read = True
                    self.stats.objects += 1
                    self._finish_if_done(owner)
                self.progress(self.stats)
            for name in self.names:
                if queues[name]:
                    submit(name)
            for future in futures:
                future.result()  # wait, and re-raise a sender's unexpected error
        finally:
            executor.shutdown(wait=True, cancel_futures=True)
            for destination in self._built:
                destination.close()
        self.progress(self.stats)
        return self.stats

    def _read(
        self,
        source: SourceObject,
        owner: _Object,
        queues: dict[str, list[tuple[StopRecord, _Object]]],
        submit: Callable[[str], None],
    ) -> None:
        try:
            data = source.read()
        except InputError as exc:
            self.report(source.name, exc)
            owner.failed = True
            return
        for entry in entries(data, source.name):
            if isinstance(entry, ForwarderError):
                self.stats.invalid += 1
                owner.failed = isinstance(entry, InputError) or owner.failed
                self.report(source.name, entry)
                continue
            record, deliveries = entry
            self.stats.read += 1
            wanted = self._wanted(record, deliveries)
            if not wanted:
                continue
            self.stats.matched += 1
            if self.dry_run is not None:
                self.dry_run(record, wanted)
                continue
            for name in wanted:
                with self._lock:
                    owner.pending += 1
                queues[name].append((record, owner))
                if len(queues[name]) >= self.batch:
                    submit(name)
