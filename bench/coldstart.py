"""Cold start as Lambda runs code, against the floor, on each supported runtime's Python.

Each sample is a fresh interpreter (``-S -E``, ``PYTHONDONTWRITEBYTECODE=1``) whose path holds only
the standard library, the unpacked zip on a read-only directory and a folder with boto3 and its
dependencies (what the Lambda runtime provides), handling one event: the archive PUT to the S3
emulator and one Datadog log to a loopback intake. The floor is the least any forwarder does: a
fresh interpreter that imports boto3, PUTs one S3 object and POSTs one gzipped log (urllib3, which
the runtime has). Wall time from spawn to exit and peak RSS; best of ``RUNS``, interleaved.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import tempfile
import time
import zipfile
from pathlib import Path
from typing import Any

from bench.common import ROOT, Row
from forwarder.package import RUNTIMES, build, find_interpreter
from tests.aws import MotoServer
from tests.intakes import DatadogIntake
from tests.lambda_child import lambda_runtime

SITE = Path(str(__import__("httpx").__file__)).resolve().parent.parent
RUNS = 9
EVENT = ROOT / "fixtures" / "events" / "app-crashed--exit1-service.json"

_RSS = 'int(next(l for l in open("/proc/self/status") if l.startswith("VmHWM")).split()[1]) / 1024'
_FORWARDER = """
import json, os, sys
sys.path[:0] = {path!r}
from forwarder.handler import lambda_handler
class Context:
    def get_remaining_time_in_millis(self): return 30000
answer = lambda_handler(json.loads(os.environ["EVENT"]), Context())
assert answer["deliveries"] == {{"datadog": "delivered"}}, answer
print(json.dumps({{"rss_mb": {rss}}}))
"""
_FLOOR = """
import gzip, json, os, sys
sys.path[:0] = {path!r}
import boto3, urllib3
event = json.loads(os.environ["EVENT"])
boto3.client("s3").put_object(Bucket=os.environ["ARCHIVE_BUCKET"], Key="floor/" + event["id"] + ".json",
                              Body=json.dumps(event).encode(), ServerSideEncryption="AES256")
body = gzip.compress(json.dumps([{{"message": "stopped", "ddsource": "ecs", "event": event}}]).encode())
answer = urllib3.PoolManager().request("POST", os.environ["DD_LOGS_URL"], body=body, headers={{
    "DD-API-KEY": os.environ["DD_API_KEY"], "Content-Type": "application/json", "Content-Encoding": "gzip"}})
assert answer.status == 202, answer.status
print(json.dumps({{"rss_mb": {rss}}}))
"""


def _read_only(folder: Path) -> None:
    for path in [*folder.rglob("*"), folder]:
        mode = path.stat().st_mode
        path.chmod(mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))


def _runtime_folder(python: str, folder: Path) -> Path:
    """boto3 and its dependencies, copied and compiled by the runtime's Python: the Lambda runtime
    ships them with their bytecode, so neither side of the comparison compiles them."""
    links = lambda_runtime(SITE, folder.with_name(folder.name + "-links"))
    folder.mkdir()
    for entry in links.iterdir():
        source = entry.resolve()
        if source.is_dir():
            shutil.copytree(source, folder / entry.name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copyfile(source, folder / entry.name)
    subprocess.run([python, "-m", "compileall", "-q", "-j", "0", str(folder)], check=True, timeout=600)
    return folder


def _sample(python: str, script: str, env: dict[str, str]) -> dict[str, float]:
    started = time.perf_counter()
    out = subprocess.run([python, "-S", "-E", "-c", script], capture_output=True, text=True, env=env,
                         check=True, timeout=120).stdout  # fmt: skip
    wall = (time.perf_counter() - started) * 1000
    return {"ms": wall, **json.loads(out.splitlines()[-1])}


def measure(runtime: str, server: MotoServer, url: str, scratch: Path) -> dict[str, Any]:
    python = find_interpreter(runtime)
    artifact = build(scratch / f"{runtime}.zip", runtime=runtime)
    task = scratch / f"{runtime}-task"
    with zipfile.ZipFile(artifact.path) as archive:
        archive.extractall(task)
    _read_only(task)
    boto = str(_runtime_folder(python, scratch / f"{runtime}-runtime"))
    event = json.loads(EVENT.read_text())
    env = {"PATH": os.environ.get("PATH", ""), **server.environ(), "PYTHONDONTWRITEBYTECODE": "1",
           "FORWARDER_DESTINATIONS": "datadog", "DD_API_KEY": "k", "DD_LOGS_URL": url,
           "ARCHIVE_BUCKET": "coldstart"}  # fmt: skip
    forwarder = _FORWARDER.format(path=[str(task), boto], rss=_RSS)
    floor = _FLOOR.format(path=[boto], rss=_RSS)
    samples: dict[str, list[dict[str, float]]] = {"forwarder": [], "floor": []}
    for n in range(RUNS):
        event["id"] = f"coldstart-{runtime}-{n}"
        env["EVENT"] = json.dumps(event)
        samples["forwarder"].append(_sample(python, forwarder, env))
        samples["floor"].append(_sample(python, floor, env))
    best = {name: min(runs, key=lambda r: r["ms"]) for name, runs in samples.items()}
    return {"runtime": runtime, "size_mb": artifact.size / 1e6, "pycs": artifact.pycs, **best}


def run() -> list[Row]:
    server = MotoServer()
    server.start()
    rows = []
    try:
        server.client("s3").create_bucket(Bucket="coldstart")
        with DatadogIntake(valid_keys={"k"}) as dd, tempfile.TemporaryDirectory() as scratch:
            results = [measure(runtime, server, dd.url, Path(scratch)) for runtime in RUNTIMES]
    finally:
        server.stop()
    first = results[0]
    rows.append(Row("Lambda zip size", f"{first['size_mb']:.2f} MB", "<= 3 MB",
                    f"make package: forwarder + tenacity (vendors through the runtime's urllib3), pure Python, {first['pycs']} pyc "
                    f"for {first['runtime']} (unchecked-hash); reproducible"))  # fmt: skip
    for result in results:
        forwarder, floor = result["forwarder"], result["floor"]
        rows.append(Row(
            f"cold start ({result['runtime']}): forwarder vs floor",
            f"{forwarder['ms']:.0f} ms vs {floor['ms']:.0f} ms ({forwarder['ms'] / floor['ms']:.2f}x); "
            f"RSS {forwarder['rss_mb']:.1f} vs {floor['rss_mb']:.1f} MB ({forwarder['rss_mb'] - floor['rss_mb']:+.1f})",
            "<= 1.2x; <= floor + 15 MB",
            f"a fresh interpreter on the read-only unpacked zip, no bytecode written, one event (archive PUT to "
            f"the S3 emulator, one Datadog log to a loopback intake), spawn to exit; the floor imports boto3, "
            f"PUTs one object, POSTs one gzipped log with urllib3; best of {RUNS}, interleaved",
        ))  # fmt: skip
    return rows


if __name__ == "__main__":
    for row in run():
        print(row)
