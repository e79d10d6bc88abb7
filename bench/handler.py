"""Per-event Lambda handler latency (p50/p99): archive in a local S3 emulator, both vendors on
loopback intakes. Dominated by the two S3 calls per event to the emulator: the create-only write
that archives the event and claims both destinations, and the compare-and-swap that records the
outcomes (before claims: a read and two writes)."""

from __future__ import annotations

import copy
import statistics
import time
import uuid

from bench.common import Row, fixture_events
from forwarder.handler import Runtime
from tests.aws import MotoServer
from tests.intakes import DatadogIntake, NewRelicIntake

EVENTS = 500
FIREHOSE_BUFFER_SECONDS = 60  # the source article's buffering interval


class _Context:
    def get_remaining_time_in_millis(self) -> int:
        return 30_000


def run() -> list[Row]:
    server = MotoServer()
    server.start()
    try:
        server.client("s3").create_bucket(Bucket="bench")
        with DatadogIntake(valid_keys={"k"}) as dd, NewRelicIntake(valid_keys={"k"}) as nr:
            env = {"FORWARDER_DESTINATIONS": "datadog,newrelic", "DD_API_KEY": "k", "DD_LOGS_URL": dd.url,
                   "NEW_RELIC_LICENSE_KEY": "k", "NEW_RELIC_LOGS_URL": nr.url, "ARCHIVE_BUCKET": "bench"}  # fmt: skip
            runtime = Runtime.from_env(env, client_factory=server.client, emit=lambda line: None)
            events = fixture_events()
            latencies = []
            for i in range(EVENTS + 20):
                event = copy.deepcopy(events[i % len(events)])
                event["id"] = str(uuid.uuid4())
                started = time.perf_counter()
                runtime.handle(event, _Context())
                if i >= 20:  # warm-up: first invocation builds clients and connections
                    latencies.append((time.perf_counter() - started) * 1000)
            assert len(dd.accepted) == len(nr.accepted) == EVENTS + 20
    finally:
        server.stop()
    cuts = statistics.quantiles(latencies, n=100)
    firehose_ms = FIREHOSE_BUFFER_SECONDS * 1000
    return [
        Row(
            "handler latency per event, p50",
            f"{cuts[49]:.1f} ms",
            "-",
            f"{EVENTS} events, warm container, S3 emulator + 2 loopback intakes",
        ),
        Row("handler latency per event, p99", f"{cuts[98]:.1f} ms", "-", "same run"),
        Row(
            "stop-to-vendor latency: Firehose buffer / Lambda path",
            f"{firehose_ms / cuts[49]:,.0f}x",
            "-",
            "the article's 60 s Firehose buffer vs the handler's p50 (archive + both vendors); "
            "EventBridge's own delivery, the same for both, not counted",
        ),
    ]
