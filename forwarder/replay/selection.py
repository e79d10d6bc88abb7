"""Which records a replay (or a report) takes: a time window and filters on the record's fields.

``Window`` also says which hour folders are worth listing: both archives this tool knows (its
own and Firehose's S3 backup) lay objects out under ``<prefix>YYYY/MM/DD/HH/``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from forwarder.model import Record, severity_rank

_HOUR = re.compile(r"(?:^|/)(\d{4})/(\d{2})/(\d{2})/(\d{2})/")
# Firehose names the hour by arrival and events arrive a little late: look one hour either side.
SLACK = timedelta(hours=1)
MAX_HOURS_LISTED = 24 * 400  # past this window, one full listing is cheaper than per-hour calls


@dataclass(frozen=True)
class Window:
    """A time window in UTC (aware datetimes); either end may be open."""

    since: datetime | None = None
    until: datetime | None = None

    def keeps_hour(self, key: str) -> bool:
        """False only when ``key`` sits under an hour folder clearly outside the window."""
        if self.since is None and self.until is None:  # no window: no hour to read
            return True
        match = _HOUR.search(key)
        if match is None:
            return True
        year, month, day, hour_of_day = (int(part) for part in match.groups())
        try:
            hour = datetime(year, month, day, hour_of_day, tzinfo=UTC)
        except ValueError:
            return True
        if self.since is not None and hour + timedelta(hours=1) + SLACK <= self.since:
            return False
        return not (self.until is not None and hour - SLACK > self.until)

    def hours(self) -> list[str] | None:
        """``YYYY/MM/DD/HH/`` folders to list, or None when the whole prefix must be listed."""
        if self.since is None or self.until is None:
            return None
        start = (self.since - SLACK).replace(minute=0, second=0, microsecond=0)
        end = self.until + SLACK
        count = int((end - start).total_seconds() // 3600) + 1
        if count > MAX_HOURS_LISTED:
            return None
        return [(start + timedelta(hours=i)).strftime("%Y/%m/%d/%H/") for i in range(count)]


@dataclass(frozen=True)
class Selection:
    """Which records are replayed (all given sets must match; empty sets match everything)."""

    window: Window = field(default_factory=Window)
    clusters: frozenset[str] = frozenset()
    services: frozenset[str] = frozenset()
    families: frozenset[str] = frozenset()
    categories: frozenset[str] = frozenset()
    min_severity: str = "info"

    def keeps(self, record: Record) -> bool:
        bounded = self.window.since is not None or self.window.until is not None
        moment = datetime.fromisoformat(record.time) if bounded and record.time else None
        if moment is not None and self.window.since is not None and moment < self.window.since:
            return False
        if moment is not None and self.window.until is not None and moment > self.window.until:
            return False
        return (
            (not self.clusters or record.cluster in self.clusters)
            and (not self.services or record.service in self.services)
            and (not self.families or record.family in self.families)
            and (not self.categories or record.category in self.categories)
            and severity_rank(record.severity) >= severity_rank(self.min_severity)
        )
