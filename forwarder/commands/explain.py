"""``explain``: why each task stopped, for humans (or one JSON record per line).

With ``--enrich`` it also reads what the event does not say (the container's log, the image's
manifest) with the usual AWS credentials, in each event's region; without it, no AWS call.
"""

from __future__ import annotations

import argparse
import json
import time
from collections import Counter
from typing import Any, TextIO

from forwarder.commands.common import EXIT_FAILED, EXIT_OK, EXIT_USAGE, Problems, records_from
from forwarder.config import ENRICH_KINDS, parse_enrich
from forwarder.errors import ConfigError
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
    parser.add_argument("--brief", action="store_true", help="one line per stop: when, severity, what")
    parser.add_argument(
        "--enrich",
        nargs="?",
        const=",".join(ENRICH_KINDS),
        metavar="KINDS",
        help="also read the container's log and the image's manifest in AWS (KINDS: logs,image; default "
        "both) where the event leaves the cause open; uses your AWS credentials and AWS_ENDPOINT_URL",
    )
    parser.set_defaults(run=run)


def line(record: StopRecord) -> str:
    """One line per stop (``--brief``, and ``send --brief``): when, how bad, and the record's
    message (which task of which service or family stopped, and why)."""
    return f"{record.stopped_at or record.time or '-'}  {'[' + record.severity + ']':<9} {record.message}"


def block(record: StopRecord, where: str) -> str:
    text = (
        f"{record.category}  [{record.severity}]  {record.stopped_at or record.time or '-'}\n"
        f"  {record.message}\n"
        f"  hint: {record.hint}\n"
    )
    if record.enrichment is not None:  # what was read beyond the event, and what it gave
        for index, evidence in enumerate(record.evidence):
            text += f"  {'evidence:' if index == 0 else '         '} [{evidence.source}] {evidence.text}\n"
        text += f"  enrichment: logs {record.enrichment.logs}; image {record.enrichment.image}\n"
    return text + f"  from: {where}\n"


def run(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    enrich = None
    if args.enrich is not None:
        try:
            kinds = parse_enrich(args.enrich, "--enrich")
        except ConfigError as exc:
            print(f"error: {exc}", file=err)
            return EXIT_USAGE
        from forwarder.enrich import BUDGET_SECONDS, Enricher  # noqa: PLC0415 - only with --enrich
        from forwarder.wiring import enrichment_client  # noqa: PLC0415

        enrich = Enricher(kinds, enrichment_client)
    problems = Problems(err)
    categories: Counter[str] = Counter()
    for item, parsed in records_from(args.paths, problems, args.codec):
        record = parsed if enrich is None else enrich(parsed, time.monotonic() + BUDGET_SECONDS)
        categories[record.category] += 1
        if args.json:
            out.write(json.dumps(record.to_dict(), ensure_ascii=False) + "\n")
        elif args.brief:
            out.write(line(record) + "\n")
        else:
            out.write(block(record, item.where) + "\n")
    if not args.json:
        by_category = ", ".join(f"{name} {n}" for name, n in categories.most_common())
        out.write(f"{sum(categories.values())} stop(s): {by_category or 'none'}; {problems.count} invalid\n")
    return EXIT_FAILED if problems.count else EXIT_OK
