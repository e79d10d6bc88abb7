"""``report``: what stopped, why, how often, since when, from the archives replay reads: a table in
the terminal, one JSON document (``--json``), one self-contained HTML page (``--html FILE``)."""

from __future__ import annotations

import argparse
import json
import os
from datetime import UTC, datetime, timedelta
from typing import Any, TextIO

from forwarder.alerts.definitions import parse_duration
from forwarder.classify import CATEGORIES
from forwarder.commands.common import EXIT_FAILED, EXIT_OK, Problems
from forwarder.commands.replay import window_of
from forwarder.errors import ConfigError
from forwarder.model import SEVERITIES
from forwarder.replay.selection import Selection
from forwarder.report.document import to_json
from forwarder.report.loops import DEFAULT_THRESHOLD, LoopRule
from forwarder.report.read import records
from forwarder.report.tally import LATEST, Tally
from forwarder.report.text import TOP, render
from forwarder.wiring import aws_client

EXTRA_HINT = "pip install 'ecs-stop-forwarder[report]'"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _duration(text: str) -> int:
    try:
        return parse_duration(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def add_parser(commands: Any) -> None:
    parser = commands.add_parser(
        "report",
        help="what stopped, why, how often, since when: a summary of archives (terminal, JSON, HTML)",
        description="SOURCE is what replay reads: s3://bucket/prefix, a directory or a file, holding "
        "this tool's archive documents, Firehose backup objects or anything explain reads. Prints a table "
        "per ECS service / task family (what needs attention first) and the crash loops: a group whose "
        "tasks stopped with an error category --loop-threshold times within --loop-window.",
    )
    parser.add_argument("sources", nargs="+", metavar="SOURCE")
    parser.add_argument("--since", help="ISO 8601 or relative (36h, 7d): events at or after")
    parser.add_argument("--until", help="ISO 8601 or relative: events at or before")
    parser.add_argument("--cluster", action="append", default=[], help="repeatable")
    parser.add_argument("--service", action="append", default=[], help="repeatable")
    parser.add_argument("--family", action="append", default=[], help="repeatable")
    parser.add_argument("--category", action="append", default=[], choices=CATEGORIES, metavar="CATEGORY")
    parser.add_argument("--min-severity", choices=SEVERITIES, default="info")
    parser.add_argument("--html", metavar="FILE", help="also write one self-contained HTML page")
    parser.add_argument(
        "--json", action="store_true", help="one JSON document on stdout instead of the table"
    )
    parser.add_argument(
        "--loop-threshold", type=int, default=DEFAULT_THRESHOLD,
        help=f"error stops within --loop-window that make a crash loop (default {DEFAULT_THRESHOLD})",
    )  # fmt: skip
    parser.add_argument("--loop-window", type=_duration, default="15m", help="default 15m")
    parser.add_argument("--top", type=int, default=TOP, help=f"table rows (default {TOP}; 0: all)")
    parser.add_argument(
        "--latest", type=int, default=LATEST, help=f"the page's latest stops (default {LATEST})"
    )
    parser.set_defaults(run=run)


def _ms(moment: datetime | None) -> int | None:
    return None if moment is None else (moment - _EPOCH) // timedelta(milliseconds=1)


def _require_html() -> None:
    """``ConfigError`` naming the extra when the libraries ``--html`` draws with are missing."""
    try:
        import forwarder.report.html  # noqa: F401, PLC0415 - the 'report' extra, only for --html
    except ImportError as exc:
        raise ConfigError(
            f"--html needs the 'report' extra ({exc.name or 'jinja2/matplotlib'} is not installed): "
            + EXTRA_HINT
        ) from None


def run(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    window = window_of(args, datetime.now(UTC))
    rule = LoopRule(args.loop_threshold, args.loop_window * 1000)
    if args.latest < 0:
        raise ConfigError("--latest must be 0 or more")
    if args.html:  # before reading anything: a missing extra is a usage error, said at once
        _require_html()
    selection = Selection(window, frozenset(args.cluster), frozenset(args.service), frozenset(args.family),
                          frozenset(args.category), args.min_severity)  # fmt: skip
    problems = Problems(err)
    tally = Tally(rule, until=_ms(window.until), latest=args.latest)
    for record in records(args.sources, selection, aws_client, problems.report, args.codec):
        tally.add(record)
    summary = tally.summary()
    if args.json:
        document = to_json(summary, _ms(window.since), _ms(window.until), problems.count)
        out.write(json.dumps(document, ensure_ascii=False) + "\n")
    else:
        colour = out.isatty() and "NO_COLOR" not in os.environ
        out.write(render(summary, colour=colour, top=args.top, invalid=problems.count))
    if args.html:
        from forwarder.report.html import write  # noqa: PLC0415 - the 'report' extra, only for --html
        from forwarder.report.page import page  # noqa: PLC0415

        written = write(page(summary, tuple(args.sources), problems.count), args.html)
        size = written.stat().st_size // 1024
        err.write(f"report: wrote {written.resolve()} ({size} KB): open it in a browser, offline\n")
    return EXIT_FAILED if problems.count else EXIT_OK
