"""Datadog Logs through datadog-api-client (``LogsApi.submit_log``, gzip)."""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from typing import Any
from urllib.parse import urlsplit

import urllib3
from datadog_api_client import ApiClient, Configuration
from datadog_api_client.exceptions import ApiException
from datadog_api_client.v1.api.authentication_api import AuthenticationApi
from datadog_api_client.v2.api.logs_api import LogsApi
from datadog_api_client.v2.model.content_encoding import ContentEncoding
from datadog_api_client.v2.model.http_log import HTTPLog
from datadog_api_client.v2.model.http_log_item import HTTPLogItem

from forwarder.destinations.base import HttpDestination, describe_http_error
from forwarder.errors import DeliveryError
from forwarder.model import StopRecord
from forwarder.payloads import Replay, datadog_batches, datadog_log
from forwarder.retry import RetryPolicy, is_retryable_status, retry_after_seconds

LOGS_PATH = "/api/v2/logs"
CONNECT_TIMEOUT = 3.0
READ_TIMEOUT = 15.0


class DatadogDestination(HttpDestination):
    """``url`` is the full intake URL (``https://http-intake.logs.<site>/api/v2/logs``); the client
    is given its scheme and host and adds the path itself. Not for concurrent use across threads."""

    name = "datadog"

    def __init__(
        self,
        api_key: str,
        url: str,
        *,
        source: str = "ecs",
        tags: Sequence[str] = (),
        policy: RetryPolicy | None = None,
    ) -> None:
        super().__init__(policy)
        self._key = api_key
        self.url = url
        self.source = source
        self.tags = tuple(tags)
        self._client = ApiClient(_configuration(api_key, url))
        self._logs = LogsApi(self._client)

    def build(self, record: StopRecord, replay: Replay | None = None) -> dict[str, Any]:
        return datadog_log(record, source=self.source, tags=self.tags, replay=replay)

    def _batches(self, items: Sequence[dict[str, Any]]) -> Iterator[tuple[list[int], bytes | None]]:
        return ((batch, None) for batch in datadog_batches(items))

    def _post(self, items: list[dict[str, Any]], body: bytes | None, timeout: float) -> int:
        logs = HTTPLog([HTTPLogItem(**item) for item in items])
        # The client reads its timeout from the configuration: one destination per thread.
        self._client.configuration.request_timeout = (
            min(CONNECT_TIMEOUT, timeout),
            min(READ_TIMEOUT, timeout),
        )
        try:
            self._logs.submit_log(logs, content_encoding=ContentEncoding.GZIP)
        except ApiException as exc:
            status = int(exc.status or 0)
            body = exc.body
            body_text = body.decode(errors="replace") if isinstance(body, bytes) else str(body or "")
            raise DeliveryError(
                describe_http_error("Datadog", status, body_text, self._key),
                retryable=is_retryable_status(status),
                status=status,
                retry_after=retry_after_seconds(dict(exc.headers or {}), time.time()),
            ) from None
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise DeliveryError(f"Datadog unreachable: {type(exc).__name__}", retryable=True) from None
        return 202

    def validate_key(self, timeout: float = 10.0) -> tuple[bool, str]:
        """Datadog's key check (``GET /api/v1/validate``): (valid, what happened)."""
        self._client.configuration.request_timeout = (CONNECT_TIMEOUT, timeout)
        try:
            AuthenticationApi(self._client).validate()
        except ApiException as exc:
            status = int(exc.status or 0)
            return False, describe_http_error("Datadog", status, "", self._key)
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            return False, f"Datadog unreachable: {type(exc).__name__}"
        return True, "API key valid"

    def close(self) -> None:
        self._client.close()


def _configuration(api_key: str, url: str) -> Configuration:
    parts = urlsplit(url)
    configuration = Configuration(host=f"{parts.scheme}://{parts.netloc}")
    configuration.api_key["apiKeyAuth"] = api_key
    configuration.enable_retry = False  # the shared policy retries
    configuration.retry_policy = False  # no hidden urllib3 retries either
    return configuration
