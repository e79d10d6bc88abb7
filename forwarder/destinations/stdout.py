"""stdout: one JSON line per stop record — the default when no vendor key is configured."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any, TextIO

from forwarder import fastjson
from forwarder.destinations.base import DELIVERED, Outcome
from forwarder.model import StopRecord
from forwarder.payloads import Replay


class StdoutDestination:
    name = "stdout"

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream

    def build(self, record: StopRecord, replay: Replay | None = None) -> dict[str, Any]:
        item = record.to_dict()
        if replay is not None:
            item["replayed"] = True
            item["original_timestamp"] = replay.original_timestamp_ms
        return item

    def deliver(self, items: Sequence[dict[str, Any]], deadline: float) -> list[Outcome]:
        stream = self.stream or sys.stdout
        stream.write("".join(fastjson.dumps(item).decode() + "\n" for item in items))
        stream.flush()
        return [Outcome(self.name, DELIVERED, 1)] * len(items)

    def close(self) -> None:
        """Nothing to release."""
