"""``replay``: re-send archives (this tool's own and Firehose's S3 backup) with filters and dedup."""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TextIO

from forwarder.classify import CATEGORIES
from forwarder.commands import replay_at_scale
from forwarder.commands.common import (
    EXIT_FAILED,
    EXIT_OK,
    Problems,
    Progress,
    destinations_for,
    settings_from_env,
)
from forwarder.errors import ConfigError, ForwarderError
from forwarder.model import SEVERITIES, StopRecord
from forwarder.replay.ledger import Checkpoint
from forwarder.replay.replayer import Replayer, Stats
from forwarder.replay.selection import Selection, Window
from forwarder.replay.sources import list_sources
from forwarder.replay.workers import StartMethod
from forwarder.secrets import KeyResolver
from forwarder.wiring import aws_client, build_destination, key_ref

_RELATIVE = re.compile(r"^(\d+(?:\.\d+)?)\s*([smhdw])$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
# Bounds, or a typo runs the machine out of memory: each sender holds a batch (a Datadog body is up
# to 5 MB); each worker is an interpreter with Tuning.chunks_per_worker digests queued for it.
MAX_CONCURRENCY = 64
MAX_WORKERS = 64


CGROUP = Path("/sys/fs/cgroup")


def usable_cpus(cgroup: Path = CGROUP) -> int:
    """The CPUs this process may use: its affinity set, capped by a cgroup CPU quota (v2
    ``cpu.max``, or v1 ``cpu/cpu.cfs_quota_us``). In a container (an ECS task, a CI job)
    ``os.cpu_count()`` is the host's: 64 workers on a 2-CPU quota would only cost memory (an
    interpreter each) and time slices."""
    try:
        count = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not Linux
        count = os.cpu_count() or 1
    quota = _cpu_quota(cgroup)
    return count if quota is None else min(count, quota)


def _cpu_quota(cgroup: Path) -> int | None:
    """Whole CPUs a cgroup CPU quota allows (rounded up), or None when there is none to read."""
    try:
        quota, period = (cgroup / "cpu.max").read_text().split()[:2]
    except (OSError, ValueError):
        try:
            quota = (cgroup / "cpu" / "cpu.cfs_quota_us").read_text().strip()
            period = (cgroup / "cpu" / "cpu.cfs_period_us").read_text().strip()
        except OSError:
            return None
    try:
        quota_us, period_us = int(quota), int(period)
    except ValueError:  # "max": no limit
        return None
    if quota_us <= 0 or period_us <= 0:  # v1 writes -1 for no limit
        return None
    return max(1, -(-quota_us // period_us))


def start_method(platform: str) -> StartMethod:
    """How the CLI starts replay's workers: forked on Linux, at the start of the run, before it
    starts a thread (the CLI runs none of its own); spawned elsewhere (macOS's system libraries
    are not fork-safe)."""
    return "fork" if platform.startswith("linux") else "spawn"


def when(value: str, now: datetime) -> datetime:
    """ISO 8601 (naive means UTC) or relative to now: ``90m``, ``36h``, ``7d``, ``2w``."""
    match = _RELATIVE.match(value.strip())
    if match:
        return now - timedelta(seconds=float(match.group(1)) * _UNITS[match.group(2)])
    try:
        moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not ISO 8601 or relative (36h, 7d): {value!r}") from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def window_of(args: argparse.Namespace, now: datetime) -> Window:
    """``--since``/``--until`` as replay and report read them."""
    try:
        window = Window(
            when(args.since, now) if args.since else None, when(args.until, now) if args.until else None
        )
    except argparse.ArgumentTypeError as exc:
        raise ConfigError(f"--since/--until: {exc}") from None
    if window.since is not None and window.until is not None and window.since > window.until:
        raise ConfigError(f"--since ({window.since:%Y-%m-%dT%H:%M:%SZ}) is after --until "
                          f"({window.until:%Y-%m-%dT%H:%M:%SZ}): no event can match")  # fmt: skip
    return window


def add_parser(commands: Any) -> None:
    parser = commands.add_parser(
        "replay",
        help="re-send archives from S3 or folders (this tool's archive and Firehose backups)",
        description="SOURCE is s3://bucket/prefix, a directory or a file. Objects may be archive "
        "documents, Firehose backup objects (gzip or not, concatenated or newline-separated), or anything "
        "explain reads.",
    )
    parser.add_argument("sources", nargs="+", metavar="SOURCE")
    parser.add_argument("--to", help="comma list of datadog, newrelic, stdout (default: as send)")
    parser.add_argument("--since", help="ISO 8601 or relative (36h, 7d): events at or after")
    parser.add_argument("--until", help="ISO 8601 or relative: events at or before")
    parser.add_argument("--cluster", action="append", default=[], help="repeatable")
    parser.add_argument("--service", action="append", default=[], help="repeatable")
    parser.add_argument("--family", action="append", default=[], help="repeatable")
    parser.add_argument("--category", action="append", default=[], choices=CATEGORIES, metavar="CATEGORY")
    parser.add_argument("--min-severity", choices=SEVERITIES, default="info")
    parser.add_argument(
        "--only-undelivered",
        action="store_true",
        help="send only what an archive document says a destination did not accept",
    )
    parser.add_argument(
        "--timestamp",
        choices=("original", "now", "auto"),
        default="auto",
        help="auto: 'now' for events older than the vendor keeps (Datadog 18 h, New Relic 48 h)",
    )
    parser.add_argument("--concurrency", type=int, default=4, help="parallel senders (default 4)")
    parser.add_argument(
        "--workers",
        type=int,
        help="processes that parse and encode once a run is large (default: one per usable CPU; 0: this one)",
    )
    parser.add_argument("--max-rps", type=float, help="at most this many requests per second")
    parser.add_argument(
        "--checkpoint", help="file of finished objects; a re-run skips them (--dry-run only reads it)"
    )
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds of retries per batch")
    parser.add_argument("--dry-run", action="store_true", help="count and show what would be sent")
    parser.add_argument("--json", action="store_true", help="machine-readable summary on stdout")
    replay_at_scale.add_arguments(parser)
    parser.set_defaults(run=run)


def progress_line(stats: Stats) -> str:
    rate = sum(stats.sent.values()) / max(stats.elapsed, 1e-6)
    failed = sum(stats.failed.values())
    return f"{stats.objects} objects · {stats.read} events · {rate:,.0f} sent/s · {failed} failed"


def summary(stats: Stats, names: tuple[str, ...], dry_run: bool, err: TextIO) -> None:
    err.write(
        f"objects {stats.objects} (skipped by checkpoint {stats.objects_skipped}) · read {stats.read} · "
        f"matched {stats.matched} · duplicates skipped {stats.duplicates} · already delivered "
        f"{stats.already_delivered} · invalid {stats.invalid} · {stats.elapsed:.1f} s\n"
    )
    if dry_run:
        err.write(f"dry run: {stats.matched} event(s) would be sent to {', '.join(names)}\n")
        return
    width = max(11, *(len(n) for n in names))
    err.write(f"{'destination':<{width}}  {'sent':>8}  {'failed':>6}\n")
    for name in names:
        err.write(f"{name:<{width}}  {stats.sent[name]:>8}  {stats.failed[name]:>6}\n")
    for (name, error), count in stats.errors.items():
        err.write(f"error: {name}: {count} record(s) {error}\n")


def run(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    if args.on == "stepfunctions":
        return replay_at_scale.run(args, out, err)
    settings = settings_from_env()
    names = destinations_for(args, settings)
    now = datetime.now(UTC)
    window = window_of(args, now)
    if not 1 <= args.concurrency <= MAX_CONCURRENCY:
        raise ConfigError(f"--concurrency must be 1 to {MAX_CONCURRENCY}")
    if args.workers is not None and not 0 <= args.workers <= MAX_WORKERS:
        raise ConfigError(f"--workers must be 0 to {MAX_WORKERS}")
    for option, value in (("--max-rps", args.max_rps), ("--timeout", args.timeout)):
        if value is not None and not value > 0:  # NaN too
            raise ConfigError(f"{option} must be more than 0")
    selection = Selection(window, frozenset(args.cluster), frozenset(args.service), frozenset(args.family),
                          frozenset(args.category), args.min_severity)  # fmt: skip
    resolver = KeyResolver(aws_client)
    if not args.dry_run:  # fail on a missing or unreadable key before reading anything
        for name in names:
            if name != "stdout":
                resolver.resolve(key_ref(settings, name))
    problems = Problems(err)

    def report(where: str, error: ForwarderError) -> None:
        problems.report(where, error)

    def show(record: StopRecord, wanted: tuple[str, ...]) -> None:
        out.write(f"would send {record.event_id} {record.time} {record.category} "
                  f"{record.cluster}/{record.group_name} -> {','.join(wanted)}\n")  # fmt: skip

    progress = Progress(err, progress_line)
    replayer = Replayer(
        names,
        lambda name: build_destination(name, settings, resolver, stdout=out, codec=args.codec),
        selection,
        timestamp=args.timestamp,
        only_undelivered=args.only_undelivered,
        concurrency=args.concurrency,
        workers=usable_cpus() if args.workers is None else args.workers,  # read cgroups only here
        start_method=start_method(sys.platform),
        codec=args.codec,
        max_rps=args.max_rps,
        timeout=args.timeout,
        checkpoint=Checkpoint(args.checkpoint) if args.checkpoint else None,
        report=report,
        progress=progress,
        dry_run=show if args.dry_run else None,
    )
    stats = replayer.run(list_sources(args.sources, window, aws_client))
    progress.done()
    if args.json:
        out.write(
            json.dumps({"destinations": list(names), "dry_run": args.dry_run, **stats.to_dict()}) + "\n"
        )
    summary(stats, names, args.dry_run, err)
    failed = sum(stats.failed.values())
    return EXIT_FAILED if failed or problems.count else EXIT_OK
