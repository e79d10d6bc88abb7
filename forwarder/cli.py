"""The ``ecs-stop-forwarder`` console script: argument parsing and wiring only.

Exit codes everywhere: 0 all good, 1 some input invalid or some delivery failed, 2 usage or
configuration error. Bad input is reported on stderr with where it was; never a traceback.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from typing import TextIO

from forwarder import NAME, __version__
from forwarder.errors import ForwarderError, InputError, InvalidEvent
from forwarder.inputs import Item, iter_items, read_paths
from forwarder.model import StopRecord
from forwarder.parse import parse_event

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


class Problems:
    """Counts and reports bad input on stderr: ``error: <where>: <kind>: <what>``."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.count = 0

    def report(self, where: str, error: ForwarderError) -> None:
        self.count += 1
        if isinstance(error, InputError):
            where = where if error.offset is None else f"{where} at offset {error.offset}"
            kind, detail = "unreadable", error.detail
        else:
            kind, detail = getattr(error, "kind", "error"), str(error)
        print(f"error: {where}: {kind}: {detail}", file=self.stream)


def records_from(paths: Iterable[str], problems: Problems) -> Iterator[tuple[Item, StopRecord]]:
    """Every stop record under ``paths``; everything else is reported to ``problems``."""
    for entry in read_paths(paths):
        if isinstance(entry, InputError):
            problems.report(entry.source, entry)
            continue
        source, data = entry
        for item in iter_items(data, source):
            if isinstance(item, InputError):
                problems.report(item.source, item)
                continue
            try:
                yield item, parse_event(item.value)
            except InvalidEvent as exc:
                problems.report(item.where, exc)


def _explain_block(record: StopRecord, where: str) -> str:
    return (
        f"{record.category}  [{record.severity}]  {record.stopped_at or record.time or '-'}\n"
        f"  {record.message}\n"
        f"  hint: {record.hint}\n"
        f"  from: {where}\n"
    )


def cmd_explain(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    problems = Problems(err)
    categories: Counter[str] = Counter()
    for item, record in records_from(args.paths, problems):
        categories[record.category] += 1
        if args.json:
            out.write(json.dumps(record.to_dict(), ensure_ascii=False) + "\n")
        else:
            out.write(_explain_block(record, item.where) + "\n")
    if not args.json:
        by_category = ", ".join(f"{name} {n}" for name, n in categories.most_common())
        out.write(f"{sum(categories.values())} stop(s): {by_category or 'none'}; {problems.count} invalid\n")
    return EXIT_FAILED if problems.count else EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=NAME, description="Explain and forward Amazon ECS task stops (why a task stopped, and the fix)."
    )
    parser.add_argument("--version", action="version", version=f"{NAME} {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    explain = commands.add_parser(
        "explain",
        help="classify stop events from files, folders or stdin and print why each task stopped",
        description="PATH is a file, a directory (read recursively, sorted) or - for stdin. A file may "
        "hold one event, a JSON array, JSON lines, or concatenated JSON (Firehose), optionally gzipped.",
    )
    explain.add_argument("paths", nargs="+", metavar="PATH")
    explain.add_argument("--json", action="store_true", help="one stop record per line on stdout")
    explain.set_defaults(run=cmd_explain)
    return parser


def main(argv: Sequence[str] | None = None, out: TextIO | None = None, err: TextIO | None = None) -> int:
    out, err = out or sys.stdout, err or sys.stderr
    parser = build_parser()
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse's usage errors (2) and --help/--version (0)
        return int(exc.code or 0)
    try:
        return int(args.run(args, out, err))
    except ForwarderError as exc:
        print(f"error: {exc}", file=err)
        return exc.exit_code
    except KeyboardInterrupt:
        print("interrupted", file=err)
        return 130
