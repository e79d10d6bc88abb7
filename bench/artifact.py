"""The Lambda artifact: zip size, and cold import of the handler from the zip beside ``import boto3``.

Each import runs in a fresh interpreter whose path holds only the standard library, the unpacked
zip and a folder with boto3 and its dependencies (what the Lambda runtime provides). Best of 7.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from bench.common import Row
from forwarder.package import build
from tests.lambda_child import lambda_runtime

SITE = Path(str(__import__("httpx").__file__)).resolve().parent.parent
RUNS = 7
_PROBE = """
import sys, time, json
sys.path[:0] = {path!r}
start = time.perf_counter()
import {module}
elapsed = time.perf_counter() - start
hwm = next(l for l in open("/proc/self/status") if l.startswith("VmHWM"))  # not ru_maxrss: see bench/replay.py
print(json.dumps({{"ms": elapsed * 1000, "rss_mb": int(hwm.split()[1]) / 1024}}))
"""


def _measure(module: str, path: list[str]) -> tuple[float, float]:
    best_ms, rss = float("inf"), 0.0
    for _ in range(RUNS):
        out = subprocess.run([sys.executable, "-S", "-E", "-c", _PROBE.format(path=path, module=module)],
                             capture_output=True, text=True, check=True).stdout  # fmt: skip
        sample = json.loads(out)
        if sample["ms"] < best_ms:
            best_ms, rss = sample["ms"], sample["rss_mb"]
    return best_ms, rss


def run() -> list[Row]:
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        artifact = build(folder / "lambda.zip")
        size_mb = artifact.stat().st_size / 1e6
        with zipfile.ZipFile(artifact) as archive:
            archive.extractall(folder / "task")
        runtime = str(lambda_runtime(SITE, folder / "runtime"))
        boto_ms, boto_rss = _measure("boto3", [runtime])
        handler_ms, handler_rss = _measure("forwarder.handler", [str(folder / "task"), runtime])
        both_ms, both_rss = _measure("forwarder.handler, boto3", [str(folder / "task"), runtime])
    return [
        Row(
            "Lambda zip size",
            f"{size_mb:.2f} MB",
            "<= 3 MB",
            "make package: forwarder + httpx stack + tenacity, pure Python",
        ),
        Row(
            "cold import: forwarder.handler vs boto3",
            f"{handler_ms:.0f} ms vs {boto_ms:.0f} ms ({handler_ms / boto_ms:.2f}x)",
            "<= 1.5x",
            f"fresh interpreter, best of {RUNS}; handler + boto3 together: {both_ms:.0f} ms",
        ),
        Row(
            "cold import RSS: forwarder.handler vs boto3",
            f"{handler_rss:.1f} MB vs {boto_rss:.1f} MB ({handler_rss - boto_rss:+.1f} MB)",
            "<= +25 MB",
            f"same runs; handler + boto3 together: {both_rss:.1f} MB",
        ),
    ]


if __name__ == "__main__":
    for row in run():
        print(row)
