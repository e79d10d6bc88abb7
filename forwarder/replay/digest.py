"""The per-object work of a replay: objects' events read, filtered, and encoded for each destination.

Bytes in, a ``Digest`` out, and nothing shared: it runs in the replaying process or in a worker
process (``workers``), on several objects at a time. Dedup, batching and sending stay in the
replaying process, which sees every digest in order.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

from forwarder.codec import STDLIB, Codec
from forwarder.errors import ForwarderError, InputError
from forwarder.inputs import read_file
from forwarder.model import ArchivedRecord, Record, StopRecord
from forwarder.payloads import Encoder, Replay, record_timestamp_ms
from forwarder.replay.read import entries
from forwarder.replay.selection import Selection
from forwarder.status import DELIVERED

TimestampPolicy = Literal["original", "now", "auto"]
HOUR_MS = 3_600_000
#: How old a log each destination still indexes (Datadog 18 h, New Relic 48 h), and how far ahead.
WINDOW_MS = {"datadog": 18 * HOUR_MS, "newrelic": 48 * HOUR_MS}
FUTURE_MS = {"datadog": 2 * HOUR_MS}
#: ``auto`` switches to "now" at least this long before the window closes: the log must still be
#: inside it when the vendor reads it. Replay adds the longest a record encoded now can wait to be
#: sent (``Replayer``: the queue ahead of it at ``--max-rps``, and ``--timeout`` of retries).
MARGIN_MS = 5 * 60_000


def replay_mark(
    record: Record, destination: str, policy: TimestampPolicy, now_ms: int, margin_ms: int = MARGIN_MS
) -> Replay:
    """The timestamp a replayed record is sent with; the original is always kept."""
    original = record_timestamp_ms(record)
    if original is None or policy == "now":
        return Replay(now_ms, original)
    if policy == "original":
        return Replay(original, original)
    window = WINDOW_MS.get(destination)
    too_old = window is not None and now_ms - original > window - margin_ms
    future = FUTURE_MS.get(destination)
    too_new = future is not None and original - now_ms > future - margin_ms
    return Replay(now_ms if too_old or too_new else original, original)


@dataclass(frozen=True)
class Plan:
    """Everything a digest needs; plain values, pickled once to each worker process."""

    names: tuple[str, ...]
    encoders: tuple[Encoder, ...]  # one per name
    selection: Selection = field(default_factory=Selection)
    timestamp: TimestampPolicy = "auto"
    only_undelivered: bool = False
    keep_records: bool = False  # dry run: keep the records, encode nothing (``encoders`` may be empty)
    margin_ms: int = MARGIN_MS  # see replay_mark
    codec: Codec = STDLIB  # how objects are read (gzip, JSON)


@dataclass
class Digest:
    """Objects digested together (one worker task, or a run of objects in the replaying process),
    in order. For each object: its name, and where its records end in the columns. The records
    that passed the filters, as columns (cheap to pickle, and one result per task rather than one
    per object: the replaying process handles 64 one-event archive documents as one piece): their
    event ids, and for each destination of the plan one encoded log per record (None where the
    record is not to go there)."""

    names: list[str] = field(default_factory=list)
    ends: list[int] = field(default_factory=list)  # per object: len(ids) once its records are in
    unreadable: list[int] = field(default_factory=list)  # objects not wholly read: not checkpointed
    read: int = 0
    already_delivered: int = 0
    errors: list[tuple[str, ForwarderError]] = field(default_factory=list)  # (object, what went wrong)
    ids: list[str] = field(default_factory=list)
    lines: tuple[list[bytes | None], ...] = ()
    records: list[tuple[StopRecord, tuple[str, ...]]] = field(default_factory=list)  # dry run: with where to

    @classmethod
    def failed(cls, name: str, error: ForwarderError) -> Digest:
        """An object that could not be fetched: nothing read, reported, not checkpointed."""
        return cls([name], [0], [0], errors=[(name, error)])


def digest(
    plan: Plan,
    objects: Iterable[tuple[str, bytes | str]],
    now_ms: int,
    budget: int | None = None,
    events: int | None = None,
) -> Digest:
    """Digest objects (name, its bytes or the path of a local file, read here) in order. Stops
    after ``budget`` bytes of input or ``events`` events read, whichever comes first (at least
    one object is taken): the caller sends the rest again (``len(result.names)`` were taken). So
    one task of large files never holds them all in memory, and a task's result is about the same
    size whatever the objects are (64 archive documents, or one gzipped Firehose object of
    thousands)."""
    result = Digest(lines=() if plan.keep_records else tuple([] for _ in plan.names))
    size = 0  # bytes of input
    for name, data in objects:
        try:
            raw = read_file(data) if isinstance(data, str) else data
        except InputError as exc:
            result.errors.append((name, exc))
            wholly_read = False
        else:
            size += len(raw)
            wholly_read = _digest_into(result, plan, name, raw, now_ms)
        if not wholly_read:
            result.unreadable.append(len(result.names))
        result.names.append(name)
        result.ends.append(len(result.ids))
        if (budget is not None and size >= budget) or (events is not None and result.read >= events):
            break
    return result


def _digest_into(result: Digest, plan: Plan, name: str, data: bytes, now_ms: int) -> bool:
    """One object's records added to ``result``; False when part of it could not be read."""
    wholly_read = True
    names, keeps = plan.names, plan.selection.keeps
    policy, margin = plan.timestamp, plan.margin_ms
    ids, errors = result.ids, result.errors
    columns = () if plan.keep_records else tuple(zip(names, plan.encoders, result.lines, strict=True))
    for entry in entries(data, name, plan.codec):
        if isinstance(entry, ForwarderError):
            errors.append((name, entry))
            wholly_read = wholly_read and not isinstance(entry, InputError)
            continue
        record, deliveries = entry
        result.read += 1
        if not keeps(record):
            continue
        wanted = names
        if plan.only_undelivered:
            if deliveries is None:  # no delivery record to go by (a Firehose backup): not ours to resend
                continue
            wanted = tuple(n for n in names if _status(deliveries.get(n)) != DELIVERED)
            if not wanted:
                result.already_delivered += 1
                continue
        ids.append(record.event_id)
        if plan.keep_records:  # shown as a dry run: the whole typed record
            result.records.append((record.record() if isinstance(record, ArchivedRecord) else record, wanted))
            continue
        for destination, encoder, column in columns:
            if destination in wanted:
                column.append(encoder(record, replay_mark(record, destination, policy, now_ms, margin)))
            else:
                column.append(None)
    return wholly_read


def _status(delivery: Any) -> Any:
    return delivery.get("status") if isinstance(delivery, dict) else None
