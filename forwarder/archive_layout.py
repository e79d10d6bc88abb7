"""What the archive holds and where: the keys, and ``ArchiveDocument``, one stop as archived.

``<prefix>YYYY/MM/DD/HH/<event id>.json`` (UTC of the event time) holds one document: the stop
record as it was sent, the raw event (redacted) and each destination's outcome, as one line of
JSON (Athena reads one document per line), the schema first. Inputs that were never ECS STOPPED
task events go under ``<prefix>rejected/YYYY/MM/DD/HH/`` with the reason. The writer (the
pipeline) and every reader (the pipeline's re-reads, replay, report) go through the same type.
Pure: no AWS client here (``forwarder.archive`` holds the stores), so replay's worker processes
read documents without importing one.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from forwarder.codec import STDLIB
from forwarder.errors import ArchiveError
from forwarder.model import ArchivedRecord, StopRecord
from forwarder.parse import parse_event

SCHEMA = "ecs-stop-forwarder/archive/v1"
REJECTED_SCHEMA = "ecs-stop-forwarder/rejected/v1"
#: How every document this tool writes starts: the schema first, compact JSON.
DOCUMENT_START = b'{"schema":"' + SCHEMA.encode() + b'"'
_SAFE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")


def hour_path(moment: datetime) -> str:
    return moment.strftime("%Y/%m/%d/%H/")


def safe_id(event_id: str) -> str:
    """The event id if it is safe in a key, else a stable hash of it."""
    return (
        event_id if _SAFE_ID.match(event_id) else "id-" + hashlib.sha256(event_id.encode()).hexdigest()[:32]
    )


def event_key(prefix: str, event_id: str, event_time: datetime) -> str:
    return f"{prefix}{hour_path(event_time)}{safe_id(event_id)}.json"


def rejected_key(prefix: str, raw: bytes, moment: datetime) -> str:
    """Named by the content's hash: the same bad input retried lands on the same object."""
    return f"{prefix}rejected/{hour_path(moment)}{hashlib.sha256(raw).hexdigest()[:32]}.json"


def encode(document: dict[str, Any]) -> bytes:
    """One line of JSON, UTF-8, from the standard library: the input kept exactly, NaN included."""
    return STDLIB.encode(document) + b"\n"


@dataclass(frozen=True, slots=True)
class ArchiveDocument:
    """A thin typed view over one archive document, as its JSON holds it (``data``): what the
    product reads of it, whatever else a writer put there kept as it is when it is rewritten.
    A reader may leave the raw event out (replay reads it only when the record is unusable)."""

    data: dict[str, Any]

    @classmethod
    def new(cls, record: StopRecord, event: Any, archived_at: str) -> ArchiveDocument:
        """The document the pipeline writes for ``record`` and its (redacted) raw ``event``."""
        return cls({"schema": SCHEMA, "event_id": record.event_id, "event_time": record.time,
                    "archived_at": archived_at, "category": record.category, "severity": record.severity,
                    "record": record.to_dict(), "event": event, "deliveries": {}})  # fmt: skip

    @classmethod
    def of(cls, value: Any) -> ArchiveDocument | None:
        """``value`` (one JSON value) as an archive document, None when it is not one."""
        return cls(value) if isinstance(value, dict) and value.get("schema") == SCHEMA else None

    @classmethod
    def decode(cls, data: bytes, where: str) -> ArchiveDocument:
        """A stored document (the standard library reads it whole); ``ArchiveError`` when it is not one."""
        try:
            value = json.loads(data)
        except ValueError as exc:
            raise ArchiveError(f"{where}: not an archive document ({exc})") from None
        if not isinstance(value, dict):
            raise ArchiveError(f"{where}: not an archive document (a JSON {type(value).__name__})")
        return cls(value)

    def encode(self) -> bytes:
        return encode(self.data)

    @property
    def deliveries(self) -> dict[str, Any]:
        """Each destination's outcome (a copy: callers change it); none when it holds none."""
        found = self.data.get("deliveries")
        return dict(found) if isinstance(found, dict) else {}

    def with_deliveries(self, deliveries: dict[str, Any]) -> ArchiveDocument:
        return ArchiveDocument({**self.data, "deliveries": deliveries})

    def stop_record(self) -> StopRecord | None:
        """The record it holds, rebuilt; None when it holds none usable."""
        try:
            return StopRecord.from_dict(self.data["record"])
        except (KeyError, TypeError, AttributeError):
            return None

    def usable_record(self) -> StopRecord | ArchivedRecord | None:
        """The record as it was archived (and sent): a view when it has exactly a record's shape,
        else rebuilt (unknown fields dropped); None when it holds none usable."""
        record = self.data.get("record")
        if not isinstance(record, dict):
            return None
        view = ArchivedRecord.of(record)
        return view if view is not None else self.stop_record()

    def replayed_record(self) -> StopRecord | ArchivedRecord:
        """``usable_record``, else the raw event parsed (``InvalidEvent`` when it is no stop either)."""
        usable = self.usable_record()
        return usable if usable is not None else parse_event(self.data.get("event"))
