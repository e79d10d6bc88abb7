"""What a replay on Step Functions is asked to do, as plain values: the run's name, the prefixes
its Distributed Maps list, the batch size and the concurrency, the execution's input.

Pure: no AWS, no clock (``runs`` lists S3 and talks to Step Functions; the CLI wires them).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from forwarder.replay.selection import SLACK
from forwarder.scale.definition import SCHEMA

#: Step Functions' own limit on a Distributed Map's concurrency.
MAX_CONCURRENCY = 10_000
#: Without ``--max-rps`` or ``--max-concurrency``: a cautious start (``--max-concurrency`` on the
#: running run raises it).
DEFAULT_CONCURRENCY = 10
#: Requests a second each worker may start (``--max-rps-per-worker``): with its one request in
#: flight at a time, the run's rate is at most MaxConcurrency times this.
DEFAULT_WORKER_RPS = 2.0
#: A batch is sized so that a worker reads about this much (as S3 lists it: compressed) in one
#: invocation, and never more than ``MAX_OBJECTS_PER_BATCH`` objects: 500 archive documents (one
#: event each) are one vendor request; a Firehose backup of ~1 MB holds thousands of events.
BATCH_BYTES = 16_000_000
MAX_OBJECTS_PER_BATCH = 500
DEFAULT_TOLERATED_FAILURE_PERCENTAGE = 5.0


@dataclass(frozen=True)
class RunRequest:
    """What is replayed: the same sources, window and filters name the same run."""

    sources: tuple[str, ...]  # s3://bucket/prefix
    destinations: tuple[str, ...]
    since: datetime | None = None
    until: datetime | None = None
    clusters: tuple[str, ...] = ()
    services: tuple[str, ...] = ()
    families: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    min_severity: str = "info"
    timestamp: str = "auto"
    only_undelivered: bool = False

    def batch_request(self, max_rps_per_worker: float | None) -> dict[str, Any]:
        """The ``request`` the state machine copies into every batch's ``BatchInput``."""
        return {
            "destinations": list(self.destinations),
            "since": _iso(self.since),
            "until": _iso(self.until),
            "cluster": sorted(self.clusters),
            "service": sorted(self.services),
            "family": sorted(self.families),
            "category": sorted(self.categories),
            "min_severity": None if self.min_severity == "info" else self.min_severity,
            "timestamp": self.timestamp,
            "only_undelivered": self.only_undelivered,
            "max_rps": max_rps_per_worker,
        }

    def run_id(self) -> str:
        """The execution's name: a hash of what is replayed, so that the same request, repeated,
        names the run it started (and attaches to it) instead of starting another."""
        identity = {**self.batch_request(None), "sources": sorted(self.sources)}
        del identity["max_rps"]
        digest = hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()
        return f"replay-{digest[:24]}"


def execution_input(
    request: RunRequest,
    prefixes: list[str],
    *,
    objects_per_batch: int,
    tolerated_failure_percentage: float,
    max_rps_per_worker: float | None,
) -> dict[str, Any]:
    """The input of the state machine's execution (``forwarder.scale.definition``)."""
    return {
        "schema": SCHEMA,
        "run_id": request.run_id(),
        "prefixes": prefixes,
        "objects_per_batch": objects_per_batch,
        "tolerated_failure_percentage": tolerated_failure_percentage,
        "request": request.batch_request(max_rps_per_worker),
    }


def max_concurrency(max_rps: float | None, per_worker_rps: float, asked: int | None) -> int:
    """Batches in flight: what was asked, bounded by the vendor budget ``max_rps`` (requests a
    second for the whole run) at ``per_worker_rps`` each; else ``DEFAULT_CONCURRENCY``."""
    bound = MAX_CONCURRENCY if max_rps is None else max(1, int(max_rps // per_worker_rps))
    if asked is None:
        return bound if max_rps is not None else min(DEFAULT_CONCURRENCY, bound)
    return max(1, min(asked, bound, MAX_CONCURRENCY))


def objects_per_batch(sizes: list[int]) -> int:
    """Objects per batch from a sample of the objects' sizes (S3's listing): about
    ``BATCH_BYTES`` a batch, at most ``MAX_OBJECTS_PER_BATCH``."""
    if not sizes:
        return MAX_OBJECTS_PER_BATCH
    average = max(sum(sizes) / len(sizes), 1.0)
    return max(1, min(MAX_OBJECTS_PER_BATCH, int(BATCH_BYTES // average)))


def covering_prefixes(folder: str, since: datetime, until: datetime) -> list[str]:
    """The fewest ``YYYY/``, ``YYYY/MM/``, ``YYYY/MM/DD/`` and ``YYYY/MM/DD/HH/`` prefixes under
    ``folder`` that cover every hour from ``since`` to ``until`` with an hour either side
    (Firehose names the hour by arrival, as local replay allows): whole years, months and days
    where the window covers them, single hours at its edges."""
    hour = (since - SLACK).astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    last = (until + SLACK).astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    prefixes: list[str] = []
    while hour <= last:
        for start_of, following, form in _UNITS:
            end = following(hour)
            if start_of(hour) and end - timedelta(hours=1) <= last:
                prefixes.append(folder + hour.strftime(form))
                hour = end
                break
    return prefixes


def _next_year(hour: datetime) -> datetime:
    return hour.replace(year=hour.year + 1, month=1, day=1, hour=0)


def _next_month(hour: datetime) -> datetime:
    return hour.replace(year=hour.year + hour.month // 12, month=hour.month % 12 + 1, day=1, hour=0)


#: Largest first: (is this hour the start of one, the start of the next one, its prefix).
_UNITS = (
    (lambda h: (h.month, h.day, h.hour) == (1, 1, 0), _next_year, "%Y/"),
    (lambda h: (h.day, h.hour) == (1, 0), _next_month, "%Y/%m/"),
    (lambda h: h.hour == 0, lambda h: h + timedelta(days=1), "%Y/%m/%d/"),
    (lambda h: True, lambda h: h + timedelta(hours=1), "%Y/%m/%d/%H/"),
)


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.astimezone(UTC).isoformat().replace("+00:00", "Z")
