"""``explain``: why each task stopped, for humans (or one JSON record per line)."""

from __future__ import annotations

import argparse
import json
from collections import Counter
from typing import Any, TextIO

from forwarder.commands.common import EXIT_FAILED, EXIT_OK, Problems, records_from
from forwarder.model import StopRecord


def add_parser(commands: Any) -> None:
    parser = commands.add_parser(
        "explain",
        help="classify stop events from files, folders or stdin and print why each task stopped",
        description="PATH is a file, a directory (read recursively, sorted) or - for stdin. A file may "
        "hold one event, a JSON array, JSON lines, or concatenated JSON (Firehose), optionally gzipped.",
    )
    parser.add_argument("paths", nargs="+", metavar="PATH")
    parser.add_argument("--json", action="store_true", help="one stop record per line on stdout")
    parser.set_defaults(run=run)


def block(record: StopRecord, where: str) -> str:
    return (
        f"{record.category}  [{record.severity}]  {record.stopped_at or record.time or '-'}\n"
        f"  {record.message}\n"
        f"  hint: {record.hint}\n"
        f"  from: {where}\n"
    )


def run(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    problems = Problems(err)
    categories: Counter[str] = Counter()
    for item, record in records_from(args.paths, problems):
        categories[record.category] += 1
        if args.json:
            out.write(json.dumps(record.to_dict(), ensure_ascii=False) + "\n")
        else:
            out.write(block(record, item.where) + "\n")
    if not args.json:
        by_category = ", ".join(f"{name} {n}" for name, n in categories.most_common())
        out.write(f"{sum(categories.values())} stop(s): {by_category or 'none'}; {problems.count} invalid\n")
    return EXIT_FAILED if problems.count else EXIT_OK
