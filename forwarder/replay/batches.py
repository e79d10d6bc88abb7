"""Batching per destination: the encoded logs of each digest, minus duplicates, queued for each
destination and cut into requests of ``size`` records.

A queue holds segments, not records: a digest's logs for one destination stay one list, and a
batch is a few slices of them. Each segment keeps its digest's ``Owner`` and the records'
positions in the digest, which tell the ledger the object each record came from.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator, Sequence

from forwarder.replay.digest import Digest
from forwarder.replay.ledger import Owner

#: Records for one destination: their owner, encoded logs, and positions in the owner's digest.
Segment = tuple[Owner, list[bytes], Sequence[int]]
#: A digest's records for one destination: its name, their encoded logs, their positions.
Column = tuple[str, list[bytes], Sequence[int]]
#: A batch to send: the destination's name and the segments that make it up.
Batch = tuple[str, list[Segment]]


def columns(digest: Digest, names: Sequence[str], fresh: Sequence[int]) -> list[Column]:
    """The logs of ``digest`` each destination is to get: only the records at ``fresh`` (not seen
    before), and only where the digest encoded one (``--only-undelivered`` leaves out the
    destinations a record was delivered to)."""
    if not fresh:  # nothing new (or an object that could not be fetched: no columns at all)
        return []
    everything = len(fresh) == len(digest.ids)
    positions: Sequence[int] = range(len(digest.ids)) if everything else fresh
    found: list[Column] = []
    for name, column in zip(names, digest.lines, strict=True):
        lines = column if everything else [column[index] for index in fresh]
        where = positions
        if None in lines:  # not every record goes everywhere
            kept = [at for at, line in enumerate(lines) if line is not None]
            lines, where = [lines[at] for at in kept], [where[at] for at in kept]
        if lines:
            found.append((name, lines, where))  # type: ignore[arg-type]  # no None left
    return found


class _Queue:
    """Records waiting for one destination, as segments."""

    def __init__(self) -> None:
        self.segments: deque[Segment] = deque()
        self.count = 0

    def add(self, segment: Segment) -> None:
        self.segments.append(segment)
        self.count += len(segment[1])

    def take(self, limit: int) -> list[Segment]:
        """Up to ``limit`` records from the front, a segment split where the limit falls."""
        taken: list[Segment] = []
        room = limit
        while self.segments and room:
            owner, lines, positions = self.segments.popleft()
            if len(lines) > room:
                self.segments.appendleft((owner, lines[room:], positions[room:]))
                lines, positions = lines[:room], positions[:room]
            taken.append((owner, lines, positions))
            room -= len(lines)
        self.count -= limit - room
        return taken


class Batcher:
    """A queue per destination, cut into batches of ``size`` records."""

    def __init__(self, names: Sequence[str], size: int) -> None:
        self.size = size
        self._queues = {name: _Queue() for name in names}

    def add(self, owner: Owner, found: Sequence[Column]) -> Iterator[Batch]:
        """Queue ``found`` (``columns`` of ``owner``'s digest); the batches now full."""
        for name, lines, positions in found:
            queue = self._queues[name]
            queue.add((owner, lines, positions))
            while queue.count >= self.size:
                yield name, queue.take(self.size)

    def rest(self) -> Iterator[Batch]:
        """What is left once every digest is queued, in batches."""
        for name, queue in self._queues.items():
            while queue.count:
                yield name, queue.take(self.size)
