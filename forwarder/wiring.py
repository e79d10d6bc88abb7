"""Build the adapters (AWS clients, key resolver, destinations) from ``Settings``.

Used by the entry points only. Vendor modules are imported when their destination is built, so a
forwarder that only sends to New Relic never loads datadog-api-client (cold start).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any, Protocol, TextIO

from forwarder.codec import STDLIB, Codec
from forwarder.config import KeyRef, Settings
from forwarder.destinations.base import Destination
from forwarder.destinations.clients import HttpClient
from forwarder.errors import ConfigError
from forwarder.retry import RetryPolicy
from forwarder.secrets import KeyResolver

KEY_VARIABLES = {
    "datadog": "DD_API_KEY, DD_API_KEY_SECRET_ARN or DD_API_KEY_SSM_PARAMETER",
    "newrelic": "NEW_RELIC_LICENSE_KEY, NEW_RELIC_LICENSE_KEY_SECRET_ARN or "
    "NEW_RELIC_LICENSE_KEY_SSM_PARAMETER",
}


class ClientFactory(Protocol):
    """Makes AWS clients (``aws_client``; tests give one pointed at a local emulator)."""

    def __call__(self, service: str, /, *, region: str | None = None, retries: bool = True) -> Any: ...


#: Connections per AWS client: replay fetches as many S3 objects at once (``replay.FETCHERS``).
AWS_CONNECTIONS = 32


def aws_client(service: str, *, region: str | None = None, retries: bool = True) -> Any:
    """A boto3 client; boto3 honours ``AWS_ENDPOINT_URL`` (a local emulator) by itself.

    ``retries=False``: one attempt per call, for callers that retry with the deadline-aware policy
    themselves (the archive). ``region``: a queue's or bucket's own region, else the environment's.
    """
    import boto3  # noqa: PLC0415 - only entry points that touch AWS pay for it
    from botocore.config import Config  # noqa: PLC0415

    # Short timeouts and few retries: the Lambda's deadline, not boto3's defaults, bounds the work.
    config = Config(
        connect_timeout=3,
        read_timeout=10,
        # max_attempts counts retries after the first; total_max_attempts=1 is the first alone.
        retries={"max_attempts": 3, "mode": "standard"}
        if retries
        else {"total_max_attempts": 1, "mode": "standard"},
        max_pool_connections=AWS_CONNECTIONS,
    )
    return boto3.client(service, region_name=region, config=config)  # type: ignore[call-overload]  # boto3 checks the name


def enrichment_client(service: str, region: str | None) -> Any:
    """A boto3 client for diagnosis's reads (ECS, CloudWatch Logs, ECR) in ``region``: quick
    timeouts and one retry, since the enrichment budget (~1.5 s), not boto3, bounds the work."""
    import boto3  # noqa: PLC0415 - built only when an event needs enrichment
    from botocore.config import Config  # noqa: PLC0415

    config = Config(connect_timeout=1, read_timeout=1.5, retries={"max_attempts": 2, "mode": "standard"})
    return boto3.client(service, region_name=region, config=config)  # type: ignore[call-overload]


def key_ref(settings: Settings, name: str) -> KeyRef:
    ref = settings.datadog.key if name == "datadog" else settings.newrelic.key
    if ref is None:
        raise ConfigError(f"{name} is a destination but none of {KEY_VARIABLES[name]} is set")
    return ref


def build_destination(
    name: str,
    settings: Settings,
    resolver: KeyResolver,
    *,
    policy: RetryPolicy | None = None,
    stdout: TextIO | None = None,
    codec: Codec = STDLIB,
    http: Callable[[str], HttpClient] | None = None,
) -> Destination:
    """``http``: the vendor URL -> the client to reach it by (httpx's when not given; the Lambda
    entry points give ``clients.Urllib3Client``)."""
    if name == "stdout":
        from forwarder.destinations.stdout import StdoutDestination  # noqa: PLC0415

        return StdoutDestination(stdout, codec)
    key = resolver.resolve(key_ref(settings, name))
    if name == "datadog":
        from forwarder.destinations.datadog import DatadogDestination  # noqa: PLC0415

        dd = settings.datadog
        client = http(dd.url) if http else None
        return DatadogDestination(
            key, dd.url, source=dd.source, tags=dd.tags, policy=policy, codec=codec, client=client
        )
    if name == "newrelic":
        from forwarder.destinations.newrelic import NewRelicDestination  # noqa: PLC0415

        url = settings.newrelic.url
        return NewRelicDestination(key, url, policy=policy, codec=codec, client=http(url) if http else None)
    raise ConfigError(f"unknown destination {name!r}")


class VendorClients:
    """The destinations a long-lived process (a Lambda container) reuses from one event to the
    next: each built on first use, and built again, the old one closed, when its resolved key
    changes (rotation, after the resolver's cache time)."""

    def __init__(
        self, settings: Settings, resolver: KeyResolver, http: Callable[[str], HttpClient] | None = None
    ) -> None:
        self.settings = settings
        self.resolver = resolver
        self.http = http
        self.built: dict[str, tuple[str, Destination]] = {}  # name -> (its key when built, it)

    def get(self, name: str) -> Destination:
        # The resolved key tells whether it rotated (a missing key raises ConfigError here).
        fingerprint = "" if name == "stdout" else self.resolver.resolve(key_ref(self.settings, name))
        cached = self.built.get(name)
        if cached is None or cached[0] != fingerprint:
            if cached is not None:
                cached[1].close()
            cached = (fingerprint, build_destination(name, self.settings, self.resolver, http=self.http))
            self.built[name] = cached
        return cached[1]

    def close(self) -> None:
        """Close and forget every one (a SnapStart restore: connections must not be shared)."""
        for _, destination in self.built.values():
            destination.close()
        self.built.clear()


def print_line(line: str) -> None:
    """One log line on stdout (CloudWatch Logs, in Lambda). ``backslashreplace``: text UTF-8
    cannot carry (a lone surrogate from bad input) stays an escape instead of raising."""
    sys.stdout.buffer.write(line.encode("utf-8", "backslashreplace") + b"\n")
    sys.stdout.flush()
