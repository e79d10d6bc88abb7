"""A summary for a terminal: one table of groups (what needs attention first), the crash loops,
the categories. Pure: text in, text out; colours only when asked (the caller asks on a TTY)."""

from __future__ import annotations

from collections.abc import Callable

from forwarder.report.document import iso
from forwarder.report.tally import Group, GroupRow, Summary

TOP = 20  # group rows shown by default
LABEL_WIDTH = 44
_RED, _YELLOW, _BOLD, _DIM, _RESET = "\033[31m", "\033[33m", "\033[1m", "\033[2m", "\033[0m"


def label(group: Group) -> str:
    """``cluster/service``, or ``cluster/family (task)`` for a scheduled or RunTask family."""
    cluster, service, family = group
    return f"{cluster or '-'}/{service}" if service else f"{cluster or '-'}/{family or '-'} (task)"


def minute(ms: int | None) -> str:
    """``2026-11-28 03:14`` (UTC), or ``-``."""
    text = iso(ms)
    return "-" if text is None else f"{text[:10]} {text[11:16]}"


def window_text(rule_ms: int) -> str:
    return f"{rule_ms // 3_600_000}h" if rule_ms % 3_600_000 == 0 else f"{rule_ms // 60_000}m"


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def render(summary: Summary, colour: bool = False, top: int = TOP, invalid: int = 0) -> str:
    """The whole terminal view. ``top``: group rows shown (0: all)."""

    def paint(text: str, code: str) -> str:
        return f"{code}{text}{_RESET}" if colour else text

    if not summary.events:
        unreadable = f"; {invalid} input(s) unreadable (stderr)" if invalid else ""
        return f"no stop in these sources (or in this window){unreadable}\n"
    errors = summary.severities.get("error", 0)
    ongoing = sum(loop.ongoing for _, loop in summary.loops)
    lines = [
        f"{summary.events} stop(s), {errors} error(s), in {len(summary.groups)} service(s)/task families, "
        f"{minute(summary.first)} to {minute(summary.last)} UTC; {len(summary.loops)} crash loop(s), "
        f"{ongoing} ongoing" + (f"; {invalid} input(s) unreadable (stderr)" if invalid else ""),
    ]
    if summary.late or summary.duplicates:
        lines.append(
            f"{summary.duplicates} duplicate(s) skipped; {summary.late} stop(s) came more than 2 h after "
            "later stops of their group (overlapping sources?): counted, but left out of loop detection"
        )
    if not summary.groups:
        return "\n".join(lines) + "\n"
    rows = summary.groups if top <= 0 else summary.groups[:top]
    heading = "cluster/service (or task family)"
    width = min(LABEL_WIDTH, max(len(heading), *(len(label(r.group)) for r in rows)))
    cat_width = max(len("top category"), *(len(r.top_category) for r in rows))
    head = f"{heading:<{width}}  {'stops':>6}  {'errors':>6}  {'top category':<{cat_width}}"
    lines += ["", paint(f"{head}  {'last stop (UTC)':<16}  loop", _BOLD)]
    for row in rows:
        lines.append(_row(row, width, cat_width, paint))
    if len(rows) < len(summary.groups):
        lines.append(paint(f"… {len(summary.groups) - len(rows)} more (--top 0 shows all)", _DIM))
    rule = summary.rule
    if summary.loops:
        title = f"crash loops ({rule.threshold}+ error stops within {window_text(rule.window_ms)}):"
        lines += ["", paint(title, _BOLD)]
        for group, loop in summary.loops:
            state = paint("ONGOING", _RED) if loop.ongoing else "ended"
            lines.append(
                f"  {label(group)}  {loop.category}  {loop.count} stops  "
                f"{minute(loop.first)} to {minute(loop.last)} UTC  {state}"
            )
            lines.append(f"    hint: {_cut(loop.hint, 160)}")
    by_category = " · ".join(f"{name} {count}" for name, count in summary.categories.items())
    lines += ["", f"categories: {by_category}"]
    return "\n".join(lines) + "\n"


def _row(row: GroupRow, width: int, cat_width: int, paint: Callable[[str, str], str]) -> str:
    loop = "ONGOING" if row.ongoing else ("loop" if row.loops else "")
    name = f"{_cut(label(row.group), width):<{width}}"
    errors = f"{row.errors:>6}"
    if row.ongoing:
        name, loop = paint(name, _RED), paint(loop, _RED + _BOLD)
    elif row.loops:
        name, loop = paint(name, _YELLOW), paint(loop, _YELLOW)
    if row.errors:
        errors = paint(errors, _RED)
    return (
        f"{name}  {row.stops:>6}  {errors}  {row.top_category:<{cat_width}}  {minute(row.last):<16}  {loop}"
    ).rstrip()
