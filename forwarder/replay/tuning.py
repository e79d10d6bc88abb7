"""How a replay spends memory, processes and round trips: one frozen value.

The defaults are what the CLI runs with. Tests pass smaller figures to reach, with a small archive,
the paths a large one takes (worker processes taking over, chunks handed back unfinished, fetches
held back by bytes).
"""

from __future__ import annotations

from dataclasses import dataclass

from forwarder.wiring import AWS_CONNECTIONS


@dataclass(frozen=True)
class Tuning:
    #: Records a request: Datadog's limit, about one New Relic request.
    batch: int = 1000
    #: S3 GETs in flight, one per connection of the S3 client ...
    fetchers: int = AWS_CONNECTIONS
    #: ... and at most this many bytes fetched ahead, and as many queued for worker processes
    #: (S3 objects reach a worker as bytes; a Firehose object can be 128 MiB).
    fetch_bytes: int = 64_000_000
    #: Objects, or events, digested in the replaying process before worker processes take over
    #: (a Firehose backup can be a few large objects).
    parallel_after_objects: int = 500
    parallel_after_events: int = 2_000
    #: A chunk (one worker task) is at most ``chunk_objects`` objects, sized to about
    #: ``chunk_events`` events by the events per object seen so far. A worker hands a chunk back
    #: unfinished after ``chunk_events`` events or ``chunk_bytes`` of input: its result stays
    #: small whatever the objects are, and the rest waits behind every queued chunk.
    chunk_objects: int = 64
    chunk_events: int = 1_000
    chunk_bytes: int = 1_000_000
    #: Chunks queued or being digested, per worker. Results are taken in order, and one chunk can
    #: hold ten times the events of the next (a Firehose object beside 64 archive documents): with
    #: a short queue the other workers sit idle behind it.
    chunks_per_worker: int = 8
    #: ... and at most about this many events per worker, as the chunks were sized: a chunk of one
    #: large Firehose object holds a thousand events and its result a few MB, so with such objects
    #: fewer chunks wait (memory stays that of a run of small objects).
    events_per_worker: int = 1_500
    #: The pipe each worker hands its results back through (Linux; the system may refuse more
    #: than 1 MB). A result is up to a few MB of encoded logs: through the default 64 KB pipe a
    #: worker blocks many times writing it, idle until the replaying process reads.
    result_pipe_bytes: int = 1 << 20
    #: Digest in the replaying process while spawned workers start, until one answers.
    digest_while_starting: bool = True

    def chunk_size(self, objects: int, events: int) -> int:
        """Objects for the next chunk, given the objects and events read so far: about
        ``chunk_events`` events (2 for Firehose objects of 500, ``chunk_objects`` for one-event
        archive documents)."""
        per_object = events / objects if objects else 1.0
        return max(1, min(self.chunk_objects, int(self.chunk_events / max(per_object, 1.0))))
