"""Loopback stand-ins for the Datadog Logs intake and the New Relic Log API.

Each intake is a stdlib ``ThreadingHTTPServer`` on 127.0.0.1 (random port) speaking HTTP/1.1 with
keep-alive. It enforces the vendor's documented limits (see shared/docs/vendor-apis.md), and
is deliberately *stricter* than the vendor wherever the vendor is lenient, so that forwarder bugs
show up as failures instead of silently degraded data:

* both intakes require ``Content-Type: application/json`` and reject an empty batch with 400;
* Datadog: limits use decimal megabytes (5_000_000 / 1_000_000 bytes, not MiB), the lower reading;
  a batch of more than 1000 logs is answered 413 (the vendor documents the limit, not the status);
* New Relic: every log needs a string ``message``; a list anywhere in a log is refused; the
  255-attribute limit counts *every* key of the merged, flattened log, ``message`` and
  ``timestamp`` included; a missing key is 403 (the vendor has no 401).

Faults are injected per POST (``script``), persistently (``fail_all``) or at random (``chaos``),
in that order of precedence. Duplicates: ``accepted_count_by(key)`` returns a ``Counter``, so a
test asserts ``max(intake.accepted_count_by(lambda log: log["message"]).values()) == 1``.
"""

from __future__ import annotations

import gzip
import json
import random
import select
import socket
import sys
import threading
import time
import uuid
import zlib
from collections import Counter
from collections.abc import Callable, Hashable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar, Self, cast
from urllib.parse import urlsplit

import pytest

DD_MAX_REQUEST_BYTES = 5_000_000  # per request, after decompression -> 413
DD_MAX_LOGS_PER_REQUEST = 1000  # more logs in one array -> 413
DD_MAX_LOG_BYTES = 1_000_000  # one log, compact JSON UTF-8; above: 202 but truncated_by_vendor
NR_MAX_REQUEST_BYTES = 1_000_000  # POSTed body as received (i.e. gzipped) -> 413
NR_MAX_ATTRIBUTES = 255  # keys per log after merging common attributes and flattening
NR_MAX_ATTRIBUTE_NAME = 255  # characters in a (dotted) attribute name

JsonObject = dict[str, Any]


@dataclass(frozen=True)
class Respond:
    """Answer with this status, headers and body instead of processing the request."""

    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""

    def __hash__(self) -> int:
        return hash((self.status, tuple(sorted(self.headers.items())), self.body))


@dataclass(frozen=True)
class Drop:
    """Read the request, then close the connection without any response."""


@dataclass(frozen=True)
class AcceptThenDrop:
    """Process the request (recording its logs if valid), then close without any response."""


@dataclass(frozen=True)
class Slow:
    """Sleep ``seconds`` first, then answer normally or as ``then`` says.

    Answering normally records the logs as accepted even if the client has timed out meanwhile,
    as a real vendor would: a retry then produces a duplicate.
    """

    seconds: float
    then: Behaviour | None = None


@dataclass(frozen=True)
class Unheard:
    """Accept, but answer only once the client has hung up (its read timeout fired), at most
    ``limit`` seconds: a vendor that took the logs without the forwarder ever hearing so. Unlike
    ``Slow`` it does not race the client's timeout, so a loaded machine cannot turn it into a normal
    answer, nor a normal answer into it."""

    limit: float = 10.0


Behaviour = Respond | Drop | AcceptThenDrop | Slow | Unheard


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    headers: dict[str, str]  # names lower-cased
    raw_size: int  # body bytes as received
    decoded_size: int  # body bytes after Content-Encoding was undone (0 if undecodable)
    log_count: int  # logs found in a valid payload, 0 otherwise
    status: int | None  # None: connection dropped without a response
    timestamp: float
    client_port: int  # equal ports on consecutive requests = connection reused
    behaviour: Behaviour | None  # fault applied, None = normal processing
    body: bytes  # decoded body (raw body if it could not be decoded)
    answered_in: float = 0.0  # seconds from the body read to the answer (a loaded machine can be slow)


@dataclass(frozen=True)
class TruncatedLog:
    request_number: int  # index into ``requests``
    log_index: int  # position of the log in that request's payload
    size: int  # serialized size in bytes


