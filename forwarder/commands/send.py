"""``send``: deliver stop events from files to Datadog, New Relic and/or stdout."""

from __future__ import annotations

import argparse
import json
from collections import Counter
from collections.abc import Sequence
from typing import Any, TextIO

from forwarder.commands.common import (
    EXIT_FAILED,
    EXIT_OK,
    Problems,
    chunks,
    records_from,
    settings_from_env,
)
from forwarder.config import Settings, parse_destinations
from forwarder.destinations.base import Destination, Outcome, deadline_in
from forwarder.model import StopRecord
from forwarder.payloads import datadog_batches, datadog_log, newrelic_batches, newrelic_log
from forwarder.pipeline import deliver
from forwarder.secrets import KeyResolver
from forwarder.wiring import aws_client, build_destination

CHUNK = 1000  # records read before a round of delivery


def add_parser(commands: Any) -> None:
    parser = commands.add_parser(
        "send",
        help="deliver stop events from files, folders or stdin to Datadog, New Relic or stdout",
        description="Reads the same inputs as explain. Destinations default to FORWARDER_DESTINATIONS, "
        "else the vendors whose key is configured, else stdout.",
    )
    parser.add_argument("paths", nargs="+", metavar="PATH")
    parser.add_argument("--to", help="comma list of datadog, newrelic, stdout")
    parser.add_argument(
        "--dry-run", action="store_true", help="print the exact vendor payloads, send nothing"
    )
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds for all retries (default 120)")
    parser.set_defaults(run=run)


def destinations_for(args: argparse.Namespace, settings: Settings) -> tuple[str, ...]:
    return parse_destinations(args.to, "--to") if args.to else settings.destinations


def dry_run(records: Sequence[StopRecord], names: Sequence[str], settings: Settings, out: TextIO) -> None:
    """The request bodies each vendor would get, uncompressed, one JSON document per request."""
    for name in names:
        if name == "datadog":
            logs = [
                datadog_log(r, source=settings.datadog.source, tags=settings.datadog.tags) for r in records
            ]
            for batch in datadog_batches(logs):
                out.write(json.dumps({"destination": name, "url": settings.datadog.url,
                                      "body": [logs[i] for i in batch]}) + "\n")  # fmt: skip
        elif name == "newrelic":
            nr_logs = [newrelic_log(r) for r in records]
            for indices, _ in newrelic_batches(nr_logs):
                body = [{"common": {"attributes": {}}, "logs": [nr_logs[i] for i in indices]}]
                out.write(
                    json.dumps({"destination": name, "url": settings.newrelic.url, "body": body}) + "\n"
                )
        else:
            for record in records:
                out.write(json.dumps(record.to_dict(), ensure_ascii=False) + "\n")


def summary(names: Sequence[str], outcomes: Sequence[dict[str, Outcome]], err: TextIO) -> int:
    """Per-destination counts and each distinct failure once; the number of failed deliveries."""
    failed = 0
    width = max(len(name) for name in names)
    err.write(f"{len(outcomes)} stop record(s)\n{'destination':<{width}}  delivered  failed\n")
    for name in names:
        results = [o[name] for o in outcomes]
        bad = [o for o in results if not o.delivered]
        failed += len(bad)
        err.write(f"{name:<{width}}  {len(results) - len(bad):>9}  {len(bad):>6}\n")
        for (status, error), count in Counter((o.status, o.error) for o in bad).items():
            err.write(f"error: {name}: {count} record(s) {status}: {error}\n")
    return failed


def run(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    settings = settings_from_env()
    names = destinations_for(args, settings)
    problems = Problems(err)
    records = (record for _, record in records_from(args.paths, problems))
    if args.dry_run:
        for chunk in chunks(records, CHUNK):
            dry_run(chunk, names, settings, out)
        return EXIT_FAILED if problems.count else EXIT_OK
    resolver = KeyResolver(aws_client)
    destinations: list[Destination] = [build_destination(n, settings, resolver, stdout=out) for n in names]
    deadline = deadline_in(args.timeout)
    outcomes: list[dict[str, Outcome]] = []
    try:
        for chunk in chunks(records, CHUNK):
            outcomes.extend(deliver(chunk, destinations, deadline))
    finally:
        for destination in destinations:
            destination.close()
    failed = summary(names, outcomes, err)
    return EXIT_FAILED if failed or problems.count else EXIT_OK
