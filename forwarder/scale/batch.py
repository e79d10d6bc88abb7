"""One Distributed Map batch of archive objects, replayed: what the worker Lambda does with it.

``replay_batch`` is the worker's only use of replay's core, and the only place it is called from
here: today's public pieces of ``forwarder.replay``, ``forwarder.digest`` and
``forwarder.sources`` (issue #21 is turning replay's core into one library call over a batch of
objects; then this function calls that instead). What it does with them, in order and in one
thread (the worker's concurrency is the map's ``MaxConcurrency``, not threads of its own):

- objects are fetched a few at a time ahead of use (each GET is a round trip);
- each object is digested (``digest.digest``: both archive formats, the filters, each
  destination's encoding, corrupt input reported with its offset);
- events already seen in the batch are dropped (``replay.SeenIds``);
- each destination's queue is sent a request at a time, 1000 logs each, through the destination's
  sender and the shared retry policy, bounded by the Lambda's deadline;
- an object is marked finished in the checkpoint once all its records were delivered, and the
  checkpoint is written before each request (so a crash loses at most one request's marks).

Pure of AWS and of the environment: objects, destinations and the checkpoint are handed in.

Where issue #21 (branch ``issue-21``) has moved these, for the change when it lands:
``forwarder.digest.digest``/``Plan`` -> ``forwarder.replay.digest``; ``Selection`` ->
``forwarder.replay.selection``; ``replay.SeenIds`` -> ``forwarder.replay.dedup``;
``sources.SourceObject`` -> ``forwarder.replay.sources``; a destination's ``encoder()`` and
``deliver_parts()`` -> its ``encoder`` property and ``send()`` (``_encoder`` and ``_send`` below);
or this whole function -> ``Replayer(..., workers=0).run(objects)`` with a ledger over this
checkpoint, once it takes a deadline rather than a per-batch timeout.
"""

from __future__ import annotations

import time
from collections import Counter, deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from forwarder.destinations.base import DELIVERED, FAILED_PERMANENT, Destination, Outcome
from forwarder.errors import InputError
from forwarder.payloads import Encoder
from forwarder.replay.dedup import SeenIds
from forwarder.replay.digest import MARGIN_MS, Plan, TimestampPolicy, digest
from forwarder.replay.selection import Selection
from forwarder.replay.sources import SourceObject
from forwarder.scale.checkpoint import Checkpoint, Finished

#: Logs per vendor request: one Datadog request (its limit), about one New Relic request.
REQUEST_LOGS = 1000
#: S3 GETs in flight ahead of the object being digested.
FETCH_AHEAD = 16
#: No object is started once less than this is left before the deadline (or a quarter of the
#: invocation's time, when that is less): what is queued still has to be sent, and the
#: checkpoint written.
STOP_READING_BEFORE = 10.0
#: At most this many corrupt objects (and invalid events) are listed in a result; all are counted.
LISTED = 50


@dataclass(frozen=True)
class BatchPlan:
    """What to replay and how: the batch input, parsed (``forwarder.replay_worker``)."""

    destinations: tuple[str, ...]
    selection: Selection
    timestamp: TimestampPolicy = "auto"
    only_undelivered: bool = False
    max_rps: float | None = None  # vendor requests a second this worker may start


@dataclass
class BatchResult:
    """What a batch did: counts (those of objects finished by an earlier attempt included), the
    corrupt objects and unreadable ones, and the failures, by kind."""

    objects: int = 0
    objects_skipped: int = 0  # finished by an earlier attempt (the checkpoint)
    objects_unfinished: int = 0  # not read: the deadline came first
    read: int = 0
    matched: int = 0
    duplicates: int = 0
    already_delivered: int = 0
    invalid: int = 0
    sent: Counter[str] = field(default_factory=Counter)
    failed: Counter[str] = field(default_factory=Counter)
    errors: Counter[tuple[str, str]] = field(default_factory=Counter)
    corrupt: list[dict[str, Any]] = field(default_factory=list)
    corrupt_count: int = 0
    invalid_examples: list[dict[str, Any]] = field(default_factory=list)
    throttled: int = 0  # records still failing with 429 at the deadline
    unavailable: int = 0  # records still failing retryably otherwise (5xx, timeout, unreachable)
    rejected: int = 0  # records refused for good
    checkpoint_writes: int = 0
    elapsed: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "objects": self.objects,
            "objects_skipped_by_checkpoint": self.objects_skipped,
            "objects_unfinished": self.objects_unfinished,
            "read": self.read,
            "matched": self.matched,
            "duplicates_skipped": self.duplicates,
            "already_delivered": self.already_delivered,
            "invalid": self.invalid,
            "sent": dict(self.sent),
            "failed": dict(self.failed),
            "errors": [{"destination": d, "error": e, "count": n} for (d, e), n in self.errors.items()],
            "corrupt": self.corrupt,
            "corrupt_count": self.corrupt_count,
            "invalid_examples": self.invalid_examples,
            "checkpoint_writes": self.checkpoint_writes,
            "elapsed_seconds": round(self.elapsed, 3),
        }


