"""The destination interface, and the HTTP sender both vendors share.

A destination does two things: its ``encoder`` turns a record into the log it sends (its wire
form, bytes: a plain value, so replay's worker processes get it pickled), and ``send`` delivers
encoded logs, returning one ``Outcome`` per log: delivered, failed-retryable (trying later can
help: throttling, outage, deadline) or failed-permanent (bad key, bad payload).

``HttpDestination`` groups the encoded logs into requests within the vendor's limits, POSTs them
gzipped through an ``HttpClient`` (``clients``) with the shared retry policy, splits a batch
answered 413 in halves (a single log answered 413 is shrunk, ``payloads.shrink``), and turns the
final answer into per-log outcomes.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from forwarder.codec import STDLIB, Codec
from forwarder.destinations.clients import HttpClient, Unanswered
from forwarder.errors import DeliveryError
from forwarder.payloads import Encoder, shrink
from forwarder.retry import RetryPolicy, is_retryable_status, retry_after_seconds
from forwarder.status import DELIVERED, FAILED_PERMANENT, FAILED_RETRYABLE, Status

# The statuses are re-exported: destinations report them.
__all__ = ["DELIVERED", "FAILED_PERMANENT", "FAILED_RETRYABLE", "Destination", "HttpDestination", "Outcome"]


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
        codec: Codec = STDLIB,
        client: HttpClient | None = None,
    ) -> None:
        """``client``: how requests go out; httpx's when not given (the command line's; the Lambda
        entry points give ``clients.Urllib3Client``)."""
        self._key = key
        self.url = url
        self.policy = policy or RetryPolicy()
        self.codec = codec
        if client is None:
            from forwarder.destinations.httpx_client import HttpxClient  # noqa: PLC0415 - not on the Lambda

            client = HttpxClient(url)
        self._client = client
        self._headers = {"Content-Type": "application/json", "Content-Encoding": "gzip", self.key_header: key}

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
        try:
            answer = self._client.request("POST", self.url, body, self._headers, timeout)
        except Unanswered as exc:
            what = "timed out" if exc.timed_out else "unreachable"
            raise DeliveryError(f"{self.vendor} {what}: {exc.cause}", retryable=True) from None
        if answer.ok:
            return answer.status
        raise DeliveryError(
            describe_http_error(self.vendor, answer.status, answer.text, self._key),
            retryable=is_retryable_status(answer.status),
            status=answer.status,
            retry_after=retry_after_seconds(answer.headers, time.time()),
        )


def deadline_in(seconds: float) -> float:
    """A deadline ``seconds`` from now on the monotonic clock the retry policy uses."""
    return time.monotonic() + seconds
