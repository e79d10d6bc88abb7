"""Stop records -> what a report shows, in memory bounded by groups x hours, not by stops. Pure.

A group is one (cluster, ECS service, task family): a service's tasks, or a scheduled/RunTask
family's (service None). Every stop is counted at once into counters keyed by (group, hour,
category) and per-group totals; the newest ``latest`` records are kept in a heap.

**Order.** Loop detection (``forwarder.report.loops``) needs each group's error stops in time
order, but they do not come so: objects come in key order, which is hour folders (this tool's
archive names the hour by event time, and its documents in an hour by event id, so in no time
order; Firehose names the hour by arrival, so a stop can sit in the next hour's folder), and a
second SOURCE starts again at its own beginning. So each group holds its stops in a reorder buffer
(a heap by time) and hands them on, in order, once a stop ``reorder_ms`` (2 h) newer has been seen
in that group: the buffer holds at most the group's last two hours of stops. A stop older than
what its group has already handed on is *late*: it is counted (in the totals, the hours, the
latest table) but cannot take part in loop detection, and the report says how many there were
(the same group in two sources that overlap in time, or an event delivered hours late).

**Duplicates** (the same event id twice: Firehose delivers at least once) are dropped while the
first copy is in its group's reorder buffer. Beyond that the id is forgotten (memory must not grow
with the stops): a copy more than ``reorder_ms`` behind is late, and counted again.
"""

from __future__ import annotations

import heapq
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from forwarder.model import Record
from forwarder.report.loops import Loop, LoopRule, LoopTracker

HOUR_MS = 3_600_000
REORDER_MS = 2 * HOUR_MS
LATEST = 50
_NEVER = -(1 << 62)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MS = timedelta(milliseconds=1)

Group = tuple[str | None, str | None, str | None]  # (cluster, service, family)


@dataclass(frozen=True)
class GroupRow:
    """One group's totals. ``first``/``last``: epoch ms of its earliest and latest dated stop."""

    group: Group
    stops: int
    errors: int
    categories: dict[str, int]  # most stops first
    first: int | None
    last: int | None
    loops: int
    ongoing: bool

    @property
    def top_category(self) -> str:
        return next(iter(self.categories))


@dataclass(frozen=True)
class Summary:
    """What a report shows. Times are epoch milliseconds (UTC). ``end`` is the moment loops are
    judged ongoing at: the window's ``--until``, else the latest stop read. ``timeline``: stops per
    (hour index, category) for each group (hour index = epoch ms // HOUR_MS)."""

    events: int
    duplicates: int
    late: int
    undated: int
    categories: dict[str, int]  # most stops first
    severities: dict[str, int]
    first: int | None
    last: int | None
    end: int | None
    rule: LoopRule
    groups: tuple[GroupRow, ...]  # what needs attention first
    loops: tuple[tuple[Group, Loop], ...]  # ongoing first, then the latest
    latest: tuple[Record, ...]  # newest first
    timeline: dict[Group, dict[tuple[int, str], int]]


class _GroupState:
    __slots__ = (
        "buffer",
        "categories",
        "errors",
        "first",
        "hours",
        "ids",
        "last",
        "released",
        "stops",
        "tracker",
    )

    def __init__(self, rule: LoopRule) -> None:
        self.stops = 0
        self.errors = 0
        self.categories: Counter[str] = Counter()
        self.hours: Counter[tuple[int, str]] = Counter()
        self.first: int | None = None
        self.last: int | None = None
        # the reorder buffer: (time, arrival, id hash, category, hint, error); ids of what is in it
        self.buffer: list[tuple[int, int, int, str, str, bool]] = []
        self.ids: set[int] = set()
        self.released = _NEVER  # the time of the last stop handed on to the tracker
        self.tracker = LoopTracker(rule)