def replay_batch(
    objects: Sequence[SourceObject],
    plan: BatchPlan,
    destinations: Mapping[str, Destination],
    checkpoint: Checkpoint,
    deadline: float,
    *,
    clock: Callable[[], float] = time.monotonic,
    now_ms: Callable[[], int] = lambda: int(time.time() * 1000),
    stop_reading_before: float | None = None,
) -> BatchResult:
    """Replay ``objects`` (one Distributed Map batch) to ``destinations``, skipping and marking
    finished objects in ``checkpoint``; every request retried within ``deadline`` (``clock``'s)."""
    started = clock()
    if stop_reading_before is None:
        stop_reading_before = min(STOP_READING_BEFORE, (deadline - started) / 4)
    result = BatchResult(objects=len(objects))
    names = plan.destinations
    core = Plan(
        names,
        tuple(_encoder(destinations[name]) for name in names),
        plan.selection,
        plan.timestamp,
        plan.only_undelivered,
        # ``auto`` keeps a margin for the longest a record encoded now waits to be sent: the
        # rest of this invocation.
        margin_ms=MARGIN_MS + int(max(deadline - started, 0.0) * 1000),
    )
    todo = []
    for source in objects:
        done = checkpoint.finished.get(source.name)
        if done is None:
            todo.append(source)
            continue
        result.objects_skipped += 1
        _carry(result, done)
    batch = _Batch(names, destinations, checkpoint, result, deadline, plan.max_rps, clock)
    seen = SeenIds()
    reading_until = deadline - stop_reading_before
    for index, (source, data) in enumerate(_fetched(todo, lambda: clock() < reading_until)):
        if isinstance(data, InputError):
            _corrupt(result, source.name, data)
            batch.failed.add(index)
            batch.read_all(index, source.name)
            continue
        found = digest(core, [(source.name, data)], now_ms())
        counted = batch.counted.setdefault(index, Finished())
        counted.read, counted.already_delivered = found.read, found.already_delivered
        for name, error in found.errors:
            if isinstance(error, InputError):
                _corrupt(result, name, error)
            else:
                result.invalid += 1
                if len(result.invalid_examples) < LISTED:
                    result.invalid_examples.append({"key": _key(name), "error": str(error)})
        if found.unreadable:
            batch.failed.add(index)
        fresh = seen.fresh(found.ids)
        counted.duplicates, counted.matched = len(found.ids) - len(fresh), len(fresh)
        for name, column in zip(names, found.lines, strict=True):
            batch.queue(name, index, (column[at] for at in fresh))
        batch.read_all(index, source.name)
        batch.send_full()
    result.objects_unfinished = len(todo) - len(batch.names_of)
    batch.send_rest()
    checkpoint.flush(deadline)
    result.checkpoint_writes = checkpoint.writes
    for counted in batch.counted.values():
        _carry(result, counted)
    result.elapsed = clock() - started
    return result


