"""New Relic Log API through httpx: detailed format, gzip body, ``Api-Key`` header."""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from typing import Any

import httpx

from forwarder.destinations.base import HttpDestination, describe_http_error
from forwarder.errors import DeliveryError
from forwarder.model import StopRecord
from forwarder.payloads import Replay, newrelic_batches, newrelic_body, newrelic_log
from forwarder.retry import RetryPolicy, is_retryable_status, retry_after_seconds

CONNECT_TIMEOUT = 3.0
READ_TIMEOUT = 15.0


class NewRelicDestination(HttpDestination):
    name = "newrelic"

    def __init__(
        self,
        license_key: str,
        url: str,
        *,
        policy: RetryPolicy | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        super().__init__(policy)
        self._key = license_key
        self.url = url
        self._client = httpx.Client(
            timeout=httpx.Timeout(READ_TIMEOUT, connect=CONNECT_TIMEOUT),
            transport=transport,
            headers={"Content-Type": "application/json", "Content-Encoding": "gzip"},
        )

    def build(self, record: StopRecord, replay: Replay | None = None) -> dict[str, Any]:
        return newrelic_log(record, replay=replay)

    def _batches(self, items: Sequence[dict[str, Any]]) -> Iterator[tuple[list[int], bytes | None]]:
        return newrelic_batches(items)

    def _post(self, items: list[dict[str, Any]], body: bytes | None, timeout: float) -> int:
        content = body if body is not None else newrelic_body(items)
        limits = httpx.Timeout(min(READ_TIMEOUT, timeout), connect=min(CONNECT_TIMEOUT, timeout))
        try:
            response = self._client.post(
                self.url, content=content, headers={"Api-Key": self._key}, timeout=limits
            )
        except httpx.TimeoutException as exc:
            raise DeliveryError(f"New Relic timed out: {type(exc).__name__}", retryable=True) from None
        except httpx.TransportError as exc:
            raise DeliveryError(f"New Relic unreachable: {type(exc).__name__}", retryable=True) from None
        if response.is_success:
            return response.status_code
        status = response.status_code
        raise DeliveryError(
            describe_http_error("New Relic", status, response.text, self._key),
            retryable=is_retryable_status(status),
            status=status,
            retry_after=retry_after_seconds(response.headers, time.time()),
        )

    def close(self) -> None:
        self._client.close()
