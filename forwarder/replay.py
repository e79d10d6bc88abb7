"""Replay archives to the vendors: read, filter, deduplicate, batch, send — streaming.

Three stages, each bounded, so memory stays flat however large the archive:

1. fetch: a local file is read where it is digested; S3 objects are fetched ``FETCHERS`` at a
   time ahead of use (each GET is a round trip, and this tool's own archive holds one event per
   object).
2. digest (``forwarder.digest``): each object's events are parsed, filtered and encoded for every
   destination. This is where the CPU goes, so once a run proves large (``PARALLEL_AFTER``
   objects or ``PARALLEL_AFTER_EVENTS`` events) it moves to worker processes, one per core:
   forked at the start where that is safe (``_start_method``), else spawned then.
3. send: this process takes the digests in order, deduplicates by event id, fills a batch per
   destination and hands each full batch to a bounded pool of sender threads (gzip and HTTP
   release the GIL).

An object is checkpointed once every record read from it was delivered.
"""

from __future__ import annotations

import multiprocessing
import sys
import threading
import time
from array import array
from bisect import bisect_left, bisect_right
from collections import Counter, deque
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import suppress
from dataclasses import dataclass, field
from itertools import chain
from pathlib import Path
from typing import Any, TextIO

from forwarder.destinations.base import DELIVERED, Destination
from forwarder.digest import (
    CHUNK_BYTES,
    CHUNK_EVENTS,
    MARGIN_MS,
    Digest,
    Plan,
    Selection,
    TimestampPolicy,
    digest,
    digest_chunk,
    replay_mark,
    start_worker,
    worker_ready,
)
from forwarder.errors import ConfigError, ForwarderError, InputError
from forwarder.model import StopRecord
from forwarder.sources import SourceObject
from forwarder.wiring import AWS_CONNECTIONS

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

__all__ = ["Checkpoint", "Replayer", "SeenIds", "Selection", "Stats", "TimestampPolicy", "replay_mark"]

BATCH = 1000  # records per job: one Datadog request, about one New Relic request
FETCHERS = AWS_CONNECTIONS  # S3 GETs in flight, one per connection of the S3 client ...
FETCH_BYTES = 64_000_000  # ... at most this much fetched ahead, and as much queued for workers
PARALLEL_AFTER = 500  # objects digested here before worker processes take over ...
PARALLEL_AFTER_EVENTS = 5_000  # ... or events (a Firehose backup can be a few large objects)
#: Objects per worker task, at most: fewer when objects are large (about CHUNK_EVENTS events a
#: task, by the events per object seen so far), for a worker hands a task back unfinished after
#: CHUNK_EVENTS events or CHUNK_BYTES of input, and the rest then waits behind every queued task.
CHUNK_OBJECTS = 64
#: Chunks queued or being digested, per worker. Results are taken in order, and one chunk can hold
#: ten times the events of the next (a Firehose object of 500 beside 64 archive documents): with a
#: short queue the other workers sit idle behind it. 2 per worker -> 8 took the bench from ~12k to
#: ~18k events/s and cut CPU per event ~20% (fewer sleeps and wake-ups). Memory: a chunk's digest
#: is of at most ~CHUNK_EVENTS events (or one larger object), so it grows with --workers, not with
#: the archive.
CHUNKS_PER_WORKER = 8
RESULT_PIPE_BYTES = 1 << 20  # see _widen_result_pipe


@dataclass
class Stats:
    objects: int = 0
    objects_skipped: int = 0
    read: int = 0
    matched: int = 0
    duplicates: int = 0
    already_delivered: int = 0
    invalid: int = 0
    sent: Counter[str] = field(default_factory=Counter)
    failed: Counter[str] = field(default_factory=Counter)
    errors: Counter[tuple[str, str]] = field(default_factory=Counter)
    started: float = field(default_factory=time.monotonic)

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def to_dict(self) -> dict[str, Any]:
        return {
            "objects": self.objects,
            "objects_skipped_by_checkpoint": self.objects_skipped,
            "read": self.read,
            "matched": self.matched,
            "duplicates_skipped": self.duplicates,
            "already_delivered": self.already_delivered,
            "invalid": self.invalid,
            "sent": dict(self.sent),
            "failed": dict(self.failed),
            "errors": [{"destination": d, "error": e, "count": n} for (d, e), n in self.errors.items()],
            "elapsed_seconds": round(self.elapsed, 3),
        }