class Tally:
    """Add records with ``add``; ``summary()`` once at the end."""

    def __init__(
        self, rule: LoopRule | None = None, until: int | None = None, latest: int = LATEST,
        reorder_ms: int = REORDER_MS,
    ) -> None:  # fmt: skip
        self.rule = rule or LoopRule()
        self.until = until
        self.latest_size = latest
        self.reorder_ms = reorder_ms
        self._groups: dict[Group, _GroupState] = {}
        self._categories: Counter[str] = Counter()
        self._severities: Counter[str] = Counter()
        self._latest: list[tuple[int, int, Record]] = []  # a min-heap: the oldest kept is first
        self._hour_starts: dict[str, int] = {}  # "YYYY-MM-DDTHH" -> epoch ms: one parse per hour
        self._arrivals = 0
        self.events = self.duplicates = self.late = self.undated = 0
        self.first: int | None = None
        self.last: int | None = None

    def add(self, record: Record) -> None:
        group = (record.cluster, record.service, record.family)
        state = self._groups.get(group)
        if state is None:
            state = self._groups[group] = _GroupState(self.rule)
        category, error = record.category, record.severity == "error"
        text = record.time or record.stopped_at
        at = None if text is None else self._epoch_ms(text)
        self._arrivals += 1
        if at is None:
            self.undated += 1
        elif at < state.released:
            self.late += 1
        else:
            fingerprint = hash(record.event_id)
            if fingerprint in state.ids:
                self.duplicates += 1
                return
            state.ids.add(fingerprint)
            hint = record.hint if error else ""
            heapq.heappush(state.buffer, (at, self._arrivals, fingerprint, category, hint, error))
            if state.last is None or at > state.last:  # the group's newest: hand on what is old enough
                self._release(state, at - self.reorder_ms)
        self.events += 1
        self._categories[category] += 1
        self._severities[record.severity] += 1
        state.stops += 1
        state.errors += error
        state.categories[category] += 1
        if at is not None:
            state.hours[at // HOUR_MS, category] += 1
            state.first = at if state.first is None else min(state.first, at)
            state.last = at if state.last is None else max(state.last, at)
            self.first = at if self.first is None else min(self.first, at)
            self.last = at if self.last is None else max(self.last, at)
            latest = self._latest
            if len(latest) < self.latest_size:
                heapq.heappush(latest, (at, self._arrivals, record))
            elif latest and (at, self._arrivals) > latest[0][:2]:
                heapq.heapreplace(latest, (at, self._arrivals, record))

    def _release(self, state: _GroupState, upto: float) -> None:
        """Hand the buffered stops at or before ``upto`` to the loop tracker, in time order."""
        buffer, ids, tracker = state.buffer, state.ids, state.tracker
        while buffer and buffer[0][0] <= upto:
            at, _, fingerprint, category, hint, error = heapq.heappop(buffer)
            ids.discard(fingerprint)
            state.released = at
            if error:
                tracker.add(at, category, hint)

    def _epoch_ms(self, text: str) -> int | None:
        """Epoch ms of an ISO 8601 time; the record's canonical form (``2026-11-28T03:14:01.000Z``)
        without building a datetime. None when it is not a time."""
        if len(text) == 24 and text[19] == "." and text[23] == "Z" and text[13] == ":":
            hour = self._hour_starts.get(text[:13])
            if hour is None:
                moment = _parse(text[:13] + ":00:00+00:00")
                if moment is None:
                    return None
                hour = self._hour_starts[text[:13]] = moment
            try:
                return hour + int(text[14:16]) * 60_000 + int(text[17:19]) * 1000 + int(text[20:23])
            except ValueError:
                return None
        return _parse(text)

    def summary(self) -> Summary:
        """Everything counted; hands on what the reorder buffers still hold and closes the loops.
        Call it once."""
        end = self.until if self.until is not None else self.last
        rows: list[GroupRow] = []
        loops: list[tuple[Group, Loop]] = []
        for group, state in self._groups.items():
            self._release(state, float("inf"))
            found = state.tracker.loops(end)
            loops.extend((group, loop) for loop in found)
            rows.append(
                GroupRow(group, state.stops, state.errors, dict(state.categories.most_common()), state.first,
                         state.last, len(found), any(loop.ongoing for loop in found))
            )  # fmt: skip
        rows.sort(key=attention)
        loops.sort(key=lambda item: (not item[1].ongoing, -item[1].last, _label(item[0])))
        return Summary(
            self.events, self.duplicates, self.late, self.undated, dict(self._categories.most_common()),
            dict(self._severities.most_common()), self.first, self.last, end, self.rule, tuple(rows),
            tuple(loops), tuple(record for *_, record in sorted(self._latest, reverse=True)),
            {group: dict(state.hours) for group, state in self._groups.items()},
        )  # fmt: skip


def attention(row: GroupRow) -> tuple[bool, bool, int, int, str]:
    """What needs attention first: an ongoing loop, any loop, more errors, a later last stop."""
    return (not row.ongoing, not row.loops, -row.errors, -(row.last or 0), _label(row.group))


def _label(group: Group) -> str:
    cluster, service, family = group
    return f"{cluster or '-'}/{service or family or '-'}"


def _parse(text: str) -> int | None:
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment
    return (moment - _EPOCH) // _MS


def summarize(records: Iterable[Record], rule: LoopRule | None = None, until: int | None = None) -> Summary:
    """The summary of ``records`` (one pass)."""
    tally = Tally(rule, until)
    for record in records:
        tally.add(record)
    return tally.summary()
