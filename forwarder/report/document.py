"""A summary as one JSON document for scripts (``report --json``), and the time format. Pure.

The shape is a contract, like the stop record's (add fields, never rename)::

    {"events": N, "categories": {category: count},
     "groups": [{"cluster", "service", "family", "stops", "errors", "top_category", "last_stop", ...}],
     "loops": [{"cluster", "service", "family", "category", "hint", "first", "last", "count",
                "ongoing", ...}], ...}

Times are ISO 8601 UTC with milliseconds; ``service`` is null for scheduled and RunTask families.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from forwarder.report.tally import Group, Summary

SCHEMA = "ecs-stop-forwarder/report/v1"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def iso(ms: int | None) -> str | None:
    """``2026-11-28T03:14:01.000Z`` for epoch milliseconds; None for None."""
    if ms is None:
        return None
    moment = _EPOCH + timedelta(milliseconds=ms)
    return moment.replace(tzinfo=None).isoformat(timespec="milliseconds") + "Z"


def _group(group: Group) -> dict[str, str | None]:
    cluster, service, family = group
    return {"cluster": cluster, "service": service, "family": family}


def to_json(
    summary: Summary, since: int | None = None, until: int | None = None, invalid: int = 0
) -> dict[str, Any]:
    """The report as a JSON-ready dict. ``since``/``until``: the window, when one was given;
    ``invalid``: inputs that could not be read (reported on stderr)."""
    rule = summary.rule
    return {
        "schema": SCHEMA,
        "events": summary.events,
        "categories": summary.categories,
        "severities": summary.severities,
        "groups": [
            {
                **_group(row.group),
                "stops": row.stops,
                "errors": row.errors,
                "top_category": row.top_category,
                "last_stop": iso(row.last),
                "first_stop": iso(row.first),
                "categories": row.categories,
                "loop": row.loops > 0,
                "ongoing": row.ongoing,
            }
            for row in summary.groups
        ],
        "loops": [
            {
                **_group(group),
                "category": loop.category,
                "hint": loop.hint,
                "first": iso(loop.first),
                "last": iso(loop.last),
                "count": loop.count,
                "ongoing": loop.ongoing,
                "categories": loop.categories,
            }
            for group, loop in summary.loops
        ],
        "loop_rule": {"threshold": rule.threshold, "window_seconds": rule.window_ms // 1000},
        "window": {
            "since": iso(since),
            "until": iso(until),
            "first_stop": iso(summary.first),
            "last_stop": iso(summary.last),
            "loops_judged_at": iso(summary.end),
        },
        "duplicates_skipped": summary.duplicates,
        "late": summary.late,
        "undated": summary.undated,
        "invalid": invalid,
    }
