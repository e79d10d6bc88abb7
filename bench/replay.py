"""Replay throughput: a 100,000-event archive (both formats, many objects) to a loopback intake.

The replay runs in its own process (``python -m forwarder replay``) so its CPU time and peak RSS
are its own; the intake is a minimal sink (gunzip and count) so it is not the bottleneck.
Baseline: the same kind of events sent one request per event.
"""

from __future__ import annotations

import copy
import gzip
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from bench.common import ROOT, Row, fixture_events
from forwarder.archive import SCHEMA
from forwarder.parse import parse_event

PER_FIREHOSE_OBJECT = 500


class _Sink(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # else every answer waits ~40 ms for a delayed ACK
    counted = 0
    lock = threading.Lock()

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        if self.headers.get("Content-Encoding") == "gzip":
            body = gzip.decompress(body)
        with _Sink.lock:
            _Sink.counted += body.count(b'"ddsource"')
        self.send_response(202)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args: Any) -> None:
        pass


def build_archive(folder: Path, total: int) -> None:
    """Half Firehose backup objects (gzip, concatenated), half this tool's archive documents."""
    events = fixture_events()
    start = datetime(2026, 11, 1, tzinfo=UTC)
    firehose: list[dict[str, Any]] = []
    for index in range(total):
        event = copy.deepcopy(events[index % len(events)])
        event["id"] = str(uuid.uuid4())
        moment = start + timedelta(seconds=index * 20)
        event["time"] = moment.strftime("%Y-%m-%dT%H:%M:%SZ")
        hour = folder / "ecs-task-stop-log" / moment.strftime("%Y/%m/%d/%H")
        if index % 2:
            hour.mkdir(parents=True, exist_ok=True)
            record = parse_event(event)
            document = {"schema": SCHEMA, "event_id": event["id"], "event_time": record.time,
                        "category": record.category, "severity": record.severity, "record": record.to_dict(),
                        "event": event, "deliveries": {}}  # fmt: skip
            (hour / f"{event['id']}.json").write_text(json.dumps(document, separators=(",", ":")) + "\n")
        else:
            firehose.append(event)
            if len(firehose) == PER_FIREHOSE_OBJECT:
                hour.mkdir(parents=True, exist_ok=True)
                text = "".join(json.dumps(e, separators=(",", ":")) for e in firehose)
                (hour / f"ecs-task-stop-log-1-{uuid.uuid4()}.gz").write_bytes(gzip.compress(text.encode()))
                firehose = []
    if firehose:
        text = "".join(json.dumps(e, separators=(",", ":")) for e in firehose)
        (folder / "ecs-task-stop-log" / "tail.gz").write_bytes(gzip.compress(text.encode()))


def replay_process(folder: Path, url: str) -> dict[str, float]:
    env = {**os.environ, "DD_API_KEY": "bench", "DD_LOGS_URL": url, "PYTHONPATH": str(ROOT)}
    for name in ("NEW_RELIC_LICENSE_KEY", "FORWARDER_DESTINATIONS"):
        env.pop(name, None)
    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-m", "forwarder", "replay", "--to", "datadog", "--timestamp", "original", "--json", str(folder)],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env,
    )  # fmt: skip
    assert process.stdout is not None
    output = process.stdout.read()
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - started
    summary = json.loads(output)
    assert status == 0, summary
    return {"events": summary["sent"]["datadog"], "cpu": usage.ru_utime + usage.ru_stime, "wall": wall,
            "user": usage.ru_utime, "sys": usage.ru_stime,
            "rss_mb": usage.ru_maxrss / 1024}  # fmt: skip


def one_per_request(url: str, count: int) -> float:
    """Events per second when every event is its own request (the naive forwarder)."""
    from forwarder.destinations.base import deadline_in
    from forwarder.destinations.datadog import DatadogDestination
    from forwarder.parse import parse_event

    destination = DatadogDestination("bench", url)
    records = [parse_event(e) for e in fixture_events()]
    started = time.perf_counter()
    for index in range(count):
        destination.deliver([destination.build(records[index % len(records)])], deadline_in(30))
    return count / (time.perf_counter() - started)


def run() -> list[Row]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Sink)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/api/v2/logs"
    try:
        with tempfile.TemporaryDirectory() as small, tempfile.TemporaryDirectory() as large:
            build_archive(Path(small), 10_000)
            build_archive(Path(large), 100_000)
            ten = replay_process(Path(small), url)
            hundred = replay_process(Path(large), url)
        baseline = one_per_request(url, 2000)
    finally:
        server.shutdown()
    assert _Sink.counted >= ten["events"] + hundred["events"]
    cpu_us = hundred["cpu"] / hundred["events"] * 1e6
    rate = hundred["events"] / hundred["wall"]
    return [
        Row(
            "replay CPU per event",
            f"{cpu_us:.0f} µs",
            "<= 100 µs",
            "100k events (50% Firehose gz objects of 500, 50% archive documents), user+sys of the replay process",
        ),
        Row(
            "replay wall rate",
            f"{rate:,.0f} events/s",
            ">= 20x one-per-request",
            f"same run; {rate / baseline:.0f}x the one-per-request rate",
        ),
        Row(
            "one-request-per-event baseline",
            f"{baseline:,.0f} events/s",
            "-",
            "2,000 events, Datadog destination, loopback sink",
        ),
        Row(
            "replay peak RSS, 10k vs 100k events",
            f"{ten['rss_mb']:.1f} MB vs {hundred['rss_mb']:.1f} MB",
            "within ±10 MB",
            f"difference {hundred['rss_mb'] - ten['rss_mb']:+.1f} MB",
        ),
    ]


if __name__ == "__main__":
    for row in run():
        print(row)