class _Batch:
    """Records queued per destination, and which object each came from: an object is finished
    once it was wholly read and every record queued from it was delivered."""

    def __init__(  # noqa: PLR0917 - one call site, the batch's parts
        self,
        names: tuple[str, ...],
        destinations: Mapping[str, Destination],
        checkpoint: Checkpoint,
        result: BatchResult,
        deadline: float,
        max_rps: float | None,
        clock: Callable[[], float],
    ) -> None:
        self.names, self.destinations, self.checkpoint = names, destinations, checkpoint
        self.result, self.deadline, self.clock = result, deadline, clock
        self.interval = 1.0 / max_rps if max_rps else 0.0
        self.next_start = 0.0
        self.queues: dict[str, deque[tuple[int, bytes]]] = {name: deque() for name in names}
        self.pending: Counter[int] = Counter()  # records queued from each object, not yet settled
        self.failed: set[int] = set()  # objects not to mark: a record failed, or part was unreadable
        self.names_of: dict[int, str] = {}  # objects wholly read (all their records queued)
        self.counted: dict[int, Finished] = {}

    def queue(self, name: str, index: int, lines: Iterator[bytes | None]) -> None:
        for line in lines:
            if line is not None:  # None: not for this destination (``--only-undelivered``)
                self.queues[name].append((index, line))
                self.pending[index] += 1

    def read_all(self, index: int, name: str) -> None:
        self.names_of[index] = name
        self._settle(index)

    def send_full(self) -> None:
        for name in self.names:
            while len(self.queues[name]) >= REQUEST_LOGS:
                self._send(name)

    def send_rest(self) -> None:
        for name in self.names:
            while self.queues[name]:
                self._send(name)

    def _send(self, name: str) -> None:
        queue = self.queues[name]
        taken = [queue.popleft() for _ in range(min(REQUEST_LOGS, len(queue)))]
        self.checkpoint.flush(self.deadline)  # what finished so far survives a crash during this request
        wait = self.next_start - self.clock()
        if wait > 0:
            time.sleep(min(wait, max(self.deadline - self.clock(), 0.0)))
        self.next_start = self.clock() + self.interval
        outcomes = _send(self.destinations[name], [line for _, line in taken], self.deadline)
        for (index, _), outcome in zip(taken, outcomes, strict=True):
            self._settled(name, index, outcome)
            self.pending[index] -= 1
            self._settle(index)

    def _settled(self, name: str, index: int, outcome: Outcome) -> None:
        result = self.result
        if outcome.status == DELIVERED:
            self.counted.setdefault(index, Finished()).sent[name] += 1
            return
        self.failed.add(index)
        result.failed[name] += 1
        result.errors[(name, f"{outcome.status}: {outcome.error}")] += 1
        if outcome.status == FAILED_PERMANENT:
            result.rejected += 1
        elif outcome.http_status == 429:
            result.throttled += 1
        else:
            result.unavailable += 1

    def _settle(self, index: int) -> None:
        if self.pending[index] == 0 and index in self.names_of and index not in self.failed:
            self.checkpoint.mark(self.names_of[index], self.counted.setdefault(index, Finished()))


def _encoder(destination: Destination) -> Encoder:
    """The destination's encoder."""
    return destination.encoder


def _send(destination: Destination, parts: list[bytes], deadline: float) -> list[Outcome]:
    """One request's logs, sent with the shared retry policy."""
    return destination.send(parts, deadline)


def _fetched(
    sources: Sequence[SourceObject], go_on: Callable[[], bool]
) -> Iterator[tuple[SourceObject, bytes | InputError]]:
    """Each object with its bytes (or why it could not be read), in order, ``FETCH_AHEAD`` GETs
    ahead; stops starting objects once ``go_on()`` is false."""
    window: deque[tuple[SourceObject, Future[bytes]]] = deque()
    pool = ThreadPoolExecutor(FETCH_AHEAD, thread_name_prefix="fetch")
    queued = iter(sources)
    try:
        while True:
            while len(window) < FETCH_AHEAD and (source := next(queued, None)) is not None:
                window.append((source, pool.submit(source.read)))
            if not window or not go_on():
                return
            source, pending = window.popleft()
            try:
                yield source, pending.result()
            except InputError as exc:
                yield source, exc
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _carry(result: BatchResult, counted: Finished) -> None:
    result.read += counted.read
    result.matched += counted.matched
    result.duplicates += counted.duplicates
    result.already_delivered += counted.already_delivered
    result.sent.update(counted.sent)


def _corrupt(result: BatchResult, name: str, error: InputError) -> None:
    result.corrupt_count += 1
    if len(result.corrupt) < LISTED:
        result.corrupt.append({"key": _key(name), "offset": error.offset, "error": error.detail})


def _key(name: str) -> str:
    """The S3 key in ``s3://bucket/key``."""
    return name[5:].partition("/")[2] if name.startswith("s3://") else name