class Checkpoint:
    """Finished objects, one name a line, appended as they finish: a re-run skips them. The file
    stays open while a run marks (opening it per object cost ~9 µs an object, under the replay's
    lock); each line is flushed as it is written."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        try:
            data = self.path.read_bytes() if self.path.exists() else b""
        except OSError as exc:
            raise ConfigError(f"checkpoint {self.path}: cannot read it ({exc.strerror})") from None
        if b"\0" in data:  # no name holds one: a gzip object or other binary, not to be appended to
            raise ConfigError(f"checkpoint {self.path}: cannot read it (binary, not a list of names)")
        # A local file's name may hold bytes that are not UTF-8: they are written and read back as
        # they are, so the name still matches.
        text = data.decode("utf-8", "surrogateescape")
        self.done = set(text.splitlines())
        # A last line without its newline (the disk filled, the machine died mid-write) is ended
        # before the first mark: else the two names run together and neither matches again.
        self._unended = bool(text) and not text.endswith("\n")
        self._lock = threading.Lock()
        self._handle: TextIO | None = None

    def open(self) -> None:
        """Open it to append (creating it), before ``mark``: a run that marks calls this before it
        sends anything, so a checkpoint it cannot write stops the run before the first event."""
        with self._lock:
            if self._handle is not None:
                return
            try:
                self._handle = self.path.open("a", encoding="utf-8", errors="surrogateescape")
            except OSError as exc:
                raise ConfigError(f"checkpoint {self.path}: cannot write it ({exc.strerror})") from None
            if self._unended:
                self._handle.write("\n")

    def mark(self, name: str) -> None:
        with self._lock:
            assert self._handle is not None, "open() before mark()"
            self._handle.write(name + "\n")
            self._handle.flush()
        self.done.add(name)

    def close(self) -> None:
        with self._lock:
            if self._handle is not None:
                self._handle.close()
                self._handle = None


class RateLimiter:
    """At most ``rate`` job starts per second across all senders."""

    def __init__(self, rate: float | None) -> None:
        self.interval = 1.0 / rate if rate else 0.0
        self._next = 0.0
        self._lock = threading.Lock()

    def wait(self) -> None:
        if not self.interval:
            return
        with self._lock:
            now = time.monotonic()
            start = max(now, self._next)
            self._next = start + self.interval
        time.sleep(max(0.0, start - now))


#: Objects for one digest: (name, bytes, or the path of a local file, read where it is digested).
_Work = list[tuple[str, bytes | str]]


@dataclass
class _Owner:
    """The objects of one digest, for the checkpoint: an object is marked once every record
    queued from it is settled, if all were delivered and it was wholly read. It does not hold the
    digest: each record's encoded log is freed as soon as its own batch is sent."""

    names: list[str]
    ends: list[int]  # per object: where its records end in the digest's columns
    failed: set[int]  # objects (indices) not to checkpoint
    left: list[int]  # per object: records queued and not yet settled (kept only with a checkpoint)
    read: bool = False  # all its records are queued

    def owner_of(self, position: int) -> int:
        """The object (its index) the record at ``position`` in the digest's columns came from."""
        return bisect_right(self.ends, position)

    def runs(self, positions: Sequence[int]) -> Iterator[tuple[int, int]]:
        """(object, how many of ``positions`` came from it), for positions in ascending order: a
        step per object, not per record."""
        at = 0
        while at < len(positions):
            index = self.owner_of(positions[at])
            end = bisect_left(positions, self.ends[index], at)
            yield index, end - at
            at = end


#: Records waiting for one destination: (their owner, encoded logs, their positions in the owner's
#: digest, which say the object each came from).
_Segment = tuple[_Owner, list[bytes], Sequence[int]]


class _Queue:
    """Records waiting for one destination, as segments."""

    def __init__(self) -> None:
        self.segments: deque[_Segment] = deque()
        self.count = 0

    def add(self, owner: _Owner, lines: list[bytes], positions: Sequence[int]) -> None:
        self.segments.append((owner, lines, positions))
        self.count += len(lines)

    def take(self, limit: int) -> list[_Segment]:
        """Up to ``limit`` records from the front, a segment split where the limit falls."""
        taken: list[_Segment] = []
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