class _Reject(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass
class _Outcome:
    status: int = 202
    payload: JsonObject = field(default_factory=dict)
    decoded: bytes = b""
    logs: list[JsonObject] = field(default_factory=list)
    truncated: list[tuple[int, int]] = field(default_factory=list)  # (log index, size)


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, intake: _Intake) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.intake = intake

    def handle_error(self, request: Any, client_address: Any) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionError):  # clients hanging up are expected
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out in two writes: avoid 40 ms stalls

    def log_message(self, format: str, *args: Any) -> None:
        pass

    @property
    def intake(self) -> _Intake:
        return cast(_Server, self.server).intake

    def do_GET(self) -> None:
        raw, received = self._read_body(), time.monotonic()
        outcome = self.intake._handle_get(urlsplit(self.path).path, self._headers())
        self._finish(raw, outcome, None, None, received)

    def do_POST(self) -> None:
        raw, received = self._read_body(), time.monotonic()
        if urlsplit(self.path).path != self.intake.path:
            self._finish(raw, _Outcome(404, self.intake._error_body("Not Found")), None, None, received)
            return
        chosen = final = self.intake._next_behaviour()
        while isinstance(final, Slow):
            self.intake._closing.wait(final.seconds)
            final = final.then
        if isinstance(final, Unheard):
            self._wait_for_hangup(final.limit)
            final = None  # then answer (and accept) normally, to no one
        self._finish(raw, self.intake._handle_post(self._headers(), raw), chosen, final, received)

    def _finish(
        self, raw: bytes, outcome: _Outcome, chosen: Behaviour | None, final: Behaviour | None, received: float
    ) -> None:
        """Record the request, then answer as ``final`` (Slow already waited for) says."""
        drop = isinstance(final, Drop | AcceptThenDrop)
        accept = 200 <= outcome.status < 300 and (final is None or isinstance(final, AcceptThenDrop))
        if isinstance(final, Respond):
            status, body, extra = final.status, final.body, final.headers
        else:
            status, body, extra = outcome.status, json.dumps(outcome.payload).encode(), {}
        request = RecordedRequest(
            method=self.command,
            path=self.path,
            headers=self._headers(),
            raw_size=len(raw),
            decoded_size=len(outcome.decoded),
            log_count=len(outcome.logs),
            status=None if drop else status,
            timestamp=time.time(),
            client_port=self.client_address[1],
            behaviour=chosen,
            body=outcome.decoded or raw,
            answered_in=time.monotonic() - received,
        )
        self.intake._store(request, outcome if accept else None)
        if drop:
            self.close_connection = True  # nothing written: the client sees EOF
            return
        try:
            self.send_response(status)
            for name, value in extra.items():
                self.send_header(name, value)
            if body and "content-type" not in {name.lower() for name in extra}:
                self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except OSError:  # the client gave up, e.g. its read timeout fired during Slow
            self.close_connection = True

    def _wait_for_hangup(self, limit: float) -> None:
        """Until the client closes its end (it sends nothing more while it waits for an answer,
        so the socket turns readable only at EOF), the intake closes, or ``limit`` passes."""
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline and not self.intake._closing.is_set():
            readable, _, _ = select.select([self.connection], [], [], 0.02)
            if readable:
                try:
                    if self.connection.recv(1, socket.MSG_PEEK) == b"":
                        return
                except OSError:  # reset by the client: hung up too
                    return

    def _headers(self) -> dict[str, str]:
        return {name.lower(): value for name, value in self.headers.items()}

    def _read_body(self) -> bytes:
        if "chunked" not in self.headers.get("Transfer-Encoding", "").lower():
            return self.rfile.read(int(self.headers.get("Content-Length") or 0))
        chunks: list[bytes] = []
        while size := int(self.rfile.readline().split(b";")[0], 16):
            chunks.append(self.rfile.read(size))
            self.rfile.readline()
        while self.rfile.readline() not in (b"\r\n", b"\n", b""):
            pass  # trailers
        return b"".join(chunks)


def _decode(encoding: str, raw: bytes, allowed: Sequence[str]) -> bytes:
    encoding = encoding.strip().lower() or "identity"
    if encoding not in allowed:
        raise _Reject(400, f"unsupported Content-Encoding {encoding!r}")
    try:
        if encoding == "gzip":
            return gzip.decompress(raw)
        if encoding == "deflate":
            try:
                return zlib.decompress(raw)
            except zlib.error:
                return zlib.decompress(raw, -zlib.MAX_WBITS)  # raw deflate, no zlib header
    except (OSError, EOFError, zlib.error) as exc:
        raise _Reject(400, f"cannot decode {encoding} body: {exc}") from exc
    return raw


def _parse_json(headers: dict[str, str], decoded: bytes) -> Any:
    if headers.get("content-type", "").split(";")[0].strip().lower() != "application/json":
        raise _Reject(400, "Content-Type must be application/json")
    try:
        return json.loads(decoded)
    except ValueError as exc:
        raise _Reject(400, f"body is not JSON: {exc}") from exc


