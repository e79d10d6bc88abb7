"""The HTTP client a destination speaks through, and the one the Lambda uses.

A destination needs one thing from HTTP: send a request within a timeout and get the vendor's
answer, or learn that none came. ``HttpClient`` is that seam. Two clients fill it:

- ``Urllib3Client``, for the Lambda entry points. urllib3 is botocore's own HTTP library: the Lambda
  runtime ships it and boto3 has loaded it before the first event, so it adds nothing to a cold
  start or to the zip. (httpx, httpcore and h11 cost ~25 ms of every cold start to import, and
  most of the zip.)
- ``HttpxClient`` (``forwarder.destinations.httpx_client``), for the command line, where respx and
  httpx transports are the test seam and a few milliseconds of import do not matter.

Both share one TLS context, built once per process (``tls_context``), and turn a request that got
no answer into ``Unanswered``; everything else about delivery (batching, retries, 413 splits,
outcomes) is the destination's, written once.
"""

from __future__ import annotations

import os
import ssl
import threading
from collections.abc import Mapping
from concurrent.futures import Future
from dataclasses import dataclass
from functools import cache
from typing import Protocol

import urllib3
from urllib3.exceptions import HTTPError as Urllib3Error
from urllib3.exceptions import TimeoutError as Urllib3Timeout

CONNECT_TIMEOUT = 3.0
READ_TIMEOUT = 15.0


@dataclass(frozen=True, slots=True)
class Answer:
    """A vendor's answer: status, body as text, headers (case-insensitive lookups)."""

    status: int
    text: str
    headers: Mapping[str, str]

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


class Unanswered(Exception):
    """No answer came: ``timed_out`` (connect or read) or the vendor was unreachable. ``cause``
    names the library's error class, for the outcome's message (never its text: it may carry a URL)."""

    def __init__(self, cause: str, *, timed_out: bool) -> None:
        super().__init__(cause)
        self.cause = cause
        self.timed_out = timed_out


class HttpClient(Protocol):
    def request(
        self, method: str, url: str, body: bytes | None, headers: Mapping[str, str], timeout: float
    ) -> Answer:
        """One request, no retries, no redirects: connect within ``min(CONNECT_TIMEOUT, timeout)``,
        each read within ``min(read_timeout, timeout)`` (``READ_TIMEOUT`` unless the client was
        given another). Raises ``Unanswered``."""
        ...

    def close(self) -> None: ...


@cache
def _tls_context_future() -> Future[ssl.SSLContext]:
    """The shared TLS context, being built (once) in a thread of its own."""
    future: Future[ssl.SSLContext] = Future()

    def build() -> None:
        try:
            future.set_result(_build_tls_context())
        except BaseException as exc:  # noqa: BLE001 - handed to whoever waits for the context
            future.set_exception(exc)

    threading.Thread(target=build, name="tls-context", daemon=True).start()
    return future


def _build_tls_context() -> ssl.SSLContext:
    """Certificates from ``SSL_CERT_FILE``/``SSL_CERT_DIR`` when set, else the bundle the AWS SDK in
    this process trusts (certifi's when installed, botocore's own otherwise: the Lambda runtime has
    no certifi). Verifies certificates and host names."""
    cafile, capath = os.environ.get("SSL_CERT_FILE"), os.environ.get("SSL_CERT_DIR")
    if not cafile and not capath:
        from botocore.httpsession import where  # noqa: PLC0415 - only when a TLS vendor is used

        cafile = where()
    return ssl.create_default_context(cafile=cafile, capath=capath)


def prepare_tls() -> None:
    """Start building the TLS context now, beside other work: loading the CA bundle (in OpenSSL,
    without the GIL) then overlaps a cold start's S3 calls instead of following them. The Lambda
    entry points call it as their runtime is built."""
    _tls_context_future()


def tls_context() -> ssl.SSLContext:
    """The TLS settings every client in the process uses, built once: building them loads the CA
    bundle, which each client would otherwise do again (replay has one per sender thread and
    destination, a Lambda cold start one per vendor). Never changed once built."""
    return _tls_context_future().result()


class Urllib3Client:
    """``HttpClient`` over urllib3 (1.26 or 2.x, whichever the runtime ships)."""

    def __init__(self, url: str, *, read_timeout: float | None = None) -> None:
        self._read_timeout = READ_TIMEOUT if read_timeout is None else read_timeout
        # A plain-http URL (only ever a loopback host: config.check_url) needs no CA bundle.
        tls = {"ssl_context": tls_context()} if url.startswith("https://") else {}
        self._pool = urllib3.PoolManager(num_pools=4, **tls)  # type: ignore[arg-type]

    def request(
        self, method: str, url: str, body: bytes | None, headers: Mapping[str, str], timeout: float
    ) -> Answer:
        read = min(self._read_timeout, timeout)
        limits = urllib3.Timeout(connect=min(CONNECT_TIMEOUT, timeout), read=read)
        try:
            response = self._pool.urlopen(
                method, url, body=body, headers=dict(headers), timeout=limits, retries=False, redirect=False
            )
        except Urllib3Timeout as exc:
            raise Unanswered(type(exc).__name__, timed_out=True) from None
        except (Urllib3Error, OSError) as exc:
            raise Unanswered(type(exc).__name__, timed_out=False) from None
        return Answer(response.status, response.data.decode("utf-8", "replace"), response.headers)

    def close(self) -> None:
        self._pool.clear()
