"""``report`` over 100,000 and 1,000,000 archived events: events per second and peak RSS.

The 100k archive is the replay bench's (half Firehose gz objects of 500, half this tool's archive
documents, an event every 20 s: 23 days). The 1M one is Firehose gz objects of 500 over the same
23 days (an event every 2 s): the same groups and hours, ten times the events, so a memory bound
by groups x hours shows as the same peak RSS. Each run is the console script in a process of its
own (``report --json``), as users run it; its peak RSS is its own VmHWM.
"""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench.common import ROOT, Row, fixture_events
from bench.replay import SCRIPT, build_archive

PER_OBJECT = 500
RUNS = 3
START = datetime(2026, 11, 1, tzinfo=UTC)
SPAN = timedelta(seconds=20 * 100_000)  # the replay bench's 100k events, one every 20 s

_REPORT = """
import json, runpy, sys, time
sys.argv = [{script!r}, "report", "--json", *{options!r}, {folder!r}]
started = time.perf_counter()
try:
    runpy.run_path({script!r}, run_name="__main__")
except SystemExit as done:
    code = done.code
hwm = next(l for l in open("/proc/self/status") if l.startswith("VmHWM"))
print(json.dumps({{"peak_rss_mb": int(hwm.split()[1]) / 1024, "inside_s": time.perf_counter() - started}}))
sys.exit(code)
"""


def build_firehose(folder: Path, total: int, span: timedelta = SPAN) -> None:
    """``total`` events cycling through the fixtures, evenly over ``span``, in Firehose gz objects
    of PER_OBJECT (hour folders by arrival: a minute after an object's last event). Each fixture
    is serialised once, with its id and time filled in per event."""
    templates = []
    for event in fixture_events():
        templates.append(json.dumps({**event, "id": "@ID@", "time": "@TIME@"}, separators=(",", ":")))
    step = span / total
    batch: list[str] = []
    for index in range(total):
        moment = START + step * index
        text = templates[index % len(templates)]
        batch.append(text.replace("@ID@", f"00000000-0000-4000-8000-{index:012d}", 1).replace(
            "@TIME@", moment.strftime("%Y-%m-%dT%H:%M:%SZ"), 1))  # fmt: skip
        if len(batch) == PER_OBJECT or index == total - 1:
            arrival = moment + timedelta(minutes=1)
            hour = folder / "ecs-task-stop-log" / arrival.strftime("%Y/%m/%d/%H")
            hour.mkdir(parents=True, exist_ok=True)
            name = f"stops-1-{arrival:%Y-%m-%d-%H-%M-%S}-{index:09d}.gz"
            (hour / name).write_bytes(gzip.compress("".join(batch).encode(), 6))
            batch = []


def report_process(folder: Path, *options: str) -> dict[str, float]:
    """One ``report --json`` run: events read, wall and CPU seconds, peak RSS (MB)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    with tempfile.TemporaryFile() as errors:
        started = time.perf_counter()
        process = subprocess.Popen(
            [sys.executable, "-c", _REPORT.format(script=str(SCRIPT), folder=str(folder), options=list(options))],
            stdout=subprocess.PIPE, stderr=errors, env=env,
        )  # fmt: skip
        assert process.stdout is not None
        lines = process.stdout.read().decode().splitlines()
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - started
        errors.seek(0)
        assert status == 0, errors.read().decode()[-2000:]
    document, peak = json.loads(lines[0]), json.loads(lines[-1])
    return {"events": document["events"], "wall": wall, "cpu": usage.ru_utime + usage.ru_stime,
            "rss_mb": peak["peak_rss_mb"], "loops": len(document["loops"]),
            "groups": len(document["groups"])}  # fmt: skip


def _best(runs: list[dict[str, float]]) -> dict[str, float]:
    """The fastest run, with the largest peak RSS of all (memory is not noise)."""
    best = dict(min(runs, key=lambda run: run["wall"]))
    best["rss_mb"] = max(run["rss_mb"] for run in runs)
    return best


def page_seconds(folder: Path) -> tuple[float, int]:
    """Wall seconds of ``report --html`` over ``folder`` (reading included), and the page's size."""
    with tempfile.TemporaryDirectory() as out:
        page = Path(out) / "report.html"
        started = time.perf_counter()
        subprocess.run([str(SCRIPT), "report", str(folder), "--html", str(page)], check=True,
                       capture_output=True, env={**os.environ, "PYTHONPATH": str(ROOT)})  # fmt: skip
        return time.perf_counter() - started, page.stat().st_size


def run() -> list[Row]:
    with tempfile.TemporaryDirectory() as small:
        build_archive(Path(small), 100_000)
        hundred = _best([report_process(Path(small)) for _ in range(RUNS)])
        html_s, html_bytes = page_seconds(Path(small))
    with tempfile.TemporaryDirectory() as large:
        build_firehose(Path(large), 1_000_000)
        million = _best([report_process(Path(large)) for _ in range(RUNS)])
    assert (hundred["events"], million["events"]) == (100_000, 1_000_000), (hundred, million)
    return [
        Row(
            "report over 100k archived events",
            f"{hundred['events'] / hundred['wall']:,.0f} events/s; peak RSS {hundred['rss_mb']:.0f} MB",
            "-",
            f"the replay bench's archive (50% Firehose gz objects of 500, 50% archive documents; 23 days, "
            f"{hundred['groups']:.0f} groups), `report --json`, one process, the console script's wall time "
            f"(start-up included), fastest of {RUNS} ({hundred['cpu'] / hundred['events'] * 1e6:.0f} µs CPU an "
            f"event); peak RSS the largest; with `--html`: {html_s:.1f} s, "
            f"a {html_bytes / 1e6:.1f} MB page",
        ),
        Row(
            "report over 1M archived events",
            f"{million['events'] / million['wall']:,.0f} events/s; peak RSS {million['rss_mb']:.0f} MB",
            "peak RSS as at 100k (groups x hours, not events)",
            f"2,000 Firehose gz objects of 500 over the same 23 days and {million['groups']:.0f} groups (an event "
            f"every 2 s: {million['loops']:.0f} crash loops), `report --json`; fastest of {RUNS}, peak RSS the "
            f"largest ({million['cpu'] / million['events'] * 1e6:.0f} µs CPU an event); "
            f"{million['rss_mb'] - hundred['rss_mb']:+.1f} MB against the 100k run",
        ),
    ]


if __name__ == "__main__":
    for row in run():
        print(row)
