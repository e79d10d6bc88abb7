"""Alerts as code: Datadog monitors and New Relic alert conditions for ECS task stops.

``definitions`` turns options into vendor-neutral alert definitions and their vendor renderings
(pure); ``datadog`` and ``newrelic`` are the API adapters; ``plan`` diffs what should exist against
what does and applies the difference. Importing this package loads no vendor client.
"""

from __future__ import annotations

from collections.abc import Iterable

from forwarder.errors import ForwarderError

__all__ = ["AlertsError", "describe_error"]


class AlertsError(ForwarderError):
    """A vendor refused or failed an alerts API call (bad key, rejected definition, outage).

    ``status`` is the HTTP status when there was one. Messages never carry a key.
    """

    exit_code = 1

    def __init__(self, message: str, status: int | None = None) -> None:
        self.status = status
        super().__init__(message)


_MEANING = {
    400: "rejected the request",
    401: "got no valid API key",
    403: "rejected the key (wrong key, or missing permission)",
    404: "has no such endpoint or resource (wrong site or region?)",
    429: "is throttling requests",
}


def describe_error(vendor: str, status: int, body: str, secrets: Iterable[str]) -> str:
    """A readable error for a vendor's answer; no secret appears, even if the vendor echoed it."""
    meaning = _MEANING.get(status, "failed" if status >= 500 else "refused the request")
    text = f"{vendor} {meaning} (HTTP {status})"
    detail = " ".join(body.split())[:300]
    if detail:
        text += f": {detail}"
    return redact(text, secrets)


def redact(text: str, secrets: Iterable[str]) -> str:
    for secret in secrets:
        if secret:
            text = text.replace(secret, "[REDACTED]")
    return text
