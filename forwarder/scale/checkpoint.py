"""The per-run checkpoint of a replay batch: which of its objects were wholly delivered.

One JSON document per batch under the run's results prefix,
``<results prefix>checkpoints/<batch id>.json``, where the batch id hashes the batch's keys and
ETags (a retried or redriven child execution gets the same batch, so it finds its document). It
holds, for each finished object, what it counted (read, matched, sent per destination), so a
later attempt skips the object and still reports the batch's whole count. It plays the part
``--checkpoint FILE`` plays for local replay; like it, records of an unfinished object are sent
again (at-least-once).

Written with conditional writes through the archive's S3 store (``create`` only where nothing
is, ``replace`` only over what was read), so two attempts of the same batch running at once
(Express child executions are at-least-once) merge their marks instead of undoing each other's.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from forwarder.archive import ArchiveStore
from forwarder.errors import ArchiveError

SCHEMA = "ecs-stop-forwarder/replay-checkpoint/v1"
#: A conditional write that lost a race is retried after merging, at most this many times.
MERGES = 5


def batch_id(items: Iterable[Mapping[str, Any]]) -> str:
    """A stable name for a batch: its keys and ETags, sorted (the order S3 lists them in may not
    be the order a batch is handed over in)."""
    lines = sorted(f"{item.get('Key', '')}\t{item.get('Etag', item.get('ETag', ''))}" for item in items)
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()[:40]


@dataclass
class Finished:
    """What one finished object counted."""

    read: int = 0
    matched: int = 0
    duplicates: int = 0
    already_delivered: int = 0
    sent: Counter[str] = field(default_factory=Counter)

    def to_dict(self) -> dict[str, Any]:
        return {"read": self.read, "matched": self.matched, "duplicates": self.duplicates,
                "already_delivered": self.already_delivered, "sent": dict(self.sent)}  # fmt: skip

    @classmethod
    def of(cls, value: Any) -> Finished:
        if not isinstance(value, dict):
            return cls()
        sent = value.get("sent")
        sent = sent if isinstance(sent, dict) else {}
        return cls(
            _int(value.get("read")), _int(value.get("matched")), _int(value.get("duplicates")),
            _int(value.get("already_delivered")), Counter({str(k): _int(v) for k, v in sent.items()}),
        )  # fmt: skip


class Checkpoint:
    """Finished objects of one batch, kept in ``store`` at ``key``: ``load`` once, ``mark`` as
    objects finish, ``flush`` to write what was marked (a no-op when nothing was)."""

    def __init__(self, store: ArchiveStore, key: str, run_id: str) -> None:
        self.store = store
        self.key = key
        self.run_id = run_id
        self.finished: dict[str, Finished] = {}
        self.writes = 0
        self._tag: str | None = None
        self._dirty = False

    @property
    def location(self) -> str:
        return f"{self.store.location}{self.key}"

    def load(self, deadline: float) -> None:
        stored = self.store.read(self.key, deadline)
        if stored is None:
            return
        self._tag = stored.tag
        self._merge(stored.data)

    def mark(self, name: str, counted: Finished) -> None:
        self.finished[name] = counted
        self._dirty = True

    def flush(self, deadline: float) -> None:
        """Write the document if anything was marked since the last write: created where there
        is none yet, else replaced over the version last read or written; a write that loses a
        race re-reads, merges and tries again."""
        for _ in range(MERGES):
            if not self._dirty:
                return
            data = self._document()
            if self._tag is None:
                tag = self.store.create(self.key, data, deadline)
            else:
                tag = self.store.replace(self.key, data, self._tag, deadline)
            if tag is not None:
                self._tag, self._dirty = tag, False
                self.writes += 1
                return
            stored = self.store.read(self.key, deadline)  # another attempt wrote: merge its marks
            self._tag = None if stored is None else stored.tag
            if stored is not None:
                self._merge(stored.data)
        raise ArchiveError(f"{self.location}: kept losing conditional writes", retryable=True)

    def _document(self) -> bytes:
        finished = {name: counted.to_dict() for name, counted in sorted(self.finished.items())}
        document = {"schema": SCHEMA, "run_id": self.run_id, "version": self.writes + 1, "finished": finished}
        return json.dumps(document, separators=(",", ":")).encode()

    def _merge(self, data: bytes) -> None:
        try:
            document = json.loads(data)
        except ValueError:
            raise ArchiveError(f"{self.location}: not a checkpoint (not JSON)") from None
        if not isinstance(document, dict) or document.get("schema") != SCHEMA:
            raise ArchiveError(f"{self.location}: not a checkpoint (schema {SCHEMA} expected)")
        finished = document.get("finished")
        for name, counted in (finished if isinstance(finished, dict) else {}).items():
            self.finished.setdefault(str(name), Finished.of(counted))


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else 0
