"""What replay does to objects: their events read, filtered, and encoded for each destination.

Bytes in, a ``Digest`` out, and nothing shared: it runs in the replaying process or in a worker
process (replay parses on every core), on several objects at a time. Dedup, batching and sending
stay in the replaying process, which sees every digest in order. This module imports no AWS or
HTTP library, so a worker starts quickly and small.
"""

from __future__ import annotations

import signal
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from itertools import islice
from typing import Any, Literal

from forwarder.archive import REJECTED_SCHEMA, SCHEMA
from forwarder.errors import ForwarderError, InputError, InvalidEvent
from forwarder.inputs import Item, iter_items, read_file, reads_inexactly
from forwarder.model import ArchivedRecord, Record, StopRecord, severity_rank
from forwarder.parse import parse_event
from forwarder.payloads import Encoder, Replay, record_timestamp_ms
from forwarder.sources import Window
from forwarder.status import DELIVERED

try:
    import msgspec
except ImportError:  # pragma: no cover - the Lambda zip is pure Python
    msgspec = None  # type: ignore[assignment]

CHUNK_BYTES = 1_000_000  # input a worker digests before it hands its results back ...
CHUNK_EVENTS = 1_000  # ... or events it reads (gzip makes bytes a poor measure of what comes out)
TimestampPolicy = Literal["original", "now", "auto"]
HOUR_MS = 3_600_000
#: How old a log each destination still indexes (Datadog 18 h, New Relic 48 h), and how far ahead.
WINDOW_MS = {"datadog": 18 * HOUR_MS, "newrelic": 48 * HOUR_MS}
FUTURE_MS = {"datadog": 2 * HOUR_MS}
#: ``auto`` switches to "now" at least this long before the window closes: the log must still be
#: inside it when the vendor reads it. Replay adds the longest a record encoded now can wait to be
#: sent (``Replayer.margin_ms``: the queue ahead of it at ``--max-rps``, and ``--timeout`` of retries).
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
class Selection:
    """Which records are replayed (all given sets must match; empty sets match everything)."""

    window: Window = field(default_factory=Window)
    clusters: frozenset[str] = frozenset()
    services: frozenset[str] = frozenset()
    families: frozenset[str] = frozenset()
    categories: frozenset[str] = frozenset()
    min_severity: str = "info"

    def keeps(self, record: Record) -> bool:
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
    for entry in entries(data, name):
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


def entries(
    data: bytes, name: str
) -> Iterator[tuple[StopRecord | ArchivedRecord, dict[str, Any] | None] | ForwarderError]:
    """Stop records in one object (and the archive's delivery record when there is one).

    An archive document as this tool writes it is read without its raw event
    (``_archive_document``). Any other object is read without the scan for integers beyond 64 bits
    (orjson reads them as floats): such an integer can change an entry only by making it invalid (an
    ``exitCode`` or epoch time as a float) or by putting an integral float of 2**63 or more in an
    archived record. At the first such entry, if the object holds such an integer, it is read again
    exactly from that item on (the readers yield the same items), so the result is what an exact
    read gives. Other objects skip the scan, which cost ~2.6 µs an event."""
    if data.startswith(_ARCHIVE_START) and (document := _archive_document(data)) is not None:
        yield document
        return
    checked = False
    for position, item in enumerate(iter_items(data, name, exact=False)):
        entry = _entry(item)
        if entry is None:
            continue
        if not checked and _suspect(entry):
            checked = True
            if reads_inexactly(data):  # the rest, from this item on, read exactly
                exact = (_entry(again) for again in islice(iter_items(data, name), position, None))
                yield from (found for found in exact if found is not None)
                return
        yield entry


#: How this tool writes an archive document (``pipeline``: the schema first, compact JSON).
_ARCHIVE_START = b'{"schema":"' + SCHEMA.encode() + b'"'

if msgspec is not None:

    class _ArchiveDocument(msgspec.Struct):
        """What replay reads of an archive document: the raw ``event`` (over half of it) is only
        checked to be JSON, never built, and no other field is."""

        schema: str
        record: dict[str, Any]
        deliveries: dict[str, Any] = {}  # noqa: RUF012 - msgspec copies a mutable default

    _ARCHIVE_DECODER = msgspec.json.Decoder(_ArchiveDocument)