class _Intake:
    path: ClassVar[str]
    default_key: ClassVar[str]
    retry_headers: ClassVar[dict[str, str]] = {"Retry-After": "0"}

    def __init__(self, valid_keys: Iterable[str] | None = None) -> None:
        self.valid_keys: set[str] = set(valid_keys) if valid_keys is not None else {self.default_key}
        self._lock = threading.Lock()
        self._closing = threading.Event()
        self._script: list[Behaviour] = []
        self._fail_all: Respond | None = None
        self._chaos: tuple[random.Random, float, tuple[Behaviour, ...]] | None = None
        self._accepted: list[JsonObject] = []
        self._requests: list[RecordedRequest] = []
        self._truncated: list[TruncatedLog] = []
        self._server = _Server(self)
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()

    # -- lifecycle ---------------------------------------------------------------------------
    def close(self) -> None:
        """Stop serving (within the 0.05 s poll interval); idempotent."""
        self._closing.set()  # wakes Slow handlers
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def url(self) -> str:
        return self.base_url + self.path

    # -- records (snapshots, safe to read while the server runs) ------------------------------
    @property
    def accepted(self) -> list[JsonObject]:
        with self._lock:
            return list(self._accepted)

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._requests)

    @property
    def truncated_by_vendor(self) -> list[TruncatedLog]:
        with self._lock:
            return list(self._truncated)

    def accepted_count_by(self, key: Callable[[JsonObject], Hashable]) -> Counter[Hashable]:
        return Counter(key(log) for log in self.accepted)

    # -- faults ------------------------------------------------------------------------------
    def script(self, *behaviours: Behaviour) -> None:
        """Queue behaviours, consumed one per POST to the intake path."""
        with self._lock:
            self._script.extend(behaviours)

    def fail_all(self, status: int, headers: dict[str, str] | None = None) -> None:
        """Answer every POST with ``status`` until ``reset()`` (429 gets retry headers)."""
        default = self.retry_headers if status == 429 else {}
        with self._lock:
            self._fail_all = Respond(status, dict(default if headers is None else headers))

    def chaos(self, rate: float | None, seed: int = 0, kinds: Sequence[Behaviour] = ()) -> None:
        """Apply a fault, drawn from ``kinds``, to each POST with probability ``rate``."""
        statuses = (Respond(500), Respond(503), Respond(429, dict(self.retry_headers)))
        kinds = tuple(kinds) or (*statuses, Drop(), AcceptThenDrop(), Slow(0.05))
        with self._lock:
            self._chaos = None if rate is None else (random.Random(seed), rate, kinds)

    def reset(self) -> None:
        """Forget scripts, fault modes and every record (``valid_keys`` stay)."""
        with self._lock:
            self._script.clear()
            self._fail_all = self._chaos = None
            self._accepted.clear()
            self._requests.clear()
            self._truncated.clear()

    # -- server side -------------------------------------------------------------------------
    def _next_behaviour(self) -> Behaviour | None:
        with self._lock:
            if self._script:
                return self._script.pop(0)
            if self._fail_all is not None:
                return self._fail_all
            if self._chaos is not None:
                rng, rate, kinds = self._chaos
                if rng.random() < rate:
                    return rng.choice(kinds)
            return None

    def _store(self, request: RecordedRequest, accepted: _Outcome | None) -> None:
        with self._lock:
            self._requests.append(request)
            if accepted is not None:
                self._accepted.extend(accepted.logs)
                number = len(self._requests) - 1
                self._truncated.extend(TruncatedLog(number, i, n) for i, n in accepted.truncated)

    def _handle_post(self, headers: dict[str, str], raw: bytes) -> _Outcome:
        outcome = _Outcome()
        try:
            self._process(headers, raw, outcome)
        except _Reject as reject:
            outcome.status, outcome.payload = reject.status, self._error_body(str(reject))
            outcome.logs, outcome.truncated = [], []
        return outcome

    def _handle_get(self, path: str, headers: dict[str, str]) -> _Outcome:
        return _Outcome(404, self._error_body("Not Found"))

    def _process(self, headers: dict[str, str], raw: bytes, outcome: _Outcome) -> None:
        raise NotImplementedError

    def _error_body(self, message: str) -> JsonObject:
        raise NotImplementedError