class SeenIds:
    """Event ids seen in this run, for dedup: a 64-bit hash of each in an open-addressing table
    (linear probing) held in one array, so a million ids cost ~17 MB instead of ~100 MB of strings,
    and no Python object per id stays alive. The table doubles before it would be 5/8 full: 13 to
    26 bytes an id (while it doubles, the old and the new table are both held). A false "seen"
    needs two ids with the same 64-bit hash.

    ~0.6 µs a new id, ~0.2 a seen one. It replaced sorted arrays behind a bitmap (8 bytes an id
    plus a fixed 2 MB, ~1.3 µs a new id): merging a batch of new ids into a sorted array is a
    Python loop per id, and a probe here usually is one step."""

    #: Slots to start with: 2 MB, room for ~160k ids before the first doubling, so the memory of a
    #: run up to that size does not depend on how many events it has (as with the fixed 2 MB bitmap
    #: this replaced; starting at 256 KB, the 100k bench run peaked ~2 MB above the 10k one).
    SIZE = 1 << 18

    def __init__(self) -> None:
        self._slots = array("q", [0]) * self.SIZE  # 0: an empty slot (a hash of 0 is kept as 1)
        self._count = 0

    def __len__(self) -> int:
        return self._count

    def add(self, event_id: str) -> bool:
        """True when ``event_id`` is new (and remember it), False when it was seen before."""
        return bool(self.fresh([event_id]))

    def fresh(self, event_ids: Sequence[str]) -> list[int]:
        """The positions of the ids not seen before (an id twice in ``event_ids`` counts at its
        first), remembering them. One call a digest: the loop is this method's alone."""
        if (self._count + len(event_ids)) * 8 > len(self._slots) * 5:
            self._grow(self._count + len(event_ids))  # room first: a full table would never end a probe
        slots = self._slots
        mask = len(slots) - 1
        new: list[int] = []
        for position, event_id in enumerate(event_ids):
            fingerprint = hash(event_id) or 1
            slot = fingerprint & mask
            while held := slots[slot]:
                if held == fingerprint:
                    break
                slot = (slot + 1) & mask
            else:
                slots[slot] = fingerprint
                new.append(position)
        self._count += len(new)
        return new

    def _grow(self, count: int) -> None:
        size = len(self._slots)
        while count * 8 > size * 5:
            size *= 2
        slots, mask = array("q", [0]) * size, size - 1
        for fingerprint in self._slots:
            if fingerprint:
                slot = fingerprint & mask
                while slots[slot]:
                    slot = (slot + 1) & mask
                slots[slot] = fingerprint
        self._slots = slots