def _archive_document(data: bytes) -> tuple[StopRecord | ArchivedRecord, dict[str, Any]] | None:
    """One archive document, as this tool writes it, read without building its raw event: its
    record (as ``_archived_record`` takes it) and deliveries; None when anything is not as
    written (not UTF-8 text, not one JSON document, a field of another type, a record that
    is not usable without the event, no msgspec): the caller reads it the general way, which
    says what is wrong. ~6 µs a document, against ~16 to build all of it.

    What it accepts, the general reader reads the same: msgspec refuses whatever orjson
    refuses (NaN, lone surrogates, numbers out of range, nesting as deep), but for bytes that are
    not UTF-8 inside the skipped event, which the check here refuses; and it reads integers
    beyond 64 bits exactly, as the standard library does."""
    if msgspec is None or not (data.isascii() or _is_utf8(data)):
        return None
    try:
        document = _ARCHIVE_DECODER.decode(data)
    except (msgspec.DecodeError, RecursionError):
        return None
    if document.schema != SCHEMA:
        return None
    record = _usable_record(document.record)
    return None if record is None else (record, document.deliveries)


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode()
    except UnicodeDecodeError:
        return False
    return True


def _entry(
    item: Item | InputError,
) -> tuple[StopRecord | ArchivedRecord, dict[str, Any] | None] | ForwarderError | None:
    if isinstance(item, InputError):
        return item
    value = item.value
    schema = value.get("schema") if isinstance(value, dict) else None
    if schema == REJECTED_SCHEMA:
        return None
    try:
        if schema == SCHEMA:
            deliveries = value.get("deliveries")
            return _archived_record(value), deliveries if isinstance(deliveries, dict) else {}
        return parse_event(value), None
    except InvalidEvent as exc:
        return InvalidEvent(f"{item.where}: {exc}")


_LONG = 2.0**63  # orjson reads an integer literal beyond 64 bits as a float at least this large


def _suspect(entry: tuple[StopRecord | ArchivedRecord, dict[str, Any] | None] | ForwarderError) -> bool:
    """Whether an integer orjson read as a float may have made this entry: an invalid event, or
    an archived record holding an integral float of 2**63 or more (a parsed event's numbers
    are integers, or it was invalid)."""
    if isinstance(entry, InvalidEvent):
        return True
    if isinstance(entry, ForwarderError) or entry[1] is None:
        return False
    record = entry[0]
    if isinstance(record, ArchivedRecord):
        data = record.data
        numbers = [data["revision"], data["exit_code"], data["run_seconds"]]
        numbers += [container["exit_code"] for container in data["containers"]]
    else:
        numbers = [record.revision, record.exit_code, record.run_seconds]
        numbers += [container.exit_code for container in record.containers]
    return any(isinstance(number, float) and abs(number) >= _LONG for number in numbers)


def _archived_record(document: dict[str, Any]) -> StopRecord | ArchivedRecord:
    """The record as it was archived (and sent), else the raw event parsed when the record is
    unusable."""
    record = document.get("record")
    usable = _usable_record(record) if isinstance(record, dict) else None
    return usable if usable is not None else parse_event(document.get("event"))


def _usable_record(record: dict[str, Any]) -> StopRecord | ArchivedRecord | None:
    """An archived record as it is (no re-parse) when it has exactly a record's shape, else
    rebuilt; None when it cannot be."""
    view = ArchivedRecord.of(record)
    if view is not None:
        return view
    try:
        return StopRecord.from_dict(record)
    except (KeyError, TypeError, AttributeError):
        return None


# --- worker processes ---------------------------------------------------------------------------
_plan: Plan | None = None


def start_worker(plan: Plan) -> None:
    """A worker process's initializer: the plan arrives once, not with every chunk. Ctrl-C on a
    terminal reaches the whole process group: the replaying process handles it (it stops the
    workers after their current chunk); a worker dying of it would leave the pool hanging."""
    global _plan  # noqa: PLW0603 - one plan per worker process, set once
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _plan = plan


def digest_chunk(
    chunk: list[tuple[str, bytes | str]], now_ms: int, budget: int = CHUNK_BYTES, events: int = CHUNK_EVENTS
) -> Digest:
    """``digest`` in a worker process, with the plan it was started with."""
    assert _plan is not None, "start_worker was not run"
    return digest(_plan, chunk, now_ms, budget, events)


def worker_ready() -> bool:
    """A probe: answered once a worker process is up (its initializer has run)."""
    return _plan is not None
