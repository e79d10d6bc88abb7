"""Batching per destination: the fresh logs of each digest queued for each destination and cut
into requests of ``size`` records.

A queue holds segments, not records: a digest's logs for one destination stay one list, and a
batch is a few slices of them. Each segment keeps its digest's ``Owner`` and the records'
positions in the digest, which tell the ledger the object each record came from.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator, Sequence

from forwarder.replay.dedup import Column
from forwarder.replay.ledger import Owner

#: Records for one destination: their owner, encoded logs, and positions in the owner's digest.
Segment = tuple[Owner, list[bytes], Sequence[int]]
#: A batch to send: the destination's name and the segments that make it up.
Batch = tuple[str, list[Segment]]


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
        """Queue ``found`` (the fresh logs of ``owner``'s digest); the batches now full."""
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
