"""Sending: batches delivered by a bounded pool of sender threads (gzip and HTTP release the GIL).

Each thread builds its own destinations (an HTTP client is not shared between threads); at most
``concurrency`` batches are queued or being sent, so memory stays bounded however fast objects
are read. Each batch's outcomes are counted and handed to the ledger.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from itertools import chain
from types import TracebackType

from forwarder.destinations.base import DELIVERED, Destination
from forwarder.payloads import Encoder
from forwarder.replay.batches import Segment
from forwarder.replay.ledger import Ledger


class RateLimiter:
    """At most ``rate`` batch starts per second across all senders."""

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


class Outcomes:
    """What the senders delivered and failed, per destination, and why; written under the
    senders' lock, read by anyone."""

    def __init__(self) -> None:
        self.sent: Counter[str] = Counter()
        self.failed: Counter[str] = Counter()
        self.errors: Counter[tuple[str, str]] = Counter()


class Senders:
    """``concurrency`` sender threads; a context manager (leaving it stops them and closes every
    destination they built)."""

    def __init__(
        self,
        factory: Callable[[str], Destination],
        ledger: Ledger,
        *,
        concurrency: int = 4,
        max_rps: float | None = None,
        timeout: float = 300.0,
    ) -> None:
        self.factory = factory
        self.ledger = ledger
        self.timeout = timeout
        self.limiter = RateLimiter(max_rps)
        self.outcomes = Outcomes()
        self._executor = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="replay")
        self._slots = threading.BoundedSemaphore(concurrency)  # batches queued or being sent
        self._futures: list[Future[None]] = []
        self._lock = threading.Lock()
        self._local = threading.local()
        self._built: list[Destination] = []

    def __enter__(self) -> Senders:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self._executor.shutdown(wait=True, cancel_futures=True)
        for destination in self._built:
            destination.close()

    def encoders(self, names: Sequence[str]) -> tuple[Encoder, ...]:
        """Each destination's encoder, for the digests (built in the calling thread)."""
        return tuple(self._destination(name).encoder for name in names)

    def submit(self, name: str, segments: list[Segment]) -> None:
        """Send a batch; waits while ``concurrency`` batches are queued or being sent."""
        self._slots.acquire()
        future = self._executor.submit(self._send, name, segments)
        future.add_done_callback(lambda _: self._slots.release())
        self._futures.append(future)
        self._futures[:] = [f for f in self._futures if not f.done() or f.exception() is not None]

    def wait(self) -> None:
        """Until every batch is answered; a sender's unexpected error is raised here."""
        for future in self._futures:
            future.result()

    def _destination(self, name: str) -> Destination:
        cache: dict[str, Destination] | None = getattr(self._local, "destinations", None)
        if cache is None:
            cache = self._local.destinations = {}
        if name not in cache:
            cache[name] = self.factory(name)
            with self._lock:
                self._built.append(cache[name])
        return cache[name]

    def _send(self, name: str, segments: list[Segment]) -> None:
        self.limiter.wait()
        destination = self._destination(name)
        parts = list(chain.from_iterable(lines for _, lines, _ in segments))
        outcomes = destination.send(parts, time.monotonic() + self.timeout)
        at = 0
        for owner, lines, positions in segments:
            mine = outcomes[at : at + len(lines)]
            at += len(lines)
            failed = [index for index, outcome in enumerate(mine) if outcome.status != DELIVERED]
            with self._lock:
                self.outcomes.sent[name] += len(mine) - len(failed)
                if failed:
                    self.outcomes.failed[name] += len(failed)
                    self.outcomes.errors.update((name, f"{mine[i].status}: {mine[i].error}") for i in failed)
            self.ledger.settled(owner, positions, [positions[i] for i in failed])
