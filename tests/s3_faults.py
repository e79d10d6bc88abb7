"""A fault-injecting HTTP proxy in front of the AWS emulator.

S3 throttles (``503 SlowDown``), fails (500) or refuses (403) over HTTP; moto never does. This proxy
forwards every request to the emulator unchanged, except those a rule says to fail: those get S3's
own XML error document and status, so botocore parses them exactly as it parses S3's.
"""

from __future__ import annotations

import http.client
import threading
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, cast
from urllib.parse import urlsplit

import boto3
import pytest
from botocore.config import Config

from tests.aws import CREDENTIALS, REGION, MotoServer

HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "te", "trailer", "upgrade"}


@dataclass(frozen=True)
class S3Error:
    status: int
    code: str
    message: str = "injected by tests/s3_faults.py"

    def body(self) -> bytes:
        return (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            f"<Error><Code>{self.code}</Code><Message>{self.message}</Message>"
            f"<RequestId>{uuid.uuid4().hex[:16]}</RequestId></Error>"
        ).encode()


SLOW_DOWN = S3Error(503, "SlowDown", "Please reduce your request rate.")
INTERNAL = S3Error(500, "InternalError", "We encountered an internal error. Please try again.")
DENIED = S3Error(403, "AccessDenied", "Access Denied")


@dataclass
class Rule:
    """Fail requests that ``matches``: let ``after`` through first, then fail ``times`` (None: all)."""

    matches: Callable[[str, str], bool]
    error: S3Error
    after: int = 0
    times: int | None = None
    seen: int = field(default=0)

    def applies(self, method: str, path: str) -> bool:
        if not self.matches(method, path):
            return False
        self.seen += 1
        if self.seen <= self.after:
            return False
        return self.times is None or self.seen - self.after <= self.times


def s3_puts(bucket: str) -> Callable[[str, str], bool]:
    """PutObject into ``bucket`` (path-style, as boto3 addresses a loopback endpoint)."""
    return lambda method, path: method == "PUT" and urlsplit(path).path.startswith(f"/{bucket}/")


def s3_gets(bucket: str) -> Callable[[str, str], bool]:
    return lambda method, path: method == "GET" and urlsplit(path).path.startswith(f"/{bucket}/")


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, proxy: FaultProxy) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.proxy = proxy


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _body(self) -> bytes:
        if "chunked" not in self.headers.get("Transfer-Encoding", "").lower():
            return self.rfile.read(int(self.headers.get("Content-Length") or 0))
        chunks: list[bytes] = []
        while size := int(self.rfile.readline().split(b";")[0], 16):
            chunks.append(self.rfile.read(size))
            self.rfile.readline()
        while self.rfile.readline() not in (b"\r\n", b"\n", b""):
            pass
        return b"".join(chunks)

    def _relay(self) -> None:
        proxy = cast(_Server, self.server).proxy
        body = self._body()
        error = proxy.fault(self.command, self.path)
        if error is not None:
            payload = error.body()
            self.send_response(error.status)
            self.send_header("Content-Type", "application/xml")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
            return
        headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
        if self.headers.get("Transfer-Encoding") is None or body:
            headers["Content-Length"] = str(len(body))
        connection = http.client.HTTPConnection("127.0.0.1", proxy.upstream_port, timeout=30)
        try:
            connection.request(self.command, self.path, body=body, headers=headers)
            answer = connection.getresponse()
            payload = answer.read()
            self.send_response(answer.status)
            for name, value in answer.getheaders():
                if name.lower() not in HOP_BY_HOP:
                    self.send_header(name, value)
            length = answer.getheader("Content-Length") if self.command == "HEAD" else str(len(payload))
            self.send_header("Content-Length", length or "0")
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(payload)
        finally:
            connection.close()

    do_GET = do_PUT = do_POST = do_HEAD = do_DELETE = _relay


class FaultProxy:
    """The emulator behind a proxy that fails what ``rules`` say; ``injected`` counts by error code."""

    def __init__(self, upstream: MotoServer) -> None:
        self.upstream = upstream
        self.upstream_port = upstream.port
        self.rules: list[Rule] = []
        self.injected: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._server = _Server(self)
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def fail(self, matches: Callable[[str, str], bool], error: S3Error, *, after: int = 0,
             times: int | None = None) -> Rule:  # fmt: skip
        rule = Rule(matches, error, after, times)
        with self._lock:
            self.rules.append(rule)
        return rule

    def heal(self) -> None:
        with self._lock:
            self.rules.clear()

    def fault(self, method: str, path: str) -> S3Error | None:
        with self._lock:
            for rule in self.rules:
                if rule.applies(method, path):
                    self.injected[rule.error.code] += 1
                    return rule.error
        return None

    def client(self, service: str, *, region: str | None = None, retries: bool = True) -> Any:
        config = Config(retries={"total_max_attempts": 1, "mode": "standard"}) if not retries else None
        return boto3.client(service, endpoint_url=self.url, region_name=region or REGION, config=config,  # type: ignore[call-overload]
                            aws_access_key_id="testing", aws_secret_access_key="testing")  # fmt: skip

    def environ(self) -> dict[str, str]:
        return {**CREDENTIALS, "AWS_ENDPOINT_URL": self.url}

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()


@pytest.fixture
def s3_faults(aws: MotoServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[FaultProxy]:
    """The (empty) emulator behind a fault proxy, with this process's AWS environment pointed at it."""
    proxy = FaultProxy(aws)
    monkeypatch.setenv("AWS_ENDPOINT_URL", proxy.url)
    try:
        yield proxy
    finally:
        proxy.close()
