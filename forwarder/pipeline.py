"""The forwarder's main job, for the Lambda handler, ``send`` and ``redrive`` alike.

For each input: parse it, and archive it first with a create-only write that also claims every
destination it is to be sent to (nothing is sent without a durable copy, and a concurrent duplicate
of the event cannot claim them too). When the document exists already (a Lambda retry, a duplicate,
a redrive) it is re-read and only what is neither delivered nor held by another live invocation is
claimed, with a compare-and-swap (``forwarder.claims``). Then: deliver in batches, the destinations
side by side; record each outcome with a compare-and-swap, re-reading and merging on conflict; wait
for what another invocation holds, and take it over if that one fails or its claim expires. Inputs
that are not ECS STOPPED task events are archived under ``rejected/`` with the reason and sent
nowhere.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from forwarder import claims
from forwarder.archive import ArchiveStore
from forwarder.archive_layout import REJECTED_SCHEMA, ArchiveDocument, encode, event_key, rejected_key
from forwarder.claims import SKIPPED
from forwarder.destinations.base import FAILED_PERMANENT, FAILED_RETRYABLE, Destination, Outcome
from forwarder.errors import ArchiveError, ForwarderError, InvalidEvent
from forwarder.model import StopRecord, severity_rank
from forwarder.parse import iso, parse_event
from forwarder.redact import redact

__all__ = ["SKIPPED", "EventResult", "Filters", "Forwarder", "deliver"]

#: Archive calls may go on this long after the delivery deadline, to record the outcomes; claims
#: expire then (the handler's deadline leaves 3 s before Lambda's timeout, so a claim expires inside it).
RECORD_SECONDS = 2.5
#: Waiting for another invocation's claim: the first re-read after this long, then twice as long each
#: time, up to the last figure.
FIRST_POLL, LAST_POLL = 0.05, 1.0
#: A document that keeps changing under a writer this many times is reported, not fought over.
MAX_CONFLICTS = 50
#: Releasing claims after an error: at most this long, the error is what gets reported.
CLEANUP_SECONDS = 1.0


def deliver(
    records: Sequence[StopRecord], destinations: Sequence[Destination], deadline: float
) -> list[dict[str, Outcome]]:
    """Send ``records`` to each destination; for each record, its outcome per destination name."""
    results: list[dict[str, Outcome]] = [{} for _ in records]
    for destination in destinations:
        encode = destination.encoder
        parts = [encode(record, None) for record in records]
        for result, outcome in zip(results, destination.send(parts, deadline), strict=True):
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
    """What happened to one input. ``deliveries`` maps destination -> archived outcome dict (what the
    archive document says at the end: another invocation's claim shows as ``in-flight``)."""

    key: str
    record: StopRecord | None = None
    rejected: InvalidEvent | None = None
    deliveries: dict[str, dict[str, Any]] = field(default_factory=dict)
    attempted: set[str] = field(default_factory=set)  # destinations this call sent to

    def with_status(self, status: str) -> list[str]:
        return [name for name, outcome in self.deliveries.items() if outcome.get("status") == status]

    @property
    def retryable(self) -> list[str]:
        return self.with_status(FAILED_RETRYABLE)

    @property
    def permanent(self) -> list[str]:
        return self.with_status(FAILED_PERMANENT)


@dataclass
class _Open:
    """An archive document this call holds a version of (``tag``), and what it holds in it."""

    key: str
    record: StopRecord
    document: ArchiveDocument
    tag: str
    mine: frozenset[str] = frozenset()  # claimed by this call, to send
    theirs: frozenset[str] = frozenset()  # claimed by another live invocation, to wait for
    outcomes: dict[str, dict[str, Any]] = field(default_factory=dict)  # sent, not yet recorded
    results: list[EventResult] = field(default_factory=list)  # the inputs it stands for


def utc_now() -> datetime:
    return datetime.now(UTC)


class Forwarder:
    """Archive-first delivery of raw inputs. ``destinations`` is called only when something must be
    sent, so a retry that has nothing left to send never resolves keys. ``now`` (wall clock, for
    claims' expiry), ``monotonic`` (deadlines) and ``sleep`` (waiting for another's claim) are
    injectable."""

    def __init__(
        self,
        archive: ArchiveStore,
        names: Sequence[str],
        destinations: Callable[[], Sequence[Destination]],
        filters: Filters | None = None,
        now: Callable[[], datetime] | None = None,
        *,
        monotonic: Callable[[], float] | None = None,
        sleep: Callable[[float], None] | None = None,
        enrich: Callable[[StopRecord, float], StopRecord] | None = None,
    ) -> None:
        self.archive = archive
        self.names = tuple(names)
        self._destinations = destinations
        self.filters = filters or Filters()
        self.now = now or utc_now
        self.monotonic = monotonic or time.monotonic
        self.sleep = sleep or time.sleep
        self.enrich = enrich  # diagnosis beyond the event (forwarder.enrich), before the first write

    def forward(self, raws: Sequence[Any], deadline: float, label: str | None = None) -> list[EventResult]:
        """Archive, deliver and record each of ``raws``; ``ArchiveError`` and ``ConfigError`` propagate
        (after the inputs were archived, for the latter). ``label`` starts this call's claim token
        (the Lambda request id), which is unique per call."""
        token = f"{label}/{uuid.uuid4().hex[:12]}" if label else uuid.uuid4().hex
        results: list[EventResult] = []
        opened: dict[str, _Open] = {}
        try:
            for raw in raws:
                result, document = self._archive(raw, deadline)
                results.append(result)
                if document is None or result.record is None:
                    continue
                if result.key not in opened:  # the same event twice in one call is sent once
                    opened[result.key] = self._open(result.key, result.record, document, deadline, token)
                opened[result.key].results.append(result)
                result.record = opened[result.key].record
            while True:
                todo = [o for o in opened.values() if o.mine]
                if todo:
                    self._deliver(todo, deadline, token)
                if not self._wait([o for o in opened.values() if o.theirs], deadline, token):
                    break
        except ForwarderError as exc:
            self._clean_up(opened.values(), exc, token)
            raise
        for held in opened.values():
            for result in held.results:
                result.deliveries = held.document.deliveries
        return results

    def _archive(self, raw: Any, deadline: float) -> tuple[EventResult, ArchiveDocument | None]:
        """Parse ``raw`` into its stop record and archive document (written by ``_open``, with its
        claims); an input that is not a STOPPED task event is archived under ``rejected/`` here."""
        now = self.now()
        try:
            record = parse_event(raw)
        except InvalidEvent as exc:
            return self.reject(raw, exc, deadline), None
        moment = datetime.fromisoformat(record.time) if record.time else now
        key = event_key(self.archive.prefix, record.event_id, moment)
        if self.enrich is not None:  # diagnosis beyond the event; a retry sends what was archived (_open)
            record = self.enrich(record, deadline)
        return EventResult(key, record=record), ArchiveDocument.new(record, redact(raw), iso(now))

    def reject(self, raw: Any, error: InvalidEvent, deadline: float) -> EventResult:
        """Keep ``raw`` (redacted) under ``rejected/`` with the reason; the same input again finds it kept."""
        now = self.now()
        safe = redact(raw)
        body = json.dumps(safe, sort_keys=True).encode()  # ASCII-escaped: any text hashes
        key = rejected_key(self.archive.prefix, body, now)
        rejected = {"schema": REJECTED_SCHEMA, "received_at": iso(now), "kind": error.kind,
                    "reason": str(error), "input": safe}  # fmt: skip
        self.archive.create(key, encode(rejected), deadline + RECORD_SECONDS)
        return EventResult(key, rejected=error)

    def _skips(self, record: StopRecord) -> dict[str, dict[str, Any]]:
        reason = self.filters.skip_reason(record)
        if reason is None:
            return {}
        entry = {"status": SKIPPED, "reason": reason, "at": iso(self.now())}
        return dict.fromkeys(self.names, entry)

    def _claim(
        self, held: _Open, names: Sequence[str], fresh: ArchiveDocument | None, deadline: float, token: str
    ) -> None:
        """Claim what is free of ``names`` in ``held``'s document: created from ``fresh`` when given
        and absent, else re-read and swapped."""
        expires = self.now() + timedelta(seconds=max(deadline - self.monotonic(), 0.0) + RECORD_SECONDS)
        skips = self._skips(held.record)
        found: list[claims.Claimed] = []

        def change(deliveries: dict[str, Any]) -> dict[str, Any]:
            found.append(claims.claim(deliveries, names, skips, token=token, expires=expires, now=self.now()))
            return found[-1].deliveries

        held.document, held.tag = self._update(
            held.key, fresh or held.document, change, deadline, stored=fresh is None
        )
        held.mine, held.theirs = found[-1].mine, found[-1].theirs

    def _open(
        self, key: str, record: StopRecord, document: ArchiveDocument, deadline: float, token: str
    ) -> _Open:
        held = _Open(key, record, document, tag="")
        self._claim(held, self.names, document, deadline, token)
        if held.document is not document:  # it was archived before: send the record as diagnosed then
            held.record = held.document.stop_record() or record
        return held

    def _update(
        self,
        key: str,
        fresh: ArchiveDocument,
        change: Callable[[dict[str, Any]], dict[str, Any]],
        deadline: float,
        *,
        stored: bool,
        known: tuple[ArchiveDocument, str] | None = None,
    ) -> tuple[ArchiveDocument, str]:
        """Apply ``change`` to the deliveries of the document at ``key`` with a conditional write,
        re-reading and applying it again on conflict; the document written (or found unchanged) and
        its version. ``stored``: the document exists (read it first), else create it from ``fresh``
        (also when it turns out to be gone). ``known``: a version this call holds, tried first."""
        limit = deadline + RECORD_SECONDS
        create = not stored and known is None
        for _ in range(MAX_CONFLICTS):
            if create:
                candidate = fresh.with_deliveries(change(fresh.deliveries))
                tag = self.archive.create(key, candidate.encode(), limit)
                if tag is not None:
                    return candidate, tag
            if known is None:
                found = self.archive.read(key, limit)
                create = found is None
                if found is None:  # gone, or not there yet: create it
                    continue
                known = ArchiveDocument.decode(found.data, key), found.tag
            document, tag = known
            current = document.deliveries
            changed = change(current)
            if changed == current:
                return document, tag
            candidate = document.with_deliveries(changed)
            new_tag = self.archive.replace(key, candidate.encode(), tag, limit)
            if new_tag is not None:
                return candidate, new_tag
            known = None
        raise ArchiveError(f"{key}: changed {MAX_CONFLICTS} times while it was being written", retryable=True)

    def _deliver(self, todo: list[_Open], deadline: float, token: str) -> None:
        """Send what ``todo`` holds, the destinations side by side, then record the outcomes."""
        jobs = {name: [held for held in todo if name in held.mine] for name in self.names}
        by_name = {d.name: d for d in self._destinations()}
        # Side by side, each with the whole deadline: a vendor that hangs must not hold back the other.
        runs = [(by_name[name], batch) for name, batch in jobs.items() if batch]
        with ThreadPoolExecutor(max_workers=len(runs), thread_name_prefix="deliver") as pool:
            futures = [pool.submit(self._send, destination, batch, deadline) for destination, batch in runs]
            for future in futures:
                future.result()
        for held in todo:
            self._record(held, deadline, token)

    def _send(self, destination: Destination, batch: list[_Open], deadline: float) -> None:
        outcomes = deliver([held.record for held in batch], [destination], deadline)
        at = iso(self.now())
        for held, outcome in zip(batch, outcomes, strict=True):
            held.outcomes[destination.name] = {**outcome[destination.name].to_dict(), "at": at}

    def _record(self, held: _Open, deadline: float, token: str) -> None:
        outcomes = dict(held.outcomes)

        def change(deliveries: dict[str, Any]) -> dict[str, Any]:
            return claims.settle(deliveries, outcomes, token, self.now())

        held.document, held.tag = self._update(
            held.key, held.document, change, deadline, stored=True, known=(held.document, held.tag)
        )
        held.results[0].attempted.update(outcomes)
        held.mine, held.outcomes = held.mine - set(outcomes), {}

    def _wait(self, waiting: list[_Open], deadline: float, token: str) -> bool:
        """Re-read what other invocations hold until it is settled or free to claim (their outcome
        failed, or their claim expired: their container died); True once this call claimed some."""
        pause = FIRST_POLL
        while waiting:
            if self.monotonic() + pause >= deadline:
                return False
            self.sleep(pause)
            pause = min(pause * 2, LAST_POLL)
            for held in waiting:
                self._claim(held, sorted(held.theirs), None, deadline, token)
            if any(held.mine for held in waiting):
                return True
            waiting = [held for held in waiting if held.theirs]
        return False

    def _clean_up(self, opened: Iterable[_Open], error: ForwarderError, token: str) -> None:
        """After ``error``: record what was sent, release what was claimed and not sent (so a retry
        need not wait for the claims to expire). Best effort, briefly: the error is what is reported."""
        deadline = self.monotonic() + CLEANUP_SECONDS - RECORD_SECONDS
        for held in opened:
            unsent = held.mine - set(held.outcomes)
            if not unsent and not held.outcomes:
                continue
            held.outcomes.update(dict.fromkeys(unsent, claims.not_sent(f"{type(error).__name__}: {error}")))
            try:
                self._record(held, deadline, token)
            except ArchiveError:
                return  # the archive is failing: the claims expire on their own
