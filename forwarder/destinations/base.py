"""The destination interface, and the HTTP sender both vendors share.

A destination does two things: its ``encoder`` turns a record into the log it sends (its wire
form, bytes: a plain value, so replay's worker processes get it pickled), and ``send`` delivers
encoded logs, returning one ``Outcome`` per log: delivered, failed-retryable (trying later can
help: throttling, outage, deadline) or failed-permanent (bad key, bad payload).

``HttpDestination`` groups the encoded logs into requests within the vendor's limits, POSTs them
gzipped through httpx with the shared retry policy, splits a batch answered 413 in halves (a
single log answered 413 is shrunk, ``payloads.shrink``), and turns the final answer into per-log
outcomes.
"""

from __future__ import annotations

import ssl
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from functools import cache
from typing import Any, Protocol

import httpx

from forwarder.codec import STDLIB, Codec
from forwarder.errors import DeliveryError
from forwarder.payloads import Encoder, shrink
from forwarder.retry import RetryPolicy, is_retryable_status, retry_after_seconds
from forwarder.status import DELIVERED, FAILED_PERMANENT, FAILED_RETRYABLE, Status

# The statuses are re-exported: destinations report them.
__all__ = ["DELIVERED", "FAILED_PERMANENT", "FAILED_RETRYABLE", "Destination", "HttpDestination", "Outcome"]

CONNECT_TIMEOUT = 3.0
READ_TIMEOUT = 15.0


@cache
def _tls_context_future() -> Future[ssl.SSLContext]:
    """The shared TLS context, being built (once) in a thread of its own."""
    future: Future[ssl.SSLContext] = Future()

    def build() -> None:
        try:
            future.set_result(httpx.create_ssl_context())
        except BaseException as exc:  # noqa: BLE001 - handed to whoever waits for the context
            future.set_exception(exc)

    threading.Thread(target=build, name="tls-context", daemon=True).start()
    return future


def prepare_tls() -> None:
    """Start building the TLS context now, beside other work: loading the CA bundle (in OpenSSL,
    without the GIL) then overlaps a cold start's S3 calls instead of following them. The Lambda
    runtime calls it as it is built."""
    _tls_context_future()


def tls_context() -> ssl.SSLContext:
    """The TLS settings every client in the process uses: httpx's defaults (certifi's CA bundle,
    or ``SSL_CERT_FILE``/``SSL_CERT_DIR``), built once. Building them loads the CA bundle, which
    httpx would do again for every client: replay has one per sender thread and destination, a
    Lambda cold start one per vendor. Never changed once built."""
    return _tls_context_future().result()


@dataclass(frozen=True, slots=True)
class Outcome:
    destination: str
    status: Status
    attempts: int
    http_status: int | None = None
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "attempts": self.attempts,
            "http_status": self.http_status,
            "error": self.error,
        }


def describe_http_error(vendor: str, status: int, body: str, secret: str) -> str:
    """A readable error for a vendor's answer; the key never appears, even if echoed back."""
    meaning = {
        400: "rejected the payload",
        401: "got no API key",
        403: "rejected the API key",
        404: "has no such endpoint (wrong site or region?)",
        408: "timed out reading the request",
        413: "found the request too large",
        429: "is throttling requests",
    }.get(status, "failed" if status >= 500 else "refused the request")
    text = f"{vendor} {meaning} (HTTP {status})"
    if secret:  # before cutting: a key straddling the cut would otherwise survive in part
        body = body.replace(secret, "[REDACTED]")
    detail = " ".join(body.split())[:200]
    return f"{text}: {detail}" if detail else text


class Destination(Protocol):
    name: str

    @property
    def encoder(self) -> Encoder:
        """A record (and how it is replayed) -> the log this destination sends, encoded."""
        ...

    def send(self, parts: Sequence[bytes], deadline: float) -> list[Outcome]:
        """Send logs made by ``encoder``; one outcome per log, in order. Never raises for a
        vendor's answer."""
        ...

    def close(self) -> None: ...


