"""What diagnosis beyond the event costs: the seed incident (exit 1, ``exec format error`` only in
the log, an arm64-only image) staged in the AWS emulator, handled with ``FORWARDER_ENRICH`` on and
off; and what it costs a stop the event explains (nothing read, no client built)."""

from __future__ import annotations

import copy
import statistics
import time
import uuid
from typing import Any

from bench.common import Row, fixture_events
from forwarder.enrich import Enricher
from forwarder.handler import Runtime
from forwarder.parse import parse_event
from tests.aws import MotoServer
from tests.intakes import DatadogIntake
from tests.test_enrich import STARTUP, Calls, Staged, index_manifest

EVENTS = 200


class _Context:
    def get_remaining_time_in_millis(self) -> int:
        return 30_000


def _handler_ms(server: MotoServer, url: str, event: dict[str, Any], enrich: str) -> list[float]:
    env = {"FORWARDER_DESTINATIONS": "datadog", "DD_API_KEY": "k", "DD_LOGS_URL": url,
           "ARCHIVE_BUCKET": "bench", "FORWARDER_ENRICH": enrich}  # fmt: skip
    runtime = Runtime.from_env(env, client_factory=server.client, emit=lambda line: None,
                               enrich_clients=Calls(server))  # fmt: skip
    latencies = []
    for i in range(EVENTS + 20):
        one = copy.deepcopy(event)
        one["id"] = str(uuid.uuid4())
        started = time.perf_counter()
        runtime.handle(one, _Context())
        if i >= 20:  # warm-up: clients, connections, the task definition and manifest caches
            latencies.append((time.perf_counter() - started) * 1000)
    return latencies


def _cold_enrich_ms(server: MotoServer, event: dict[str, Any]) -> float:
    """One enrichment with empty caches and new clients (a new container), median of 20."""
    record = parse_event(event)
    times = []
    for _ in range(20):
        enricher = Enricher(("logs", "image"), Calls(server))
        started = time.perf_counter()
        enriched = enricher(record, time.monotonic() + 30)
        times.append((time.perf_counter() - started) * 1000)
        assert enriched.category == "image-platform-mismatch"
    return statistics.median(times)


def _unneeded_us() -> tuple[float, int]:
    """Enrichment's cost on every fixture stop whose event names the cause, and clients built."""
    built: list[str] = []
    enricher = Enricher(("logs", "image"), lambda service, region: built.append(service))
    records = [r for r in (parse_event(e) for e in fixture_events()) if r.category not in
               ("app-crashed", "unknown", "container-start-failed", "health-check-failed",
                "image-platform-mismatch")]  # fmt: skip
    deadline = time.monotonic() + 60
    started = time.process_time()
    for _ in range(200):
        for record in records:
            enricher(record, deadline)
    return (time.process_time() - started) / (200 * len(records)) * 1e6, len(built)


def run() -> list[Row]:
    server = MotoServer()
    server.start()
    try:
        server.client("s3").create_bucket(Bucket="bench")
        staged = Staged(server, log_lines=STARTUP, manifest=index_manifest("arm64"))
        with DatadogIntake(valid_keys={"k"}) as dd:
            plain = _handler_ms(server, dd.url, staged.event, "")
            enriched = _handler_ms(server, dd.url, staged.event, "logs,image")
            categories = {log["ecs_stop"]["category"] for log in dd.accepted}
        assert categories == {"app-crashed", "image-platform-mismatch"}
        cold = _cold_enrich_ms(server, staged.event)
    finally:
        server.stop()
    unneeded_us, clients = _unneeded_us()
    p50_plain, p50_enriched = statistics.median(plain), statistics.median(enriched)
    return [
        Row(
            "diagnosis: added handler latency per enriched event, p50",
            f"+{p50_enriched - p50_plain:.1f} ms ({p50_plain:.1f} -> {p50_enriched:.1f} ms)",
            "<= 1,500 ms (the budget)",
            f"the seed incident (exit 1, exec format error in the log, arm64-only index in ECR), {EVENTS} "
            "events, warm container (task definition and manifest cached; the log read each time), "
            "S3 + ECS + Logs + ECR in the emulator, Datadog on loopback",
        ),
        Row(
            "diagnosis: one enrichment in a new container",
            f"{cold:.1f} ms",
            "<= 1,500 ms",
            "empty caches, new boto3 clients (ECS, Logs, ECR): DescribeTaskDefinition, GetLogEvents and "
            "BatchGetImage against the emulator, two at a time; median of 20",
        ),
        Row(
            "diagnosis: cost for a stop the event explains",
            f"{unneeded_us:.1f} µs, {clients} clients built",
            "no client, no AWS call",
            "every fixture stop outside app-crashed/unknown/container-start-failed/health-check-failed/"
            "image-platform-mismatch, enrichment on; CPU per stop",
        ),
    ]
