"""The HTML page's model: plain data the template and the charts are drawn from. Pure.

The timeline is one panel per group (the ``PANELS`` that need attention most, then one panel for
all the others), each a stack of one series per category: stops per bucket of hours. A bucket is
one hour up to ``MAX_BUCKETS`` hours (31 days); a longer window puts several hours in a bucket, and
the page says so. Only what the records hold is shown (never the raw event): what the archive
redacted is not there to show.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from forwarder.classify import CATEGORIES, SEVERITY_OF
from forwarder.model import Record
from forwarder.report.tally import HOUR_MS, Group, Summary
from forwarder.report.text import label, minute, window_text

PANELS = 12
MAX_BUCKETS = 24 * 31
# tab20's ten strong colours, then its ten light ones: 18 categories, no two alike
_PALETTE = (
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22",
    "#17becf", "#aec7e8", "#ffbb78", "#98df8a", "#ff9896", "#c5b0d5", "#c49c94", "#f7b6d2", "#dbdb8d",
)  # fmt: skip
OTHER_COLOUR = "#c7c7c7"


def colour(category: str) -> str:
    """The category's colour, the same in every chart and table."""
    return _PALETTE[CATEGORIES.index(category)] if category in CATEGORIES else OTHER_COLOUR


@dataclass(frozen=True)
class Series:
    category: str
    colour: str
    counts: tuple[int, ...]  # stops per bucket


@dataclass(frozen=True)
class Span:
    """A crash loop drawn over its group's panel (epoch ms)."""

    first: int
    last: int
    ongoing: bool


@dataclass(frozen=True)
class Panel:
    label: str
    series: tuple[Series, ...]  # stacked in this order
    loops: tuple[Span, ...]


@dataclass(frozen=True)
class Timeline:
    start: int  # epoch ms of the first bucket's start
    bucket_hours: int
    buckets: int
    panels: tuple[Panel, ...]

    @property
    def series(self) -> int:
        return sum(len(panel.series) for panel in self.panels)


@dataclass(frozen=True)
class Row:
    """A row of a table: cells as text, and a CSS class."""

    cells: tuple[str, ...]
    kind: str = ""


@dataclass(frozen=True)
class Latest:
    time: str
    group: str
    category: str
    colour: str
    severity: str
    message: str
    hint: str
    evidence: tuple[tuple[str, str], ...]  # (source, text)


@dataclass(frozen=True)
class Page:
    title: str
    sources: tuple[str, ...]
    headline: str
    notes: tuple[str, ...]
    loop_rule: str
    loops: tuple[Row, ...]
    groups: tuple[Row, ...]
    categories: tuple[tuple[str, str, int, str], ...]  # (category, severity, stops, colour)
    latest: tuple[Latest, ...]
    timeline: Timeline | None


def page(summary: Summary, sources: tuple[str, ...] = (), invalid: int = 0) -> Page:
    """What the page shows of ``summary``."""
    errors = summary.severities.get("error", 0)
    ongoing = sum(loop.ongoing for _, loop in summary.loops)
    headline = (
        f"{summary.events} stops, {errors} with an error category, in {len(summary.groups)} services and "
        f"task families, {minute(summary.first)} to {minute(summary.last)} UTC: "
        f"{len(summary.loops)} crash loop(s), {ongoing} still going at {minute(summary.end)} UTC."
    )
    notes = []
    if invalid:
        notes.append(f"{invalid} input(s) could not be read (the command listed them on stderr).")
    if summary.late:
        notes.append(f"{summary.late} stop(s) came more than 2 hours after later stops of their group "
                     "(overlapping sources?): counted, but left out of loop detection.")  # fmt: skip
    if summary.undated:
        notes.append(f"{summary.undated} stop(s) have no time: counted, not on the timeline.")
    rule = f"{summary.rule.threshold} or more error stops within {window_text(summary.rule.window_ms)}"
    loops = tuple(
        Row((label(group), loop.category, str(loop.count), minute(loop.first), minute(loop.last),
             "ongoing" if loop.ongoing else "ended", loop.hint), "ongoing" if loop.ongoing else "ended")
        for group, loop in summary.loops
    )  # fmt: skip
    groups = tuple(
        Row((label(row.group), str(row.stops), str(row.errors), row.top_category, minute(row.last),
             "ongoing" if row.ongoing else ("loop" if row.loops else "")),
            "ongoing" if row.ongoing else ("loop" if row.loops else ""))
        for row in summary.groups
    )  # fmt: skip
    categories = tuple(
        (name, SEVERITY_OF.get(name, "-"), count, colour(name)) for name, count in summary.categories.items()
    )
    return Page(
        "ECS task stops", sources, headline, tuple(notes), rule, loops, groups, categories,
        tuple(_latest(record) for record in summary.latest), timeline(summary),
    )  # fmt: skip


def _latest(record: Record) -> Latest:
    data = record.to_dict()
    evidence = tuple(
        (str(item.get("source", "")), str(item.get("text", "")))
        for item in data.get("evidence") or ()
        if isinstance(item, dict)
    )
    group = label((record.cluster, record.service, record.family))
    time = iso_minute(data.get("stopped_at") or record.time)
    return Latest(time, group, record.category, colour(record.category), record.severity, record.message,
                  record.hint, evidence)  # fmt: skip


def iso_minute(text: str | None) -> str:
    return "-" if not text else text[:19].replace("T", " ")


def timeline(summary: Summary, panels: int = PANELS) -> Timeline | None:
    """The timeline's panels; None when no stop has a time."""
    if summary.first is None or summary.last is None:
        return None
    first_hour, last_hour = summary.first // HOUR_MS, summary.last // HOUR_MS
    hours = last_hour - first_hour + 1
    bucket = -(-hours // MAX_BUCKETS)
    buckets = -(-hours // bucket)
    shown = [row.group for row in summary.groups[:panels]]
    rest = [row.group for row in summary.groups[panels:]]
    at = {"first_hour": first_hour, "bucket": bucket, "buckets": buckets}
    built = [_panel(label(group), [group], summary, **at) for group in shown]
    if rest:
        built.append(_panel(f"{len(rest)} more services and task families", rest, summary, **at))
    return Timeline(first_hour * HOUR_MS, bucket, buckets, tuple(panel for panel in built if panel.series))


def _panel(
    name: str, groups: list[Group], summary: Summary, *, first_hour: int, bucket: int, buckets: int
) -> Panel:
    counts: dict[str, list[int]] = {}
    totals: Counter[str] = Counter()
    for group in groups:
        for (hour, category), count in summary.timeline.get(group, {}).items():
            column = counts.setdefault(category, [0] * buckets)
            column[(hour - first_hour) // bucket] += count
            totals[category] += count
    order = sorted(totals, key=lambda category: (-totals[category], category))
    series = tuple(Series(category, colour(category), tuple(counts[category])) for category in order)
    members = set(groups)
    spans = tuple(
        Span(loop.first, loop.last, loop.ongoing) for group, loop in summary.loops if group in members
    )
    return Panel(name, series, spans)