class Replayer:
    #: Digest in this process while spawned worker processes start (tests of the workers turn it
    #: off: else a small archive is all read before a worker is up).
    digest_while_starting = True
    #: How worker processes start: None for ``_start_method``'s choice, else a multiprocessing
    #: start method (tests pin one).
    start_method: str | None = None

    def __init__(
        self,
        names: tuple[str, ...],
        destination_factory: Callable[[str], Destination],
        selection: Selection,
        *,
        timestamp: TimestampPolicy = "auto",
        only_undelivered: bool = False,
        concurrency: int = 4,
        workers: int = 0,
        parallel_after: int | None = None,  # default PARALLEL_AFTER
        max_rps: float | None = None,
        timeout: float = 300.0,
        checkpoint: Checkpoint | None = None,
        report: Callable[[str, ForwarderError], None] = lambda where, error: None,
        progress: Callable[[Stats], None] = lambda stats: None,
        dry_run: Callable[[StopRecord, tuple[str, ...]], None] | None = None,
        now_ms: Callable[[], int] = lambda: int(time.time() * 1000),
        batch: int = BATCH,
    ) -> None:
        self.batch = batch
        self.names = names
        self.factory = destination_factory
        self.selection = selection
        self.timestamp = timestamp
        self.only_undelivered = only_undelivered
        self.concurrency = max(1, concurrency)
        self.workers = 0 if dry_run is not None else max(0, workers)  # a dry run shows records: here
        self.parallel_after = PARALLEL_AFTER if parallel_after is None else parallel_after
        self.limiter = RateLimiter(max_rps)
        self.timeout = timeout
        self.checkpoint = checkpoint  # objects it lists are skipped ...
        # ... and finished ones are added, but not by a dry run: it sends nothing, and a real run
        # with the same file would then skip everything it showed
        self._marks = None if dry_run is not None else checkpoint
        self.report = report
        self.progress = progress
        self.dry_run = dry_run
        self.now_ms = now_ms
        self.stats = Stats()
        self._lock = threading.Lock()
        self._local = threading.local()
        self._built: list[Destination] = []
        self._seen = SeenIds()

    def margin_ms(self) -> int:
        """How far inside a destination's window ``auto`` still sends a record's original time.
        A record is encoded before it waits its turn: MARGIN_MS, plus the longest it can wait to
        reach the vendor — the records held ahead of it (digests in flight, queued and running
        batches) at ``--max-rps``, and one batch's retries (``--timeout``)."""
        held = self._chunks_in_flight() * CHUNK_EVENTS + (self.concurrency + 1) * self.batch
        requests = -(-held // self.batch) * len(self.names)
        return MARGIN_MS + int((requests * self.limiter.interval + self.timeout) * 1000)

    # --- sender threads -------------------------------------------------------------------------
    def _destination(self, name: str) -> Destination:
        cache: dict[str, Destination] | None = getattr(self._local, "destinations", None)
        if cache is None:
            cache = self._local.destinations = {}
        if name not in cache:
            cache[name] = self.factory(name)
            with self._lock:
                self._built.append(cache[name])
        return cache[name]

    def _job(self, name: str, segments: list[_Segment]) -> None:
        self.limiter.wait()
        destination = self._destination(name)
        parts = list(chain.from_iterable(lines for _, lines, _ in segments))
        outcomes = destination.deliver_parts(parts, time.monotonic() + self.timeout)
        with self._lock:
            at = 0
            for owner, lines, positions in segments:
                mine = outcomes[at : at + len(lines)]
                at += len(lines)
                failed = [index for index, outcome in enumerate(mine) if outcome.status != DELIVERED]
                self.stats.sent[name] += len(mine) - len(failed)
                if failed:
                    self.stats.failed[name] += len(failed)
                    self.stats.errors.update((name, f"{mine[i].status}: {mine[i].error}") for i in failed)
                    owner.failed.update(owner.owner_of(positions[i]) for i in failed)
                if self._marks is not None:
                    for index, count in owner.runs(positions):
                        owner.left[index] -= count
                        if owner.left[index] == 0 and owner.read:
                            self._finish(owner, index)

    def _finish(self, owner: _Owner, index: int) -> None:
        """Object ``index`` of ``owner`` is settled (the caller holds the lock)."""
        if index not in owner.failed and self._marks is not None:
            self._marks.mark(owner.names[index])

    # --- the calling thread ----------------------------------------------------------------------
    def run(self, objects: Iterable[SourceObject | InputError]) -> Stats:
        if self._marks is not None:
            self._marks.open()  # one it cannot write stops the run here, before anything is sent
        queues = {name: _Queue() for name in self.names}
        slots = threading.BoundedSemaphore(self.concurrency)  # jobs queued or running: bounded memory
        futures: list[Future[None]] = []
        executor = ThreadPoolExecutor(max_workers=self.concurrency, thread_name_prefix="replay")

        def release(_: Future[None]) -> None:
            slots.release()

        def submit(name: str) -> None:
            batch = queues[name].take(self.batch)
            slots.acquire()
            future = executor.submit(self._job, name, batch)
            future.add_done_callback(release)
            futures.append(future)
            futures[:] = [f for f in futures if not f.done() or f.exception() is not None]

        pool: ProcessPoolExecutor | None = None
        try:
            plan = Plan(
                self.names,
                () if self.dry_run else tuple(self._destination(name).encoder() for name in self.names),
                self.selection,
                self.timestamp,
                self.only_undelivered,
                keep_records=self.dry_run is not None,
                margin_ms=self.margin_ms(),
            )
            pool = self._forked_workers(plan)
            for result in self._digests(self._fetch(self._pending(objects)), plan, pool):
                unsettled = [0] * len(result.names) if self._marks is not None else []
                owner = _Owner(result.names, result.ends, set(result.unreadable), unsettled)
                self._take(result, owner, queues, submit)
                with self._lock:
                    owner.read = True
                    self.stats.objects += len(result.names)
                    for index, left in enumerate(owner.left):
                        if left == 0:
                            self._finish(owner, index)
                self.progress(self.stats)
            for name in self.names:
                while queues[name].count:
                    submit(name)
            for future in futures:
                future.result()  # wait, and re-raise a sender's unexpected error
        finally:
            executor.shutdown(wait=True, cancel_futures=True)
            if pool is not None:
                pool.shutdown(wait=True, cancel_futures=True)
            for destination in self._built:
                destination.close()
            if self.checkpoint is not None:
                self.checkpoint.close()
        self.progress(self.stats)
        return self.stats

    def _take(
        self, result: Digest, owner: _Owner, queues: dict[str, _Queue], submit: Callable[[str], None]
    ) -> None:
        """Count a digest, drop the events already seen, queue the rest for their destinations."""
        stats = self.stats
        stats.read += result.read
        stats.already_delivered += result.already_delivered
        for name, error in result.errors:
            stats.invalid += 1
            self.report(name, error)
        fresh = self._seen.fresh(result.ids)
        stats.duplicates += len(result.ids) - len(fresh)
        stats.matched += len(fresh)
        if not fresh:  # nothing new (or an object that could not be fetched: no columns at all)
            return
        if self.dry_run is not None:
            for index in fresh:
                self.dry_run(*result.records[index])
            return
        everything = len(fresh) == len(result.ids)
        positions: Sequence[int] = range(len(result.ids)) if everything else fresh
        columns: list[tuple[str, list[bytes | None], Sequence[int]]] = []
        for name, column in zip(self.names, result.lines, strict=True):
            lines, where = (column if everything else [column[index] for index in fresh]), positions
            if self.only_undelivered and None in lines:  # not every record goes everywhere
                kept = [at for at, line in enumerate(lines) if line is not None]
                lines, where = [lines[at] for at in kept], [where[at] for at in kept]
            if lines:
                columns.append((name, lines, where))
        if self._marks is not None:
            with self._lock:  # before any of them is queued: a sender may settle them at once
                for _, _, where in columns:
                    for index, count in owner.runs(where):
                        owner.left[index] += count
        for name, lines, where in columns:
            queue = queues[name]
            queue.add(owner, lines, where)  # type: ignore[arg-type]  # no None left
            while queue.count >= self.batch:
                submit(name)

    def _pending(self, objects: Iterable[SourceObject | InputError]) -> Iterator[SourceObject]:
        """The objects to read: listing errors reported, checkpointed objects skipped."""
        for source in objects:
            if isinstance(source, InputError):
                self.report(source.source, source)
            elif self.checkpoint is not None and source.name in self.checkpoint.done:
                self.stats.objects_skipped += 1
            else:
                yield source

    def _fetch(
        self, sources: Iterator[SourceObject]
    ) -> Iterator[tuple[SourceObject, bytes | str | InputError]]:
        """Each object with its bytes (or, for a local file, its path: it is read where it is
        digested), or why it could not be read; in order, with up to ``FETCHERS`` GETs (and
        ``FETCH_BYTES`` as S3 lists them) ahead."""
        window: deque[tuple[SourceObject, Future[bytes] | str]] = deque()
        pool: ThreadPoolExecutor | None = None
        ahead = 0  # bytes being fetched or fetched and not yet handed on
        try:
            for source in sources:
                if source.path is not None:
                    window.append((source, source.path))
                else:
                    pool = pool or ThreadPoolExecutor(FETCHERS, thread_name_prefix="fetch")
                    window.append((source, pool.submit(source.read)))
                    ahead += source.size or 0
                while window and (
                    len(window) > FETCHERS or ahead > FETCH_BYTES or isinstance(window[0][1], str)
                ):
                    head, pending = window.popleft()
                    ahead -= 0 if isinstance(pending, str) else head.size or 0
                    yield _fetched(head, pending)
            while window:
                yield _fetched(*window.popleft())
        finally:
            if pool is not None:
                pool.shutdown(wait=True, cancel_futures=True)

    def _digests(
        self,
        fetched: Iterator[tuple[SourceObject, bytes | str | InputError]],
        plan: Plan,
        forked: ProcessPoolExecutor | None = None,
    ) -> Iterator[Digest]:
        """The objects digested, in order, a run of them at a time: here until ``parallel_after``
        objects (or PARALLEL_AFTER_EVENTS events) were read, then (when ``workers``) in worker
        processes: ``forked`` when they were forked at the start, else spawned then. An object that
        could not be fetched is reported at once, ahead of the run it was listed in (it has no
        records, so the order of what is sent is the same)."""
        pieces = _pieces(fetched, self._chunk_objects)
        for piece in pieces:
            if isinstance(piece, Digest):
                yield piece
                continue
            work = yield from self._digest_here(piece, plan, until=self._parallel)
            if work:  # sized now by what was read: the piece was sized before anything was
                size = self._chunk_objects()
                rest = (work[at : at + size] for at in range(0, len(work), size))
                yield from self._digests_in_workers(chain(rest, pieces), plan, forked)
                return

    def _digest_here(
        self, work: _Work, plan: Plan, until: Callable[[], bool] = lambda: False
    ) -> Generator[Digest, None, _Work]:
        """Digest ``work`` in this process, a budget at a time, until it is done or ``until()``;
        returns what is left."""
        while work and not until():
            result = digest(plan, work, self.now_ms(), CHUNK_BYTES, CHUNK_EVENTS)
            yield result
            work = work[len(result.names) :]
        return work

    def _parallel(self) -> bool:
        """Whether the run has proved large enough to pay for starting worker processes."""
        read_enough = self.stats.objects >= self.parallel_after or self.stats.read >= PARALLEL_AFTER_EVENTS
        return self.workers > 0 and read_enough

    def _forked_workers(self, plan: Plan) -> ProcessPoolExecutor | None:
        """The worker processes, forked now, before this run starts a thread of its own, when
        ``_start_method`` finds that safe; else None (they are spawned if the run proves large).
        A forked worker is ready in milliseconds and shares this process's imports; a spawned one
        costs ~0.1 s of CPU to start. A run that stays small never uses them (~20 ms: the
        bench's 68-file row)."""
        if not self.workers or _start_method(self.start_method) != "fork":
            return None
        pool = self._pool(plan, "fork")
        # A fork pool forks all its processes at its first task, before it starts its own thread.
        pool.submit(worker_ready)
        return pool

    def _pool(self, plan: Plan, method: str) -> ProcessPoolExecutor:
        """``workers`` processes started by ``method``, each given ``plan`` once."""
        pool = ProcessPoolExecutor(
            self.workers, multiprocessing.get_context(method), initializer=start_worker, initargs=(plan,)
        )
        _widen_result_pipe(pool)
        return pool

    def _digests_in_workers(
        self, pieces: Iterator[_Work | Digest], plan: Plan, forked: ProcessPoolExecutor | None = None
    ) -> Iterator[Digest]:
        """The pieces digested by ``forked`` (``run`` stops those), else by workers spawned now and
        stopped here: sender and fetch threads are running by now, and a child forked now would
        inherit whatever locks they hold. A spawned worker imports only forwarder.digest and what
        it needs."""
        pool = forked or self._pool(plan, self.start_method or "spawn")
        # A spawned worker takes ~0.1 s to start (an interpreter, and the imports): meanwhile this
        # process digests here, in order, until one answers (each probe starts one worker; forked
        # ones answer at once).
        started = (
            [pool.submit(worker_ready) for _ in range(self.workers)] if self.digest_while_starting else []
        )
        window: deque[tuple[_Work, Future[Digest]]] = deque()
        held = 0  # bytes of S3 objects in the window (they reach a worker as bytes; a file, as its path)
        try:
            for piece in pieces:
                if isinstance(piece, Digest):
                    yield piece
                    continue
                if not window and started and not any(probe.done() for probe in started):
                    yield from self._digest_here(piece, plan)
                    continue
                started = []
                window.append((piece, self._submit(pool, piece)))
                held += _bytes_in(piece)
                # large objects (Firehose writes up to 128 MiB) are bounded by bytes, but every worker
                # keeps one to work on
                while len(window) > self._chunks_in_flight() or (
                    held > FETCH_BYTES and len(window) > self.workers
                ):
                    work, future = window.popleft()
                    held -= _bytes_in(work)
                    yield from self._collected(pool, work, future)
            while window:
                yield from self._collected(pool, *window.popleft())
        except BrokenProcessPool:
            raise ForwarderError(
                "a replay worker process stopped unexpectedly; objects not yet checkpointed are resent "
                "by a re-run with --checkpoint (add --workers 0 to digest in one process)"
            ) from None
        finally:
            if forked is None:
                pool.shutdown(wait=True, cancel_futures=True)

    def _chunks_in_flight(self) -> int:
        return CHUNKS_PER_WORKER * max(self.workers, 1)

    def _chunk_objects(self) -> int:
        """Objects for the next worker task: about CHUNK_EVENTS events by the events per object
        read so far (2 for 500-event Firehose objects, CHUNK_OBJECTS for one-event documents)."""
        per_object = self.stats.read / self.stats.objects if self.stats.objects else 1.0
        return max(1, min(CHUNK_OBJECTS, int(CHUNK_EVENTS / max(per_object, 1.0))))

    def _submit(self, pool: ProcessPoolExecutor, work: _Work) -> Future[Digest]:
        return pool.submit(digest_chunk, work, self.now_ms(), CHUNK_BYTES, CHUNK_EVENTS)

    def _collected(self, pool: ProcessPoolExecutor, work: _Work, future: Future[Digest]) -> Iterator[Digest]:
        """A task's result; what the worker left (its byte or event budget ran out) is sent again."""
        while True:
            result = future.result()
            yield result
            work = work[len(result.names) :]
            if not work:
                return
            future = self._submit(pool, work)


def _start_method(pinned: str | None) -> str:
    """``pinned``, else "fork" where forking is safe: on Linux (macOS's system libraries are not
    fork-safe), and with no other thread in this process, for a thread that holds a lock when the
    process forks leaves it locked in the child for good. Else "spawn"."""
    if pinned is not None:
        return pinned
    linux = sys.platform.startswith("linux") and "fork" in multiprocessing.get_all_start_methods()
    return "fork" if linux and threading.active_count() == 1 else "spawn"


def _widen_result_pipe(pool: ProcessPoolExecutor) -> None:
    """Give the pipe that carries the workers' results RESULT_PIPE_BYTES (Linux). A result is
    ~2.5 MB of encoded logs; through the default 64 KB pipe a worker blocks ~40 times writing it,
    each time until this process's busy threads get round to reading, and sits idle meanwhile.
    The 100k-event bench run took ~6% less wall time with 1 MB. The pipe is the executor's own (not a
    public attribute): where it is not there, or the size is refused, the default stays."""
    reader = getattr(getattr(pool, "_result_queue", None), "_reader", None)
    set_size = getattr(fcntl, "F_SETPIPE_SZ", None) if fcntl is not None else None
    if reader is None or set_size is None:
        return
    with suppress(OSError):  # over /proc/sys/fs/pipe-max-size (1 MB unless lowered)
        fcntl.fcntl(reader.fileno(), set_size, RESULT_PIPE_BYTES)


def _bytes_in(work: _Work) -> int:
    return sum(len(data) for _, data in work if isinstance(data, bytes))


def _fetched(
    source: SourceObject, pending: Future[bytes] | str
) -> tuple[SourceObject, bytes | str | InputError]:
    if isinstance(pending, str):
        return source, pending
    try:
        return source, pending.result()
    except InputError as exc:
        return source, exc


def _pieces(
    fetched: Iterator[tuple[SourceObject, bytes | str | InputError]], objects: Callable[[], int]
) -> Iterator[_Work | Digest]:
    """The objects to digest, ``objects()`` at a time (or CHUNK_BYTES of fetched input); an object
    that could not be fetched comes at once, as a digest of its own."""
    work: _Work = []
    size, limit = 0, objects()
    for source, data in fetched:
        if isinstance(data, InputError):
            yield Digest.failed(source.name, data)
            continue
        work.append((source.name, data))
        size += len(data) if isinstance(data, bytes) else source.size or 0
        if len(work) >= limit or size >= CHUNK_BYTES:
            yield work
            work, size, limit = [], 0, objects()
    if work:
        yield work
