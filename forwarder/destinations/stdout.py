"""stdout: one JSON line per stop record — the default when no vendor key is configured."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any, TextIO

from forwarder.codec import STDLIB, Codec
from forwarder.destinations.base import DELIVERED, Outcome
from forwarder.model import StopRecord
from forwarder.payloads import RecordEncoder, Replay, record_item


class StdoutDestination:
    name = "stdout"

    def __init__(self, stream: TextIO | None = None, codec: Codec = STDLIB) -> None:
        self.stream = stream
        self.codec = codec

    def build(self, record: StopRecord, replay: Replay | None = None) -> dict[str, Any]:
        return record_item(record, replay)

    def encoder(self) -> RecordEncoder:
        return RecordEncoder(self.codec)

    def deliver(self, items: Sequence[dict[str, Any]], deadline: float) -> list[Outcome]:
        return self.deliver_parts([self.codec.encode(item) for item in items], deadline)

    def deliver_parts(self, parts: Sequence[bytes], deadline: float) -> list[Outcome]:
        stream = self.stream or sys.stdout
        stream.write("".join(part.decode() + "\n" for part in parts))
        stream.flush()
        return [Outcome(self.name, DELIVERED, 1)] * len(parts)

    def close(self) -> None:
        """Nothing to release."""
