"""``Replayer.run``: the walk of a replay, each run of objects taken once through every part.

    sources -> scheduler (digest, here or in workers) -> dedup -> ledger -> batches -> send

The replaying thread does the walk, entering each part once per digest (a run of objects); the
sender threads settle what they sent with the ledger. Nothing below calls back up here: each part
is handed what it needs, and counts what it owns.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from typing import Any

from forwarder.codec import STDLIB, Codec
from forwarder.destinations.base import Destination
from forwarder.errors import ForwarderError, InputError
from forwarder.model import StopRecord
from forwarder.replay.batches import Batcher
from forwarder.replay.dedup import Dedup
from forwarder.replay.digest import MARGIN_MS, Digest, Plan, TimestampPolicy
from forwarder.replay.ledger import Checkpoint, Ledger
from forwarder.replay.scheduler import Scheduler
from forwarder.replay.selection import Selection
from forwarder.replay.send import Senders
from forwarder.replay.sources import SourceObject, fetched
from forwarder.replay.tuning import Tuning
from forwarder.replay.workers import StartMethod, WorkerPool


@dataclass
class Stats:
    """A run's counts. The replaying thread writes all of them but ``sent``, ``failed`` and
    ``errors``, which the senders write."""

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


class Replayer:
    """Re-send what ``selection`` keeps of the objects ``run`` is given to the destinations
    ``names`` (each built by ``destination_factory``, once per sender thread).

    ``workers`` processes digest once a run proves large, started by ``start_method``: ``fork``
    only where forking is safe (Linux, and no other thread running in this process when ``run``
    starts: the CLI), else ``spawn``. ``pool`` makes the worker pool (tests give one that counts).
    ``codec`` reads the objects; the destinations encode with their own.
    """

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
        start_method: StartMethod = "spawn",
        max_rps: float | None = None,
        timeout: float = 300.0,
        checkpoint: Checkpoint | None = None,
        report: Callable[[str, ForwarderError], None] = lambda where, error: None,
        progress: Callable[[Stats], None] = lambda stats: None,
        dry_run: Callable[[StopRecord, tuple[str, ...]], None] | None = None,
        now_ms: Callable[[], int] = lambda: int(time.time() * 1000),
        tuning: Tuning | None = None,
        pool: Callable[[int, StartMethod, int], WorkerPool] = WorkerPool,
        codec: Codec = STDLIB,
    ) -> None:
        self.names = names
        self.factory = destination_factory
        self.selection = selection
        self.timestamp = timestamp
        self.only_undelivered = only_undelivered
        self.concurrency = max(1, concurrency)
        self.workers = 0 if dry_run is not None else max(0, workers)  # a dry run shows records: here
        self.start_method = start_method
        self.max_rps = max_rps
        self.timeout = timeout
        self.checkpoint = checkpoint
        self.report = report
        self.progress = progress
        self.dry_run = dry_run
        self.now_ms = now_ms
        self.tuning = tuning or Tuning()
        self.pool = pool
        self.codec = codec
        self.stats = Stats()

    def margin_ms(self) -> int:
        """How far inside a destination's window ``auto`` still sends a record's original time.
        A record is encoded before it waits its turn: MARGIN_MS, plus the longest it can wait to
        reach the vendor: the records held ahead of it (digests in flight, queued and running
        batches) at ``--max-rps``, and one batch's retries (``--timeout``)."""
        tuning = self.tuning
        chunks = tuning.chunks_per_worker * max(self.workers, 1)
        held = chunks * tuning.chunk_events + (self.concurrency + 1) * tuning.batch
        requests = -(-held // tuning.batch) * len(self.names)
        interval = 1.0 / self.max_rps if self.max_rps else 0.0
        return MARGIN_MS + int((requests * interval + self.timeout) * 1000)

    def run(self, objects: Iterable[SourceObject | InputError]) -> Stats:
        stats = self.stats = Stats()
        tuning = self.tuning
        ledger = Ledger(self.checkpoint, marks=self.dry_run is None)
        dedup = Dedup(self.names)
        with ExitStack() as stack:
            ledger.open()  # a checkpoint it cannot write stops the run here, before anything is sent
            stack.callback(ledger.close)
            pool = None
            if self.workers:
                pool = stack.enter_context(
                    self.pool(self.workers, self.start_method, tuning.result_pipe_bytes)
                )
                if self.start_method == "fork":
                    pool.start()  # now, before this run starts a thread; spawned: if it proves large
            senders = stack.enter_context(
                Senders(
                    self.factory,
                    ledger,
                    concurrency=self.concurrency,
                    max_rps=self.max_rps,
                    timeout=self.timeout,
                )
            )
            stats.sent, stats.failed, stats.errors = (
                senders.outcomes.sent, senders.outcomes.failed, senders.outcomes.errors
            )  # fmt: skip
            plan = Plan(
                self.names,
                () if self.dry_run else senders.encoders(self.names),
                self.selection,
                self.timestamp,
                self.only_undelivered,
                keep_records=self.dry_run is not None,
                margin_ms=self.margin_ms(),
                codec=self.codec,
            )
            scheduler = Scheduler(plan, tuning, pool, self.now_ms)
            batcher = Batcher(self.names, tuning.batch)
            listed = fetched(self._listed(objects, ledger), tuning.fetchers, tuning.fetch_bytes)
            for result in scheduler.digests(listed):
                self._count(result)
                fresh = dedup.fresh(result)
                stats.duplicates += len(result.ids) - len(fresh.positions)
                stats.matched += len(fresh.positions)
                if self.dry_run is not None:
                    for index in fresh.positions:
                        self.dry_run(*result.records[index])
                else:
                    owner = ledger.track(result, (positions for _, _, positions in fresh.columns))
                    for name, batch in batcher.add(owner, fresh.columns):
                        senders.submit(name, batch)
                stats.objects += len(result.names)
                self.progress(stats)
            for name, batch in batcher.rest():
                senders.submit(name, batch)
            senders.wait()
        self.progress(stats)
        return stats

    def _listed(self, objects: Iterable[SourceObject | InputError], ledger: Ledger) -> Iterator[SourceObject]:
        """The objects to read: listing errors reported, objects an earlier run finished skipped."""
        for source in objects:
            if isinstance(source, InputError):
                self.report(source.source, source)
            elif ledger.finished(source.name):
                self.stats.objects_skipped += 1
            else:
                yield source

    def _count(self, result: Digest) -> None:
        """A digest's reads and what could not be read (each reported)."""
        stats = self.stats
        stats.read += result.read
        stats.already_delivered += result.already_delivered
        for name, error in result.errors:
            stats.invalid += 1
            self.report(name, error)
