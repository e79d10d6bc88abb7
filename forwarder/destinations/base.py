"""The destination interface and the batching/413-splitting logic shared by the HTTP vendors.

A destination turns records into its own log items (pure, ``build``) and delivers a list of them
(``deliver``), returning one ``Outcome`` per item: delivered, failed-retryable (trying later can
help: throttling, outage, deadline) or failed-permanent (bad key, bad payload).
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from forwarder.errors import DeliveryError
from forwarder.model import StopRecord
from forwarder.payloads import Replay, fit, json_size
from forwarder.retry import RetryPolicy

Status = Literal["delivered", "failed-retryable", "failed-permanent"]
DELIVERED: Status = "delivered"
FAILED_RETRYABLE: Status = "failed-retryable"
FAILED_PERMANENT: Status = "failed-permanent"


@dataclass(frozen=True, slots=True)
class Outcome:
    destination: str
    status: Status
    attempts: int
    http_status: int | None = None
    error: str | None = None

    @property
    def delivered(self) -> bool:
        return self.status == DELIVERED

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
    detail = " ".join(body.split())[:200]
    if detail:
        text += f": {detail}"
    return text.replace(secret, "[REDACTED]") if secret else text


class Destination(Protocol):
    name: str

    def build(self, record: StopRecord, replay: Replay | None = None) -> dict[str, Any]:
        """The log item this destination sends for ``record`` (pure)."""
        ...

    def deliver(self, items: Sequence[dict[str, Any]], deadline: float) -> list[Outcome]:
        """Send ``items``; one outcome per item, in order. Never raises for a vendor's answer."""
        ...

    def close(self) -> None: ...


class HttpDestination(ABC):
    """Batches items to the vendor's limits, retries each batch with the shared policy, splits a
    batch answered 413 in halves, and turns the final answer into per-item outcomes."""

    name: str

    def __init__(self, policy: RetryPolicy | None = None) -> None:
        self.policy = policy or RetryPolicy()

    @abstractmethod
    def build(self, record: StopRecord, replay: Replay | None = None) -> dict[str, Any]: ...

    @abstractmethod
    def _batches(self, items: Sequence[dict[str, Any]]) -> Iterator[tuple[list[int], bytes | None]]:
        """Indices of ``items`` grouped into requests within the vendor's limits, each with its
        request body when building the batch already produced it (else None)."""

    @abstractmethod
    def _post(self, items: list[dict[str, Any]], body: bytes | None, timeout: float) -> int:
        """One request; returns the HTTP status on success, raises ``DeliveryError`` otherwise."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections."""

    def deliver(self, items: Sequence[dict[str, Any]], deadline: float) -> list[Outcome]:
        outcomes: list[Outcome | None] = [None] * len(items)
        for batch, body in self._batches(items):
            self._send(items, batch, deadline, outcomes, 0, body)
        assert all(outcome is not None for outcome in outcomes)
        return [outcome for outcome in outcomes if outcome is not None]

    def _send(  # noqa: PLR0917 - recursive helper
        self,
        items: Sequence[dict[str, Any]],
        batch: list[int],
        deadline: float,
        outcomes: list[Outcome | None],
        spent: int,
        body: bytes | None = None,
    ) -> None:
        payload = [items[i] for i in batch]
        try:
            status, attempts = self.policy.run(lambda timeout: self._post(payload, body, timeout), deadline)
        except DeliveryError as exc:
            attempts = spent + exc.attempts
            if exc.status == 413 and len(batch) > 1:
                middle = len(batch) // 2
                self._send(items, batch[:middle], deadline, outcomes, attempts)
                self._send(items, batch[middle:], deadline, outcomes, attempts)
                return
            if exc.status == 413 and len(batch) == 1 and (smaller := shrink(payload[0])) is not None:
                view: list[Outcome | None] = [None]
                self._send([smaller], [0], deadline, view, attempts)
                outcomes[batch[0]] = view[0]
                return
            status_name = FAILED_RETRYABLE if exc.retryable else FAILED_PERMANENT
            failed = Outcome(self.name, status_name, attempts, exc.status, str(exc))
            for index in batch:
                outcomes[index] = failed
            return
        delivered = Outcome(self.name, DELIVERED, spent + attempts, status)
        for index in batch:
            outcomes[index] = delivered


def shrink(item: dict[str, Any]) -> dict[str, Any] | None:
    """Half the size of an item the vendor called too large (longest strings cut and marked), or
    None when there is nothing left to cut."""
    size = json_size(item)
    smaller = fit(item, size // 2)
    return smaller if json_size(smaller) < size else None


def deadline_in(seconds: float) -> float:
    """A deadline ``seconds`` from now on the monotonic clock the retry policy uses."""
    return time.monotonic() + seconds