class HttpDestination(ABC):
    name: str
    vendor: str  # for messages
    key_header: str

    def __init__(
        self,
        key: str,
        url: str,
        policy: RetryPolicy | None = None,
        transport: httpx.BaseTransport | None = None,
        codec: Codec = STDLIB,
    ) -> None:
        self._key = key
        self.url = url
        self.policy = policy or RetryPolicy()
        self.codec = codec
        self._client = httpx.Client(
            # A plain-http URL (only ever to a loopback host: config.check_url) needs no CA bundle.
            verify=tls_context() if url.startswith("https://") else False,
            timeout=httpx.Timeout(READ_TIMEOUT, connect=CONNECT_TIMEOUT),
            transport=transport,
            headers={"Content-Type": "application/json", "Content-Encoding": "gzip"},
        )

    @property
    @abstractmethod
    def encoder(self) -> Encoder: ...

    @abstractmethod
    def _batches(self, parts: Sequence[bytes]) -> Iterator[tuple[list[int], bytes]]:
        """Indices of encoded items grouped into requests within the vendor's limits, each with its
        gzipped request body."""

    @abstractmethod
    def _body(self, parts: Sequence[bytes]) -> bytes:
        """The gzipped request body for these encoded items."""

    def close(self) -> None:
        self._client.close()

    def requests(self, parts: Sequence[bytes]) -> list[tuple[list[int], bytes]]:
        """[(indices, gzipped body)]: the requests ``send`` would make for ``parts``."""
        return list(self._batches(parts))

    def send(self, parts: Sequence[bytes], deadline: float) -> list[Outcome]:
        outcomes: list[Outcome | None] = [None] * len(parts)
        for batch, body in self._batches(parts):
            self._send(parts, batch, body, deadline, outcomes, 0)
        return [outcome for outcome in outcomes if outcome is not None]

    def _send(  # noqa: PLR0917 - recursive helper
        self,
        parts: Sequence[bytes],
        batch: list[int],
        body: bytes,
        deadline: float,
        outcomes: list[Outcome | None],
        spent: int,
    ) -> None:
        try:
            status, attempts = self.policy.run(lambda timeout: self._post(body, timeout), deadline)
        except DeliveryError as exc:
            attempts = spent + exc.attempts
            if exc.status == 413 and len(batch) > 1:
                for half in (batch[: len(batch) // 2], batch[len(batch) // 2 :]):
                    self._send(
                        parts, half, self._body([parts[i] for i in half]), deadline, outcomes, attempts
                    )
                return
            if exc.status == 413 and (smaller := shrink(parts[batch[0]], self.codec)) is not None:
                view: list[Outcome | None] = [None]
                self._send([smaller], [0], self._body([smaller]), deadline, view, attempts)
                outcomes[batch[0]] = view[0]
                return
            failed = Outcome(
                self.name,
                FAILED_RETRYABLE if exc.retryable else FAILED_PERMANENT,
                attempts,
                exc.status,
                str(exc),
            )
            for index in batch:
                outcomes[index] = failed
            return
        delivered = Outcome(self.name, DELIVERED, spent + attempts, status)
        for index in batch:
            outcomes[index] = delivered

    def _post(self, body: bytes, timeout: float) -> int:
        """One request; the HTTP status on success, ``DeliveryError`` otherwise."""
        limits = httpx.Timeout(min(READ_TIMEOUT, timeout), connect=min(CONNECT_TIMEOUT, timeout))
        try:
            response = self._client.post(
                self.url, content=body, headers={self.key_header: self._key}, timeout=limits
            )
        except httpx.TimeoutException as exc:
            raise DeliveryError(f"{self.vendor} timed out: {type(exc).__name__}", retryable=True) from None
        except httpx.TransportError as exc:
            raise DeliveryError(f"{self.vendor} unreachable: {type(exc).__name__}", retryable=True) from None
        if response.is_success:
            return response.status_code
        status = response.status_code
        raise DeliveryError(
            describe_http_error(self.vendor, status, response.text, self._key),
            retryable=is_retryable_status(status),
            status=status,
            retry_after=retry_after_seconds(response.headers, time.time()),
        )


def deadline_in(seconds: float) -> float:
    """A deadline ``seconds`` from now on the monotonic clock the retry policy uses."""
    return time.monotonic() + seconds
