"""A local AWS emulator (moto in server mode, a separate process on 127.0.0.1) for tests.

Real HTTP: boto3 talks to it through ``AWS_ENDPOINT_URL``, exactly as it talks to AWS.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import boto3
import pytest
from botocore.config import Config

REGION = "us-east-1"
CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": REGION,
}


_RUNNING_ON = re.compile(rb"Running on http://127\.0\.0\.1:(\d+)")


def start_moto(port: int = 0, log: IO[bytes] | None = None) -> tuple[subprocess.Popen[bytes], int]:
    """moto's server (``tests.moto_atomic``: S3's conditional writes made atomic) on ``port``;
    0 lets the server bind a free port itself (no bind-close-reuse race with other processes) and
    this reads which from its start-up line.
    Its output is drained (to ``log`` when given) for as long as it runs, so it never blocks."""
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.moto_atomic", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=Path(__file__).resolve().parent.parent,
    )  # fmt: skip
    assert process.stderr is not None
    found: list[int] = []
    ready = threading.Event()

    def drain(stream: IO[bytes]) -> None:
        for line in stream:
            if not found and (match := _RUNNING_ON.search(line)):
                found.append(int(match[1]))
                ready.set()
            if log is not None:
                log.write(line)
                log.flush()
        ready.set()  # it exited

    threading.Thread(target=drain, args=(process.stderr,), daemon=True).start()
    if not ready.wait(30) or not found:
        process.kill()
        raise RuntimeError("moto server did not start within 30 s")
    url = f"http://127.0.0.1:{found[0]}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"{url}/moto-api/", timeout=1).close()
            return process, found[0]
        except OSError:
            time.sleep(0.05)
    process.kill()
    raise RuntimeError(f"moto server did not answer on {url} within 30 s")


class MotoServer:
    """``python -m moto.server`` on a loopback port it binds itself; ``stop``/``start`` simulate an
    outage (a restart binds the same port again, so clients keep their endpoint)."""

    def __init__(self) -> None:
        self.port = 0
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self._process, self.port = start_moto(self.port)

    def stop(self) -> None:
        if self._process is not None:
            self._process.terminate()
            self._process.wait(timeout=10)
            self._process = None

    def reset(self) -> None:
        """Forget every resource (between tests)."""
        request = urllib.request.Request(f"{self.url}/moto-api/reset", method="POST")
        urllib.request.urlopen(request, timeout=5).close()

    def client(self, service: str, region: str | None = None, *, retries: bool = True) -> Any:
        """A client of the emulator; ``retries=False`` as ``wiring.aws_client`` makes the archive's."""
        config = Config(retries={"total_max_attempts": 1, "mode": "standard"}) if not retries else None
        return boto3.client(service, endpoint_url=self.url, region_name=region or REGION, config=config,  # type: ignore[call-overload]
                            aws_access_key_id="testing", aws_secret_access_key="testing")  # fmt: skip

    def environ(self) -> dict[str, str]:
        return {**CREDENTIALS, "AWS_ENDPOINT_URL": self.url}


@pytest.fixture(scope="session")
def moto_server() -> Iterator[MotoServer]:
    server = MotoServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def aws(moto_server: MotoServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[MotoServer]:
    """The emulator, empty, with this process's AWS environment pointed at it."""
    moto_server.reset()
    for name, value in moto_server.environ().items():
        monkeypatch.setenv(name, value)
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    yield moto_server


def isolated_environ() -> dict[str, str]:
    """The environment minus anything that could point boto3 at a real account."""
    return {
        k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "DD_", "NEW_RELIC_", "FORWARDER_"))
    }
