"""stdout: one JSON line per stop record — the default when no vendor key is configured."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import TextIO

from forwarder.codec import STDLIB, Codec
from forwarder.destinations.base import DELIVERED, Outcome
from forwarder.payloads import RecordEncoder


class StdoutDestination:
    name = "stdout"

    def __init__(self, stream: TextIO | None = None, codec: Codec = STDLIB) -> None:
        self.stream = stream
        self.codec = codec

    @property
    def encoder(self) -> RecordEncoder:
        return RecordEncoder(self.codec)

    def send(self, parts: Sequence[bytes], deadline: float) -> list[Outcome]:
        stream = self.stream or sys.stdout
        stream.write("".join(part.decode() + "\n" for part in parts))
        stream.flush()
        return [Outcome(self.name, DELIVERED, 1)] * len(parts)

    def close(self) -> None:
        """Nothing to release."""
