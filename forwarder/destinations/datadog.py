"""Datadog Logs: the HTTP intake v2 (``POST /api/v2/logs``), gzip, ``DD-API-KEY``.

Not through datadog-api-client: its model layer and serialisation cost many times the CPU of
encoding a log here (replay is CPU-bound), it compresses at a level we cannot choose, and it adds
its whole package to the Lambda's cold start — for one documented POST. The SDK is used where its
models earn their keep: the Monitors API (``alerts``).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from urllib.parse import urlsplit

from forwarder.codec import STDLIB, Codec
from forwarder.destinations.base import HttpDestination, describe_http_error
from forwarder.destinations.clients import HttpClient, Unanswered
from forwarder.payloads import DatadogEncoder, datadog_batches, datadog_body
from forwarder.retry import RetryPolicy

LOGS_PATH = "/api/v2/logs"


def validate_url(logs_url: str) -> str:
    """Datadog's key check for the same site or override: ``https://api.<site>/api/v1/validate``."""
    parts = urlsplit(logs_url)
    host = parts.netloc
    if host.startswith("http-intake.logs."):
        host = "api." + host[len("http-intake.logs.") :]
    return f"{parts.scheme}://{host}/api/v1/validate"


class DatadogDestination(HttpDestination):
    """``url`` is the full intake URL (``https://http-intake.logs.<site>/api/v2/logs``)."""

    name = "datadog"
    vendor = "Datadog"
    key_header = "DD-API-KEY"

    def __init__(
        self,
        api_key: str,
        url: str,
        *,
        source: str = "ecs",
        tags: Sequence[str] = (),
        policy: RetryPolicy | None = None,
        codec: Codec = STDLIB,
        client: HttpClient | None = None,
    ) -> None:
        if urlsplit(url).path.rstrip("/") in ("", "/"):
            url = url.rstrip("/") + LOGS_PATH
        super().__init__(api_key, url, policy, codec, client)
        self.source = source
        self.tags = tuple(tags)

    @property
    def encoder(self) -> DatadogEncoder:
        """Each log cut (visibly) to Datadog's 1 MB first: the vendor would cut it silently."""
        return DatadogEncoder(self.source, self.tags, self.codec)

    def _batches(self, parts: Sequence[bytes]) -> Iterator[tuple[list[int], bytes]]:
        for batch in datadog_batches([len(part) for part in parts]):
            yield batch, self._body([parts[i] for i in batch])

    def _body(self, parts: Sequence[bytes]) -> bytes:
        return datadog_body(parts, self.codec)

    def validate_key(self, timeout: float = 10.0) -> tuple[bool, str]:
        """Datadog's key check (``GET /api/v1/validate``): (valid, what happened)."""
        try:
            headers = {"DD-API-KEY": self._key}
            answer = self._client.request("GET", validate_url(self.url), None, headers, timeout)
        except Unanswered as exc:
            return False, f"Datadog unreachable: {exc.cause}"
        if answer.ok:
            return True, "API key valid"
        return False, describe_http_error("Datadog", answer.status, "", self._key)
