"""``send``: run the Lambda's pipeline locally — archive, deliver, record outcomes — over files."""

from __future__ import annotations

import argparse
import gzip
import json
from collections import Counter
from collections.abc import Sequence
from typing import Any, TextIO

from forwarder.archive import open_archive
from forwarder.commands.common import (
    EXIT_FAILED,
    EXIT_OK,
    Problems,
    chunks,
    destinations_for,
    items_from,
    settings_from_env,
)
from forwarder.commands.explain import line
from forwarder.config import Settings
from forwarder.destinations.base import DELIVERED, Destination, deadline_in
from forwarder.destinations.datadog import DatadogDestination
from forwarder.destinations.newrelic import NewRelicDestination
from forwarder.errors import ConfigError, InvalidEvent
from forwarder.inputs import Item
from forwarder.model import StopRecord
from forwarder.parse import parse_event
from forwarder.pipeline import SKIPPED, EventResult, Filters, Forwarder
from forwarder.secrets import KeyResolver
from forwarder.wiring import aws_client, build_destination, enrichment_client

CHUNK = 500  # inputs per round of delivery
DEFAULT_LOCAL_ARCHIVE = "./archive"


def add_parser(commands: Any) -> None:
    parser = commands.add_parser(
        "send",
        help="run the forwarder's pipeline over files, folders or stdin: archive, deliver, record",
        description="Reads the same inputs as explain. Destinations: --to, else FORWARDER_DESTINATIONS, "
        "else the vendors whose key is configured, else stdout. Archive: --archive, else "
        "s3://$ARCHIVE_BUCKET/$ARCHIVE_PREFIX when ARCHIVE_BUCKET is set, else ./archive.",
    )
    parser.add_argument("paths", nargs="+", metavar="PATH")
    parser.add_argument("--to", help="comma list of datadog, newrelic, stdout; or none (archive only)")
    parser.add_argument("--archive", help="DIR, s3://bucket/prefix, or none")
    parser.add_argument(
        "--dry-run", action="store_true", help="print the exact vendor payloads, send nothing"
    )
    parser.add_argument(
        "--brief", action="store_true", help="print one line per stop as it is archived (as explain --brief)"
    )
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds for all retries (default 120)")
    parser.set_defaults(run=run)


def archive_location(args: argparse.Namespace, settings: Settings) -> str:
    if args.archive:
        return str(args.archive)
    if settings.archive_bucket:
        return f"s3://{settings.archive_bucket}/{settings.archive_prefix}"
    return DEFAULT_LOCAL_ARCHIVE


def dry_run(records: Sequence[StopRecord], names: Sequence[str], settings: Settings, out: TextIO) -> None:
    """The request bodies each vendor would get (uncompressed), one JSON document per request."""
    for name in names:
        if name == "stdout":
            for record in records:
                out.write(json.dumps(record.to_dict(), ensure_ascii=False) + "\n")
            continue
        # Built without a key: nothing is sent, only the requests are assembled.
        destination = DatadogDestination("", settings.datadog.url, source=settings.datadog.source,
                                         tags=settings.datadog.tags) if name == "datadog" else \
            NewRelicDestination("", settings.newrelic.url)  # fmt: skip
        encode = destination.encoder
        for _, body in destination.requests([encode(record, None) for record in records]):
            request = {"destination": name, "url": destination.url, "body": json.loads(gzip.decompress(body))}
            out.write(json.dumps(request, ensure_ascii=False) + "\n")
        destination.close()


def summary(
    names: Sequence[str], results: Sequence[EventResult], location: str, err: TextIO, categories: bool = True
) -> int:
    """The closing table (without the stops per category when ``categories`` is false: ``--brief``
    printed every stop); returns how many deliveries failed."""
    records = [r.record for r in results if r.record is not None]
    rejected = len(results) - len(records)
    err.write(f"\n{len(results)} input(s): {len(records)} stop record(s), {rejected} rejected\n")
    err.write(f"archive: {location}\n\n")
    by_category = Counter(record.category for record in records) if categories else Counter()
    if by_category:
        width = max(len(c) for c in by_category)
        err.write(f"{'category':<{width}}  stops\n")
        for category, count in by_category.most_common():
            err.write(f"{category:<{width}}  {count:>5}\n")
        err.write("\n")
    failed = 0
    if not names:
        err.write("destinations: none (archived only)\n")
        return failed
    width = max(11, *(len(n) for n in names))
    err.write(f"{'destination':<{width}}  delivered  skipped  failed\n")
    for name in names:
        statuses = Counter(r.deliveries.get(name, {}).get("status") for r in results if r.record is not None)
        bad = sum(n for status, n in statuses.items() if status not in (DELIVERED, SKIPPED))
        failed += bad
        err.write(f"{name:<{width}}  {statuses[DELIVERED]:>9}  {statuses[SKIPPED]:>7}  {bad:>6}\n")
    errors = Counter(
        (name, outcome.get("status"), outcome.get("error"))
        for r in results
        for name, outcome in r.deliveries.items()
        if outcome.get("status") not in (DELIVERED, SKIPPED)
    )
    for (name, status, error), count in errors.items():
        err.write(f"error: {name}: {count} record(s) {status}: {error}\n")
    return failed


def run(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    if not args.timeout > 0:  # NaN too: a deadline already passed sends nothing
        raise ConfigError("--timeout must be more than 0")
    settings = settings_from_env()
    names = () if args.to and args.to.strip().lower() == "none" else destinations_for(args, settings)
    problems = Problems(err)
    items = items_from(args.paths, problems, args.codec)
    if args.dry_run:
        for chunk in chunks(items, CHUNK):
            records = []
            for item in chunk:
                try:
                    records.append(parse_event(item.value))
                except InvalidEvent as exc:
                    problems.report(item.where, exc)
            dry_run(records, names, settings, out)
        return EXIT_FAILED if problems.count else EXIT_OK

    location = archive_location(args, settings)
    archive = open_archive(location, settings.archive_prefix, aws_client, settings.archive_kms_key_id)
    resolver = KeyResolver(aws_client)
    built: list[Destination] = []

    def destinations() -> list[Destination]:
        if not built:
            built.extend(
                build_destination(n, settings, resolver, stdout=out, codec=args.codec) for n in names
            )
        return built

    enrich = None
    if settings.enrich:  # FORWARDER_ENRICH, as the Lambda reads it
        from forwarder.enrich import Enricher  # noqa: PLC0415 - only when enrichment is on

        enrich = Enricher(settings.enrich, enrichment_client)
    forwarder = Forwarder(
        archive,
        names,
        destinations,
        Filters(settings.min_severity, settings.exclude_categories),
        enrich=enrich,
    )
    deadline = deadline_in(args.timeout)
    results: list[EventResult] = []
    try:
        for chunk in chunks(items, CHUNK):
            chunk_results = forwarder.forward([item.value for item in chunk], deadline)
            report_rejected(chunk, chunk_results, problems)
            if args.brief:
                out.write("".join(line(r.record) + "\n" for r in chunk_results if r.record is not None))
            results.extend(chunk_results)
    finally:
        for destination in built:
            destination.close()
    failed = summary(names, results, archive.location, err, categories=not args.brief)
    return EXIT_FAILED if failed or problems.count else EXIT_OK


def report_rejected(chunk: Sequence[Item], results: Sequence[EventResult], problems: Problems) -> None:
    for item, result in zip(chunk, results, strict=True):
        if result.rejected is not None:
            problems.report(f"{item.where} (kept as {result.key})", result.rejected)
