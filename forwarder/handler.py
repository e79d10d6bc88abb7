"""AWS Lambda entry point: ``forwarder.handler.lambda_handler``.

Importing this module does no I/O and reads no environment. The runtime (settings, AWS clients,
destinations) is built on the first invocation and reused by the container afterwards.

Failure semantics (see README "Guarantees"):
- a destination still failing retryably when the deadline comes -> raise, so Lambda's async retries
  and the on-failure destination take over (the archive records what happened);
- a permanent failure (wrong key, 400) -> no raise; archived, an ERROR log line and a metric;
- an input that is not an ECS STOPPED task event -> archived under ``rejected/``, no raise;
- the archive cannot be written, or a key cannot be read -> raise;
- another invocation of the same event holds a destination (a concurrent duplicate) -> wait for its
  outcome, take over if it fails or its claim expires, and do not raise for what it still holds.
"""

from __future__ import annotations

import functools
import json
import os
import random
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol

from forwarder.archive import ArchiveStore, S3Archive
from forwarder.config import Settings
from forwarder.destinations.base import Destination
from forwarder.destinations.clients import Urllib3Client, prepare_tls
from forwarder.errors import ConfigError, DeliveryError, ForwarderError
from forwarder.observe import archive_metrics, event_log, metrics
from forwarder.pipeline import Filters, Forwarder
from forwarder.secrets import KeyResolver
from forwarder.wiring import ClientFactory, VendorClients, aws_client, enrichment_client, print_line

#: Retries stop this long before the Lambda times out, so the outcome can still be archived.
SAFETY_MARGIN_SECONDS = 3.0


class LambdaContext(Protocol):
    def get_remaining_time_in_millis(self) -> int: ...


#: Lambda's context also has ``aws_request_id``; claims carry it (see forwarder.claims).
REQUEST_ID = "aws_request_id"


class Runtime:
    """Everything built once per container: settings, archive, key resolver, destinations.

    Destinations are rebuilt only when a resolved key changes (rotation after the cache TTL)."""

    def __init__(
        self,
        settings: Settings,
        archive: ArchiveStore,
        resolver: KeyResolver,
        emit: Callable[[str], None] | None = None,
        now: Callable[[], datetime] | None = None,
        *,
        enrich_clients: Callable[[str, str | None], Any] = enrichment_client,
        client_factory: ClientFactory | None = None,
    ) -> None:
        self.settings = settings
        self.archive = archive
        self._client_factory = client_factory
        self.resolver = resolver
        self.emit = emit or print_line
        self.vendors = VendorClients(settings, resolver, http=Urllib3Client)
        enrich = None
        if settings.enrich:  # FORWARDER_ENRICH: its clients are built when an event needs them
            from forwarder.enrich import Enricher  # noqa: PLC0415 - only a forwarder that enriches

            enrich = Enricher(settings.enrich, enrich_clients)
        self.forwarder = Forwarder(
            archive,
            settings.destinations,
            self.destinations,
            Filters(settings.min_severity, settings.exclude_categories),
            now,
            enrich=enrich,
        )

    @classmethod
    def from_env(
        cls,
        environ: Mapping[str, str],
        client_factory: ClientFactory = aws_client,
        emit: Callable[[str], None] | None = None,
        now: Callable[[], datetime] | None = None,
        *,
        enrich_clients: Callable[[str, str | None], Any] = enrichment_client,
    ) -> Runtime:
        """``now``: the wall clock claims expire by (tests move it instead of waiting)."""
        settings = Settings.from_env(environ)
        if not settings.archive_bucket:
            raise ConfigError("ARCHIVE_BUCKET is not set: the Lambda keeps a copy of every event in S3")
        urls = {"datadog": settings.datadog.url, "newrelic": settings.newrelic.url}
        if any(urls.get(name, "").startswith("https://") for name in settings.destinations):
            prepare_tls()  # beside the S3 client's construction and the first event's archive write
        archive = S3Archive(
            client_factory("s3", retries=False),  # the archive retries S3 within the deadline itself
            settings.archive_bucket,
            settings.archive_prefix,
            settings.archive_kms_key_id,
        )
        return cls(settings, archive, KeyResolver(client_factory), emit, now, enrich_clients=enrich_clients,
                   client_factory=client_factory)  # fmt: skip

    def after_restore(self) -> None:
        """A SnapStart copy was restored (``forwarder.snapstart``): nothing that must differ
        between copies may come from the snapshot. Vendor clients (their connections) are
        dropped and rebuilt on the next event, keys are read again, the archive gets a new S3
        client, and the random generator behind retry jitter is reseeded."""
        self.vendors.close()
        self.resolver.forget()
        if self._client_factory is not None and isinstance(self.archive, S3Archive):
            self.archive.client = self._client_factory("s3", retries=False)
        random.seed()

    def destinations(self) -> Sequence[Destination]:
        return [self.vendors.get(name) for name in self.settings.destinations]

    def handle(self, event: Any, context: LambdaContext | None) -> dict[str, Any]:
        started = time.monotonic()
        remaining = context.get_remaining_time_in_millis() / 1000 if context else 60.0
        deadline = started + max(remaining - SAFETY_MARGIN_SECONDS, 0.5)
        retried = self.archive.retried
        request_id = getattr(context, REQUEST_ID, None)
        label = request_id if isinstance(request_id, str) else None
        try:
            results = self.forwarder.forward([event], deadline, label)
        except ForwarderError as exc:  # archive unwritable, key unreadable: say so, then let Lambda retry
            self.emit(json.dumps({"level": "ERROR", "message": f"{type(exc).__name__}: {exc}"}))
            self.emit(json.dumps(archive_metrics(self.archive.retried - retried, int(time.time() * 1000))))
            raise
        latency_ms = (time.monotonic() - started) * 1000
        for result in results:
            self.emit(json.dumps(event_log(result, latency_ms), ensure_ascii=False))
        stamp = int(time.time() * 1000)
        for document in metrics(results, latency_ms, stamp, self.archive.retried - retried):
            self.emit(json.dumps(document))
        [result] = results
        if result.retryable:
            raise DeliveryError(
                f"event {result.record.event_id if result.record else '?'} not yet delivered to "
                f"{', '.join(result.retryable)}; archived at {result.key}; Lambda will retry",
                retryable=True,
            )
        return {
            "archive_key": result.key,
            "rejected": result.rejected.kind if result.rejected else None,
            "deliveries": {name: outcome.get("status") for name, outcome in result.deliveries.items()},
        }


@functools.cache
def runtime() -> Runtime:
    """The container's runtime, built on first use (not at import)."""
    return Runtime.from_env(os.environ)


def lambda_handler(event: Any, context: LambdaContext | None) -> dict[str, Any]:
    return runtime().handle(event, context)
