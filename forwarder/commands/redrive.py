"""``redrive``: deliver what waits in the Lambda's on-failure queue, archiving it as the handler does."""

from __future__ import annotations

import argparse
import json
from typing import Any, TextIO

from forwarder.archive import NoArchive, open_archive
from forwarder.commands.common import EXIT_FAILED, EXIT_OK, Progress, destinations_for, settings_from_env
from forwarder.commands.send import archive_location
from forwarder.destinations.base import Destination
from forwarder.errors import ConfigError, InvalidEvent
from forwarder.model import StopRecord
from forwarder.pipeline import Filters, Forwarder
from forwarder.queue import Message, SqsQueue, parse_queue
from forwarder.redrive import Redriver, RedriveStats
from forwarder.secrets import KeyResolver
from forwarder.wiring import aws_client, build_destination, key_ref


def add_parser(commands: Any) -> None:
    parser = commands.add_parser(
        "redrive",
        help="deliver the events waiting in the Lambda's on-failure SQS queue, then delete them",
        description="QUEUE is the on-failure queue's URL or ARN (the Terraform module's failure_queue_url). "
        "Each message (Lambda's invocation record, or a bare event EventBridge could not deliver) goes "
        "through the handler's pipeline: archived first, sent where the archive does not say delivered, "
        "outcome recorded; it is deleted once every destination is delivered, or once it is archived "
        "under rejected/ when it is not an ECS STOPPED event. The rest stays in the queue.",
    )
    parser.add_argument("queue", metavar="QUEUE")
    parser.add_argument("--to", help="comma list of datadog, newrelic, stdout (default: as send)")
    parser.add_argument("--archive", help="s3://bucket/prefix or DIR (default: as send); never none")
    parser.add_argument("--max", type=int, metavar="N", help="take at most N messages")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds of retries per batch of 10")
    parser.add_argument(
        "--dry-run", action="store_true", help="show what each message is; send, archive and delete nothing"
    )
    parser.add_argument("--json", action="store_true", help="machine-readable summary on stdout")
    parser.set_defaults(run=run)


def progress_line(stats: RedriveStats) -> str:
    return (f"{stats.messages} messages · {stats.events} events · {stats.deleted} deleted · "
            f"{sum(stats.failed.values())} failed · {stats.rejected} rejected")  # fmt: skip


def summary(stats: RedriveStats, names: tuple[str, ...], dry_run: bool, err: TextIO) -> None:
    err.write(f"messages {stats.messages} · events {stats.events} · rejected {stats.rejected} · deleted "
              f"{stats.deleted} · left in the queue {stats.kept} · {stats.elapsed:.1f} s\n")  # fmt: skip
    if dry_run:
        err.write("dry run: nothing was sent, archived or deleted\n")
        return
    width = max(11, *(len(n) for n in names))
    err.write(f"{'destination':<{width}}  {'delivered':>9}  {'already':>7}  {'failed':>6}\n")
    for name in names:
        counts = (stats.delivered[name], stats.already[name], stats.failed[name])
        err.write(f"{name:<{width}}  {counts[0]:>9}  {counts[1]:>7}  {counts[2]:>6}\n")
    for (name, error), count in stats.errors.items():
        err.write(f"error: {name}: {count} event(s) {error}\n")
    if stats.stopped:
        err.write(f"error: stopped early, the rest is still in the queue: {stats.stopped}\n")


def run(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    if not args.timeout > 0:  # NaN too
        raise ConfigError("--timeout must be more than 0")
    if args.max is not None and args.max < 1:
        raise ConfigError("--max must be at least 1")
    settings = settings_from_env()
    names = destinations_for(args, settings)
    queue = SqsQueue(parse_queue(args.queue), aws_client)
    names_shown = ",".join(names)

    def show(message: Message, shown: StopRecord | InvalidEvent) -> None:
        if isinstance(shown, InvalidEvent):
            out.write(f"would reject {message.id}: {shown.kind}: {shown}\n")
        else:
            out.write(f"would send {shown.event_id} {shown.time} {shown.category} "
                      f"{shown.cluster}/{shown.group_name} -> {names_shown}\n")  # fmt: skip

    forwarder: Forwarder | None = None
    built: list[Destination] = []
    if not args.dry_run:
        archive = open_archive(archive_location(args, settings), settings.archive_prefix, aws_client,
                               settings.archive_kms_key_id)  # fmt: skip
        if isinstance(archive, NoArchive):
            raise ConfigError("--archive none: redrive deletes a message only once its outcome is archived")
        resolver = KeyResolver(aws_client)
        for name in names:  # fail on a missing or unreadable key before taking anything off the queue
            if name != "stdout":
                resolver.resolve(key_ref(settings, name))

        def destinations() -> list[Destination]:
            if not built:
                built.extend(
                    build_destination(n, settings, resolver, stdout=out, codec=args.codec) for n in names
                )
            return built

        filters = Filters(settings.min_severity, settings.exclude_categories)
        forwarder = Forwarder(archive, names, destinations, filters)
    progress = Progress(err, progress_line)
    redriver = Redriver(queue, forwarder, names, timeout=args.timeout, maximum=args.max, progress=progress,
                        dry_run=show if args.dry_run else None)  # fmt: skip
    try:
        stats = redriver.run()
    finally:
        for destination in built:
            destination.close()
    progress.done()
    if args.json:
        out.write(json.dumps({"queue": args.queue, "destinations": list(names), "dry_run": args.dry_run,
                              **stats.to_dict()}) + "\n")  # fmt: skip
    summary(stats, names, args.dry_run, err)
    failed = sum(stats.failed.values()) or stats.rejected or stats.stopped
    return EXIT_FAILED if failed else EXIT_OK
