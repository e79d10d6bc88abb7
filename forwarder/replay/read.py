"""Objects -> stop records: what replay and report read from an archive object.

An object may hold this tool's archive documents (the record as archived, with its deliveries),
Firehose backup objects (events, parsed and classified now) or anything ``explain`` reads.
Damage is not raised: it comes out as error entries, and reading goes on.
"""

from __future__ import annotations

from collections.abc import Iterator
from itertools import islice
from typing import Any

from forwarder.archive import REJECTED_SCHEMA, SCHEMA
from forwarder.errors import ForwarderError, InputError, InvalidEvent
from forwarder.inputs import Item, iter_items, reads_inexactly
from forwarder.model import ArchivedRecord, StopRecord
from forwarder.parse import parse_event

try:
    import msgspec
except ImportError:  # pragma: no cover - the Lambda zip is pure Python
    msgspec = None  # type: ignore[assignment]

#: One entry of an object: a record and its archive document's deliveries (None for an input
#: that has no archive document), or what could not be read.
Entry = tuple[StopRecord | ArchivedRecord, dict[str, Any] | None] | ForwarderError


def entries(data: bytes, name: str) -> Iterator[Entry]:
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
