"""Where each object is digested, and in what pieces.

Reading, parsing and encoding is where a replay's CPU goes. A run starts digesting in the
replaying process; once it has read ``parallel_after_objects`` objects or
``parallel_after_events`` events, the rest goes to the worker pool a chunk at a time. While
spawned workers start, this process goes on digesting, in order, until one answers. Digests come
out in the objects' order whichever process made them, so what is sent does not depend on where
parsing ran. An object that could not be fetched comes out at once, as a digest of its own (it
has no records, so the order of what is sent is the same).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Generator, Iterable, Iterator
from itertools import chain

from forwarder.replay.digest import Digest, Plan, digest
from forwarder.replay.sources import Fetched
from forwarder.replay.tuning import Tuning
from forwarder.replay.workers import WorkerPool

#: Objects for one digest: (name, bytes, or the path of a local file, read where it is digested).
Work = list[tuple[str, bytes | str]]


class Scheduler:
    """Digests of fetched objects, in order: here, then in ``pool`` (None: here only)."""

    def __init__(
        self, plan: Plan, tuning: Tuning, pool: WorkerPool | None, now_ms: Callable[[], int]
    ) -> None:
        self.plan = plan
        self.tuning = tuning
        self.pool = pool
        self.now_ms = now_ms
        self.objects = 0  # objects and events digested so far: they size the chunks ...
        self.events = 0  # ... and decide when workers take over

    def digests(self, fetched: Iterable[Fetched]) -> Iterator[Digest]:
        pieces = self._pieces(fetched)
        for piece in pieces:
            if isinstance(piece, Digest):
                yield self._counted(piece)
                continue
            work = yield from self._here(piece, until=self._parallel)
            if work:  # sized now by what was read: the piece was sized before anything was
                size = self._chunk_size()
                rest = (work[at : at + size] for at in range(0, len(work), size))
                yield from self._in_workers(chain(rest, pieces))
                return

    def _counted(self, result: Digest) -> Digest:
        self.objects += len(result.names)
        self.events += result.read
        return result

    def _chunk_size(self) -> int:
        return self.tuning.chunk_size(self.objects, self.events)

    def _parallel(self) -> bool:
        """Whether the run has proved large enough to pay for worker processes."""
        tuning = self.tuning
        large = self.objects >= tuning.parallel_after_objects or self.events >= tuning.parallel_after_events
        return self.pool is not None and large

    def _pieces(self, fetched: Iterable[Fetched]) -> Iterator[Work | Digest]:
        """The objects to digest, ``_chunk_size()`` at a time (or ``chunk_bytes`` of input); an
        object that could not be fetched comes at once, as a digest of its own."""
        work: Work = []
        size, limit = 0, self._chunk_size()
        for source, data in fetched:
            if not isinstance(data, (bytes, str)):
                yield Digest.failed(source.name, data)
                continue
            work.append((source.name, data))
            size += len(data) if isinstance(data, bytes) else source.size or 0
            if len(work) >= limit or size >= self.tuning.chunk_bytes:
                yield work
                work, size, limit = [], 0, self._chunk_size()
        if work:
            yield work

    def _here(self, work: Work, until: Callable[[], bool] = lambda: False) -> Generator[Digest, None, Work]:
        """Digest ``work`` in this process, a budget at a time, until it is done or ``until()``;
        returns what is left."""
        tuning = self.tuning
        while work and not until():
            result = digest(self.plan, work, self.now_ms(), tuning.chunk_bytes, tuning.chunk_events)
            yield self._counted(result)
            work = work[len(result.names) :]
        return work

    def _in_workers(self, pieces: Iterator[Work | Digest]) -> Iterator[Digest]:
        """The pieces digested by the pool's workers: in flight, at most ``chunks_per_worker``
        chunks and about ``events_per_worker`` events a worker, and ``fetch_bytes`` of S3 objects
        (every worker keeps one chunk to work on)."""
        pool, tuning = self.pool, self.tuning
        assert pool is not None
        pool.start()
        starting = tuning.digest_while_starting and not pool.ready()
        window: deque[tuple[Work, int, int]] = deque()  # (objects, ticket, events expected)
        held = 0  # bytes of S3 objects in the window (a local file goes as its path)
        expected = 0  # events in the window, by the events per object read so far
        for piece in pieces:
            if isinstance(piece, Digest):
                yield self._counted(piece)
                continue
            if not window and starting and not pool.ready():
                yield from self._here(piece)
                continue
            starting = False
            events = int(len(piece) * self.events / max(self.objects, 1)) or 1
            window.append((piece, self._submit(piece), events))
            held += _bytes_in(piece)
            expected += events
            while len(window) > pool.size and (
                len(window) > tuning.chunks_per_worker * pool.size
                or expected > tuning.events_per_worker * pool.size
                or held > tuning.fetch_bytes
            ):
                work, ticket, events = window.popleft()
                held -= _bytes_in(work)
                expected -= events
                yield from self._collected(work, ticket)
        while window:
            work, ticket, _ = window.popleft()
            yield from self._collected(work, ticket)

    def _submit(self, work: Work) -> int:
        assert self.pool is not None
        tuning = self.tuning
        return self.pool.submit((self.plan, work, self.now_ms(), tuning.chunk_bytes, tuning.chunk_events))

    def _collected(self, work: Work, ticket: int) -> Iterator[Digest]:
        """A chunk's digest; what the worker left (its budget ran out) is sent again, and waited for."""
        assert self.pool is not None
        while True:
            result = self.pool.result(ticket)
            yield self._counted(result)
            work = work[len(result.names) :]
            if not work:
                return
            ticket = self._submit(work)


def _bytes_in(work: Work) -> int:
    return sum(len(data) for _, data in work if isinstance(data, bytes))
