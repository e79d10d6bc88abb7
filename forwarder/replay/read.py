"""Objects -> stop records: what replay and report read from an archive object.

An object may hold this tool's archive documents (the record as archived, with its deliveries),
Firehose backup objects (events, parsed and classified now) or anything ``explain`` reads.
Damage is not raised: it comes out as error entries, and reading goes on.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from forwarder.archive import REJECTED_SCHEMA, SCHEMA
from forwarder.codec import STDLIB, Codec
from forwarder.errors import ForwarderError, InputError, InvalidEvent
from forwarder.inputs import Item, iter_items
from forwarder.model import ArchivedRecord, StopRecord
from forwarder.parse import parse_event

#: One entry of an object: a record and its archive document's deliveries (None for an input
#: that has no archive document), or what could not be read.
Entry = tuple[StopRecord | ArchivedRecord, dict[str, Any] | None] | ForwarderError


def entries(data: bytes, name: str, codec: Codec = STDLIB) -> Iterator[Entry]:
    """Stop records in one object (and the archive's delivery record when there is one).

    An archive document as this tool writes it (the schema first) is read without building its
    raw event, when the codec can (``Codec.archived``) and its record is usable as archived;
    anything else is read whole, which says what is wrong."""
    if data.startswith(_ARCHIVE_START) and (fields := codec.archived(data)) is not None:
        schema, record, deliveries = fields
        usable = _usable_record(record) if schema == SCHEMA else None
        if usable is not None:
            yield usable, deliveries
            return
    for item in iter_items(data, name, codec):
        entry = _entry(item)
        if entry is not None:
            yield entry


#: How this tool writes an archive document (``pipeline``: the schema first, compact JSON).
_ARCHIVE_START = b'{"schema":"' + SCHEMA.encode() + b'"'


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


def _archived_record(document: dict[str, Any]) -> StopRecord | ArchivedRecord:
    """The record as it was archived (and sent), else the raw event parsed when the record is
    unusable."""
    record = document.get("record")
    usable = _usable_record(record) if isinstance(record, dict) else None
    return usable if usable is not None else parse_event(document.get("event"))


def _usable_record(record: Any) -> StopRecord | ArchivedRecord | None:
    """An archived record as it is (no re-parse) when it has exactly a record's shape, else
    rebuilt; None when it cannot be."""
    view = ArchivedRecord.of(record)
    if view is not None:
        return view
    try:
        return StopRecord.from_dict(record)
    except (KeyError, TypeError, AttributeError):
        return None
