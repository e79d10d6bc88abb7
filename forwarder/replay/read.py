"""Objects -> stop records: what replay and report read from an archive object.

An object may hold this tool's archive documents (the record as archived, with its deliveries),
Firehose backup objects (events, parsed and classified now) or anything ``explain`` reads.
Damage is not raised: it comes out as error entries, and reading goes on.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from forwarder.archive_layout import DOCUMENT_START, REJECTED_SCHEMA, ArchiveDocument
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

    An archive document as this tool writes it is read without building its raw event, when the
    codec can (``Codec.archived``) and its record is usable as archived; anything else is read
    whole, which says what is wrong."""
    if data.startswith(DOCUMENT_START) and (document := codec.archived(data)) is not None:
        usable = document.usable_record()
        if usable is not None:
            yield usable, document.deliveries
            return
    for item in iter_items(data, name, codec):
        entry = _entry(item)
        if entry is not None:
            yield entry


def _entry(item: Item | InputError) -> Entry | None:
    if isinstance(item, InputError):
        return item
    value = item.value
    if isinstance(value, dict) and value.get("schema") == REJECTED_SCHEMA:
        return None
    document = ArchiveDocument.of(value)
    try:
        if document is not None:
            return document.replayed_record(), document.deliveries
        return parse_event(value), None
    except InvalidEvent as exc:
        return InvalidEvent(f"{item.where}: {exc}")
