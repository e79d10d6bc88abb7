"""The report as one self-contained HTML file: a Jinja2 template (autoescaping on) and matplotlib
charts inlined as SVG. No script, no stylesheet or font to fetch, no URL at all: the file opens
from disk offline and shows the same everywhere.

The adapter at the edge: it imports the ``report`` extra (``pip install
'ecs-stop-forwarder[report]'``), which the Lambda never does. ``forwarder.commands.report``
imports this module only for ``--html``, and turns its ImportError into a usage error naming the
extra. The charts' SVG elements carry ids for what they draw: ``series-<panel>-<category>`` for
each stacked series of the timeline, ``loop-<panel>-<n>`` for each crash loop drawn on it.
"""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

import jinja2
import matplotlib as mpl
import numpy as np
from markupsafe import Markup
from matplotlib import dates
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from forwarder.errors import ConfigError
from forwarder.report.page import Page, Timeline, colour

EXTRA = "report"
_RC: dict[Any, Any] = {
    "svg.fonttype": "none",  # text as <text>, in the browser's own fonts: small, selectable, searchable
    "svg.hashsalt": "ecs-stop-forwarder",  # ids that do not change from run to run
    "font.size": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
}
_NO_METADATA = {"Creator": None, "Date": None, "Format": None, "Type": None}
# What an SVG file starts with that an inline <svg> does without: the XML declaration and DOCTYPE
# (which names a URL), and the namespace declarations (HTML puts inline SVG in its namespace).
_PROLOG = re.compile(r"\A.*?(?=<svg\b)", re.DOTALL)
_NAMESPACES = re.compile(r'\s+xmlns(?::xlink)?="[^"]*"')
_MS_PER_DAY = 86_400_000


def svg(figure: Figure) -> Markup:
    """The figure as an inline ``<svg>`` element."""
    buffer = io.StringIO()
    figure.savefig(buffer, format="svg", metadata=_NO_METADATA)
    text = _PROLOG.sub("", buffer.getvalue(), count=1)
    head, rest = text.split(">", 1)
    return Markup(_NAMESPACES.sub("", head) + ">" + rest)  # matplotlib escapes the text it writes


def timeline_svg(timeline: Timeline) -> Markup:
    """Stacked stops per bucket of hours, one panel per group, crash loops marked."""
    panels = timeline.panels
    with mpl.rc_context(_RC):
        figure = Figure(figsize=(11, 0.9 + 1.25 * len(panels)), layout="constrained")
        axes = figure.subplots(len(panels), 1, sharex=True, squeeze=False)[:, 0]
        step = timeline.bucket_hours / 24  # matplotlib's dates are days since 1970
        start = timeline.start / _MS_PER_DAY
        edges = start + step * np.arange(timeline.buckets + 1)
        legend: dict[str, str] = {}
        for index, (ax, panel) in enumerate(zip(axes, panels, strict=True)):
            bottom = np.zeros(timeline.buckets)
            for series in panel.series:
                top = bottom + np.asarray(series.counts, dtype=float)
                ax.stairs(top, edges, baseline=bottom, fill=True, color=series.colour,
                          gid=f"series-{index}-{series.category}")  # fmt: skip
                legend.setdefault(series.category, series.colour)
                bottom = top
            for number, span in enumerate(panel.loops):
                first = span.first / _MS_PER_DAY
                last = max(span.last / _MS_PER_DAY, first + step)
                ax.axvspan(first, last, color="#d62728", alpha=0.08, lw=0, zorder=0)  # behind the stops
                ax.axvspan(first, last, ymin=0.94, color="#d62728", lw=0, gid=f"loop-{index}-{number}")
            ax.set_title(panel.label, loc="left", fontsize=9, fontweight="bold")
            ax.set_ylim(0, max(1.0, float(bottom.max()) * 1.2))
            ax.yaxis.get_major_locator().set_params(integer=True, nbins=3)
            ax.grid(axis="y", color="#eeeeee")
        locator = dates.AutoDateLocator()
        axes[-1].xaxis.set_major_locator(locator)
        axes[-1].xaxis.set_major_formatter(dates.ConciseDateFormatter(locator))
        axes[-1].set_xlim(edges[0], edges[-1])
        unit = "hour" if timeline.bucket_hours == 1 else f"{timeline.bucket_hours} hours"
        figure.supylabel(f"stops per {unit}")
        handles = [Patch(color=hue, label=name) for name, hue in legend.items()]
        figure.legend(handles=handles, loc="outside upper center", ncols=min(5, len(handles)), frameon=False)
        return svg(figure)


def categories_svg(categories: tuple[tuple[str, str, int, str], ...]) -> Markup:
    """Stops per category, most first."""
    with mpl.rc_context(_RC):
        figure = Figure(figsize=(7, 0.6 + 0.28 * len(categories)), layout="constrained")
        ax = figure.subplots()
        names = [name for name, *_ in categories][::-1]
        counts = [count for _, _, count, _ in categories][::-1]
        bars = ax.barh(names, counts, color=[hue for *_, hue in categories][::-1], gid="categories")
        ax.bar_label(bars, padding=3)
        ax.set_xlabel("stops")
        ax.margins(x=0.12)
        return svg(figure)


def render(page: Page) -> str:
    """The whole HTML document."""
    environment = jinja2.Environment(
        loader=jinja2.PackageLoader("forwarder.report", "templates"),
        autoescape=True,  # every value from a record is text, whatever it holds
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters["colour"] = colour
    charts: dict[str, Any] = {
        "timeline": timeline_svg(page.timeline) if page.timeline and page.timeline.panels else None,
        "categories": categories_svg(page.categories) if page.categories else None,
    }
    return environment.get_template("report.html.j2").render(page=page, charts=charts)


def write(page: Page, path: str | Path) -> Path:
    """Render ``page`` to ``path`` (UTF-8)."""
    target = Path(path)
    try:
        target.write_text(render(page), encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"--html {target}: cannot write it ({exc.strerror})") from None
    return target
