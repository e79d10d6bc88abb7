"""New Relic Log API through httpx: detailed format, gzip body, ``Api-Key`` header."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from forwarder.destinations.base import HttpDestination
from forwarder.model import StopRecord
from forwarder.payloads import (
    NR_MAX_BODY_BYTES,
    NewRelicEncoder,
    Replay,
    encode,
    fit,
    newrelic_batches,
    newrelic_body,
    newrelic_log,
)


class NewRelicDestination(HttpDestination):
    name = "newrelic"
    vendor = "New Relic"
    key_header = "Api-Key"

    def build(self, record: StopRecord, replay: Replay | None = None) -> dict[str, Any]:
        return newrelic_log(record, replay=replay)

    def encoder(self) -> NewRelicEncoder:
        return NewRelicEncoder(self.codec)

    def _body(self, parts: Sequence[bytes]) -> bytes:
        return newrelic_body(parts, self.codec)

    def _batches(self, parts: Sequence[bytes]) -> Iterator[tuple[list[int], bytes]]:
        for indices, body in newrelic_batches(parts, self.codec):
            if len(body) <= NR_MAX_BODY_BYTES:
                yield indices, body
                continue
            # One incompressible log alone is over the limit: cut its longest strings until it fits.
            [index] = indices
            item: dict[str, Any] = self.codec.decode(parts[index])
            limit, smaller = len(parts[index]), body
            while len(smaller) > NR_MAX_BODY_BYTES and limit > 1000:
                limit //= 2
                smaller = newrelic_body([encode(fit(item, limit, self.codec), self.codec)], self.codec)
            yield indices, smaller