class DatadogIntake(_Intake):
    path = "/api/v2/logs"
    default_key = "test-dd-key"
    retry_headers: ClassVar[dict[str, str]] = {"Retry-After": "0", "X-RateLimit-Reset": "0"}

    def _error_body(self, message: str) -> JsonObject:
        return {"errors": [message]}

    def _handle_get(self, path: str, headers: dict[str, str]) -> _Outcome:
        if path != "/api/v1/validate":
            return super()._handle_get(path, headers)
        if headers.get("dd-api-key") in self.valid_keys:
            return _Outcome(200, {"valid": True})
        return _Outcome(403, {"errors": ["Forbidden"]})

    def _process(self, headers: dict[str, str], raw: bytes, outcome: _Outcome) -> None:
        key = headers.get("dd-api-key")
        if not key:
            raise _Reject(401, "Unauthorized: missing DD-API-KEY")
        if key not in self.valid_keys:
            raise _Reject(403, "Forbidden: invalid DD-API-KEY")
        encoding = headers.get("content-encoding", "")
        outcome.decoded = _decode(encoding, raw, ("identity", "gzip", "deflate"))
        if len(outcome.decoded) > DD_MAX_REQUEST_BYTES:
            raise _Reject(413, f"payload over {DD_MAX_REQUEST_BYTES} bytes uncompressed")
        payload = _parse_json(headers, outcome.decoded)
        logs = payload if isinstance(payload, list) else [payload]
        if not logs or not all(isinstance(log, dict) for log in logs):
            raise _Reject(400, "body must be a log object or a non-empty array of log objects")
        if len(logs) > DD_MAX_LOGS_PER_REQUEST:
            raise _Reject(413, f"{len(logs)} logs in one request, max {DD_MAX_LOGS_PER_REQUEST}")
        outcome.logs = logs
        for index, log in enumerate(logs):
            size = len(json.dumps(log, separators=(",", ":"), ensure_ascii=False).encode("utf-8", "surrogatepass"))
            if size > DD_MAX_LOG_BYTES:
                outcome.truncated.append((index, size))


def _flatten(attributes: JsonObject, prefix: str = "") -> JsonObject:
    flat: JsonObject = {}
    for name, value in attributes.items():
        if isinstance(value, dict):
            flat.update(_flatten(value, f"{prefix}{name}."))
        else:
            flat[f"{prefix}{name}"] = value
    return flat


def _object(value: Any, what: str) -> JsonObject:
    if not isinstance(value, dict):
        raise _Reject(400, f"{what} must be a JSON object")
    return value


class NewRelicIntake(_Intake):
    path = "/log/v1"
    default_key = "test-nr-key"
    key_headers: ClassVar[tuple[str, ...]] = ("api-key", "x-license-key", "x-insert-key")

    def _error_body(self, message: str) -> JsonObject:
        return {"error": message}

    def _process(self, headers: dict[str, str], raw: bytes, outcome: _Outcome) -> None:
        if not any(headers.get(name) in self.valid_keys for name in self.key_headers):
            raise _Reject(403, "missing or invalid Api-Key")
        if len(raw) > NR_MAX_REQUEST_BYTES:
            raise _Reject(413, f"POSTed body over {NR_MAX_REQUEST_BYTES} bytes as received")
        encoding = headers.get("content-encoding", "")
        outcome.decoded = _decode(encoding, raw, ("identity", "gzip"))
        payload = _parse_json(headers, outcome.decoded)
        logs = self._merged_logs(payload if isinstance(payload, list) else [payload])
        for index, log in enumerate(logs):
            self._check(index, log)
        outcome.logs = logs
        outcome.payload = {"requestId": str(uuid.uuid4())}

    @staticmethod
    def _merged_logs(items: list[Any]) -> list[JsonObject]:
        if not items:
            raise _Reject(400, "empty payload")
        logs: list[JsonObject] = []
        for raw_item in items:
            item = _object(raw_item, "payload item")
            if "logs" not in item:  # simple form: the item is the log
                logs.append(_flatten(item))
                continue
            common = _object(item.get("common", {}), "common")
            base = {"timestamp": common["timestamp"]} if "timestamp" in common else {}
            base.update(_flatten(_object(common.get("attributes", {}), "common.attributes")))
            if not isinstance(item["logs"], list):
                raise _Reject(400, "logs must be an array")
            for raw_entry in item["logs"]:
                entry = _object(raw_entry, "log entry")
                own = {name: value for name, value in entry.items() if name != "attributes"}
                attributes = _object(entry.get("attributes", {}), "attributes")
                logs.append({**base, **_flatten(own), **_flatten(attributes)})
        return logs

    @staticmethod
    def _check(index: int, log: JsonObject) -> None:
        if not isinstance(log.get("message"), str):
            raise _Reject(400, f"log {index}: 'message' missing or not a string")
        if len(log) > NR_MAX_ATTRIBUTES:
            raise _Reject(400, f"log {index}: {len(log)} attributes, max {NR_MAX_ATTRIBUTES}")
        for name, value in log.items():
            if len(name) > NR_MAX_ATTRIBUTE_NAME:
                raise _Reject(400, f"log {index}: attribute name over {NR_MAX_ATTRIBUTE_NAME} chars")
            if isinstance(value, list):
                raise _Reject(400, f"log {index}: attribute {name!r} is an array")


@pytest.fixture
def datadog_intake() -> Iterator[DatadogIntake]:
    intake = DatadogIntake()
    try:
        yield intake
    finally:
        intake.close()


@pytest.fixture
def newrelic_intake() -> Iterator[NewRelicIntake]:
    intake = NewRelicIntake()
    try:
        yield intake
    finally:
        intake.close()
