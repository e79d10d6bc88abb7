"""New Relic Log API: detailed format, gzip body, ``Api-Key`` header."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from forwarder.destinations.base import HttpDestination
from forwarder.payloads import NR_MAX_BODY_BYTES, NewRelicEncoder, newrelic_batches, newrelic_body, shrink


class NewRelicDestination(HttpDestination):
    name = "newrelic"
    vendor = "New Relic"
    key_header = "Api-Key"

    @property
    def encoder(self) -> NewRelicEncoder:
        return NewRelicEncoder(self.codec)

    def _body(self, parts: Sequence[bytes]) -> bytes:
        return newrelic_body(parts, self.codec)

    def _batches(self, parts: Sequence[bytes]) -> Iterator[tuple[list[int], bytes]]:
        for indices, body in newrelic_batches(parts, self.codec):
            yield indices, body if len(body) <= NR_MAX_BODY_BYTES else self._shrunk(parts[indices[0]], body)

    def _shrunk(self, part: bytes, body: bytes) -> bytes:
        """The body of one incompressible log, alone over the limit: the log shrunk until its body
        fits, or nothing is left to cut (New Relic then answers 413, and it fails)."""
        while len(body) > NR_MAX_BODY_BYTES:
            smaller = shrink(part, self.codec)
            if smaller is None:
                break
            part, body = smaller, newrelic_body([smaller], self.codec)
        return body
