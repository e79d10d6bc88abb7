"""``replay ... --on stepfunctions``: replay on the Step Functions Distributed Map of the
``replay-at-scale`` module instead of this machine.

Starts an execution named after the request (a repeat of the same request attaches to it instead
of starting a second), watches it (each prefix's Map Run: batches and objects succeeded, failed,
running and pending; events sent, from the results of the Map Runs that ended), changes a running
run's concurrency (``--max-concurrency``), stops it (``--stop``) or redrives a failed one
(``--redrive``). Ctrl-C detaches: the run goes on. Exit codes as local replay's.
"""

from __future__ import annotations

import argparse
import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TextIO

from forwarder.commands.common import EXIT_FAILED, EXIT_OK, destinations_for, settings_from_env
from forwarder.errors import ConfigError
from forwarder.scale.request import (
    DEFAULT_TOLERATED_FAILURE_PERCENTAGE,
    DEFAULT_WORKER_RPS,
    MAX_CONCURRENCY,
    MAX_OBJECTS_PER_BATCH,
    RunRequest,
    covering_prefixes,
    execution_input,
    max_concurrency,
    objects_per_batch,
)
from forwarder.scale.runs import COUNTS, FINISHED, Module, Runs, Totals, execution_arn
from forwarder.wiring import aws_client

EXIT_DETACHED = 130
_ARN = re.compile(r"^arn:aws[a-z-]*:states:([a-z0-9-]+):[0-9]{12}:stateMachine:[A-Za-z0-9_-]{1,80}$")
Clients = Callable[..., Any]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("on Step Functions (--on stepfunctions)")
    add = group.add_argument
    add("--on", choices=("local", "stepfunctions"), default="local",
        help="where to replay: this machine (default) or the replay-at-scale state machine")  # fmt: skip
    add("--state-machine", metavar="ARN", help="the module's state_machine_arn")
    add("--max-concurrency", type=int, metavar="N",
        help="batches at once (default: from --max-rps, else 10); changes a running run")  # fmt: skip
    add("--max-rps-per-worker", type=float, default=DEFAULT_WORKER_RPS, metavar="R",
        help="requests a second each worker may start (default %(default)s)")  # fmt: skip
    add("--objects-per-batch", type=int, metavar="N",
        help=f"objects a batch (default: sized from them, at most {MAX_OBJECTS_PER_BATCH})")  # fmt: skip
    add("--tolerated-failure-percentage", type=float, default=DEFAULT_TOLERATED_FAILURE_PERCENTAGE,
        metavar="P", help="failed batches a prefix's Map Run tolerates (default %(default)s)")  # fmt: skip
    add("--stop", action="store_true", help="stop the run this request names")
    add("--redrive", action="store_true", help="redrive the failed run this request names")
    add("--detach", action="store_true", help="start or attach, then return without watching")
    add("--poll", type=float, default=5.0, metavar="S", help="seconds between looks (default 5)")


@dataclass
class _Run:
    """One request's run: where it is and how to talk about it."""

    args: argparse.Namespace
    out: TextIO
    err: TextIO
    runs: Runs
    module: Module
    arn: str  # the state machine
    name: str  # the execution (the run id)
    names: tuple[str, ...]  # destinations
    prefixes: list[str]

    @property
    def target(self) -> str:
        return execution_arn(self.arn, self.name)

    @property
    def results(self) -> str:
        return f"s3://{self.module.results_bucket}/{self.module.run_prefix(self.name)}"

    def say(self, text: str) -> None:
        print(text, file=self.err)


def run(
    args: argparse.Namespace,
    out: TextIO,
    err: TextIO,
    *,
    clients: Clients = aws_client,
    sleep: Callable[[float], None] = time.sleep,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> int:
    arn, region = _check(args)
    names = destinations_for(args, settings_from_env())
    moment = now().replace(second=0, microsecond=0)  # relative times name the same run for a minute
    request = _request(args, names, moment)
    runs = Runs(clients("stepfunctions", region=region), clients("s3", region=region))
    module = runs.module(arn)
    prefixes = _prefixes(runs, module, request, moment)
    per_batch = args.objects_per_batch or objects_per_batch(runs.sizes(module.archive_bucket, prefixes[0]))
    concurrency = max_concurrency(args.max_rps, args.max_rps_per_worker, args.max_concurrency)
    document = execution_input(
        request,
        prefixes,
        objects_per_batch=per_batch,
        tolerated_failure_percentage=args.tolerated_failure_percentage,
        max_rps_per_worker=args.max_rps_per_worker,
    )
    session = _Run(args, out, err, runs, module, arn, request.run_id(), names, prefixes)
    if args.dry_run:
        _dry_run(session, document, concurrency)
        return EXIT_OK
    execution, started = _start_or_attach(session, document, concurrency, per_batch)
    if args.stop or args.redrive:
        _stop_or_redrive(session, execution)
    if args.detach and not args.stop:
        session.say(f"detached from {session.name}: repeat the command to attach")
        return EXIT_OK
    try:
        status, map_runs, totals = _watch(session, sleep)
    except KeyboardInterrupt:
        session.say(
            f"\ndetached from {session.name}: the run goes on (repeat the command to attach; --stop stops it)"
        )
        return EXIT_DETACHED
    return _report(session, status, map_runs, totals, started)


def _check(args: argparse.Namespace) -> tuple[str, str]:
    """The state machine's ARN and region, once every option is one this mode can honour."""
    arn = args.state_machine
    if not arn:
        raise ConfigError("--on stepfunctions needs --state-machine ARN (the module's state_machine_arn)")
    match = _ARN.match(arn)
    if match is None:
        raise ConfigError(f"--state-machine: not a state machine ARN: {arn!r}")
    for option, given in (("--checkpoint", args.checkpoint), ("--workers", args.workers)):
        if given is not None:
            raise ConfigError(
                f"{option} is local replay's: on Step Functions each batch keeps a checkpoint in S3"
            )
    if not all(source.startswith("s3://") for source in args.sources):
        raise ConfigError("--on stepfunctions replays S3 prefixes only (s3://bucket/prefix)")
    if args.max_concurrency is not None and not 1 <= args.max_concurrency <= MAX_CONCURRENCY:
        raise ConfigError(f"--max-concurrency must be 1 to {MAX_CONCURRENCY}")
    if args.objects_per_batch is not None and not 1 <= args.objects_per_batch <= 1000:
        raise ConfigError("--objects-per-batch must be 1 to 1000")
    if not 0 <= args.tolerated_failure_percentage <= 100:
        raise ConfigError("--tolerated-failure-percentage must be 0 to 100")
    positive = (
        ("--max-rps", args.max_rps),
        ("--max-rps-per-worker", args.max_rps_per_worker),
        ("--poll", args.poll),
    )
    for option, value in positive:
        if value is not None and not value > 0:
            raise ConfigError(f"{option} must be more than 0")
    if args.stop and args.redrive:
        raise ConfigError("--stop and --redrive: choose one")
    return str(arn), match.group(1)


def _request(args: argparse.Namespace, names: tuple[str, ...], moment: datetime) -> RunRequest:
    from forwarder.commands.replay import when  # noqa: PLC0415 - the replay command's own reading of times

    try:
        since = when(args.since, moment) if args.since else None
        until = when(args.until, moment) if args.until else None
    except argparse.ArgumentTypeError as exc:
        raise ConfigError(f"--since/--until: {exc}") from None
    if since is not None and until is not None and since > until:
        raise ConfigError("--since is after --until: no event can match")
    return RunRequest(
        tuple(args.sources), names, since, until, tuple(args.cluster), tuple(args.service),
        tuple(args.family), tuple(args.category), args.min_severity, args.timestamp, args.only_undelivered,
    )  # fmt: skip


def _prefixes(runs: Runs, module: Module, request: RunRequest, moment: datetime) -> list[str]:
    """The prefixes the run lists: each source's hour folders in the window (coarsened), or the
    whole source when there is no window or it is not laid out by hour."""
    prefixes: list[str] = []
    archive = module.archive_prefix
    for source in request.sources:
        bucket, _, prefix = source[5:].partition("/")
        if bucket != module.archive_bucket or not (
            prefix.startswith(archive) or prefix == archive.rstrip("/")
        ):
            raise ConfigError(
                f"{source} is not in the module's archive, s3://{module.archive_bucket}/{archive}: "
                "the state machine may list nothing else"
            )
        prefix = prefix if prefix.startswith(archive) else archive
        layout = runs.hour_folder(bucket, prefix) if request.since or request.until else None
        if layout is None:
            prefixes.append(prefix)
            continue
        folder, years = layout
        since = request.since or datetime(int(min(years)[:4]), 1, 1, tzinfo=UTC)
        prefixes.extend(covering_prefixes(folder, since, request.until or moment))
    return list(dict.fromkeys(prefixes))


def _dry_run(session: _Run, document: dict[str, Any], concurrency: int) -> None:
    listed = [f"s3://{session.module.archive_bucket}/{prefix}" for prefix in session.prefixes]
    if session.args.json:
        answer = {"dry_run": True, "state_machine": session.arn, "execution": session.name,
                  "max_concurrency": concurrency, "prefixes": listed, "input": document}  # fmt: skip
        session.out.write(json.dumps(answer) + "\n")
        return
    session.out.write(json.dumps(document, indent=2) + "\n")
    session.say(f"dry run: would start {session.name} on {session.arn}, {concurrency} batch(es) at once, "
                f"listing {len(listed)} prefix(es):")  # fmt: skip
    for prefix in listed:
        session.say(f"  {prefix}")


def _start_or_attach(
    session: _Run, document: dict[str, Any], concurrency: int, per_batch: int
) -> tuple[dict[str, Any], bool]:
    """The execution this request names: started now (its control document first), or found."""
    runs, args = session.runs, session.args
    execution = runs.describe(session.target)
    started = False
    if execution is None and not (args.stop or args.redrive):
        runs.write_control(session.module, session.name, concurrency)
        started = runs.start(session.arn, session.name, document)
        execution = runs.describe(session.target)
    if execution is None:
        raise ConfigError(f"no run {session.name} on {session.arn} to {'stop' if args.stop else 'redrive'}")
    if started:
        session.say(f"started {session.name} on {session.arn}: {len(session.prefixes)} prefix(es), "
                    f"{per_batch} object(s) a batch, {concurrency} batch(es) at once; "
                    f"results {session.results}")  # fmt: skip
        return execution, True
    begun = f"{execution['startDate']:%Y-%m-%d %H:%M:%S}"
    session.say(f"attached to {session.name} ({execution['status']}, started {begun})")
    if args.max_concurrency is not None and execution["status"] == "RUNNING":
        runs.write_control(session.module, session.name, args.max_concurrency)  # the prefixes still to come
        for map_run in runs.map_runs(session.target):
            if map_run["status"] == "RUNNING":
                runs.update(map_run["mapRunArn"], args.max_concurrency)
        session.say(f"{session.name}: at most {args.max_concurrency} batch(es) at once from now on")
    return execution, False


def _stop_or_redrive(session: _Run, execution: dict[str, Any]) -> None:
    status = execution["status"]
    if session.args.stop:
        if status == "RUNNING":
            session.runs.stop(session.target)
            session.say(f"stopped {session.name}")
        return
    if status in ("FAILED", "ABORTED", "TIMED_OUT"):
        session.runs.redrive(session.target)
        session.say(f"redriving {session.name}: its failed batches run again, skipping what they finished")
    else:
        session.say(f"{session.name} is {status}: nothing to redrive")


def _watch(session: _Run, sleep: Callable[[float], None]) -> tuple[str, list[dict[str, Any]], Totals]:
    """Look every ``--poll`` seconds until the execution ends; the results are read again each
    time a Map Run has ended since the last look (ResultWriter writes them when it ends)."""
    runs, line = session.runs, _Line(session.err)
    totals, ended = Totals(), -1
    while True:
        execution = runs.describe(session.target) or {"status": "UNKNOWN"}
        map_runs = runs.map_runs(session.target)
        finished = sum(1 for map_run in map_runs if map_run.get("stopDate"))
        if finished != ended:
            totals, ended = runs.totals(session.module, session.name), finished
        line.show(str(execution["status"]), map_runs, len(session.prefixes), totals)
        if execution["status"] in FINISHED:
            line.done()
            return str(execution["status"]), map_runs, totals
        sleep(session.args.poll)


class _Line:
    """One self-rewriting progress line on a terminal; silent otherwise."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.enabled = stream.isatty()

    def show(self, status: str, map_runs: list[dict[str, Any]], prefixes: int, totals: Totals) -> None:
        if not self.enabled:
            return
        batches, objects = _sum(map_runs, "executionCounts"), _sum(map_runs, "itemCounts")
        self.stream.write(
            f"\r{status} · prefix {len(map_runs)}/{prefixes} · batches {batches['succeeded']} done, "
            f"{batches['failed']} failed, {batches['running']} running, {batches['pending']} pending · "
            f"objects {objects['succeeded']}/{objects['total']} · events sent {sum(totals.sent.values())} "
        )
        self.stream.flush()

    def done(self) -> None:
        if self.enabled:
            self.stream.write("\n")


def _sum(map_runs: list[dict[str, Any]], counts: str) -> dict[str, int]:
    return {name: sum(int(run.get(counts, {}).get(name, 0)) for run in map_runs) for name in COUNTS}


def _report(session: _Run, status: str, map_runs: list[dict[str, Any]], totals: Totals, started: bool) -> int:
    failed = sum(totals.failed.values())
    bad_input = totals.corrupt_count or totals.invalid
    good = status == "SUCCEEDED" and not (failed or totals.batches_failed or bad_input)
    if session.args.json:
        seen = [{"map_run": run["mapRunArn"], "status": run["status"],
                 "batches": run.get("executionCounts", {}), "objects": run.get("itemCounts", {})}
                for run in map_runs]  # fmt: skip
        answer = {"state_machine": session.arn, "execution": session.name, "status": status,
                  "started": started, "destinations": list(session.names), "prefixes": session.prefixes,
                  "map_runs": seen, "results": session.results, **totals.to_dict()}  # fmt: skip
        session.out.write(json.dumps(answer) + "\n")
    for corrupt in totals.corrupt:
        offset = corrupt.get("offset")
        at = "" if offset is None else f" at offset {offset}"
        key = f"s3://{session.module.archive_bucket}/{corrupt.get('key')}"
        session.say(f"error: {key}{at}: unreadable: {corrupt.get('error')}")
    session.say(
        f"execution {session.name} {status} · prefixes {len(map_runs)}/{len(session.prefixes)} · "
        f"batches {totals.batches} (failed {totals.batches_failed}) · read {totals.read} · "
        f"matched {totals.matched} · duplicates skipped {totals.duplicates} · invalid {totals.invalid} · "
        f"corrupt objects {totals.corrupt_count}"
    )
    width = max(11, *(len(name) for name in session.names))
    session.say(f"{'destination':<{width}}  {'sent':>8}  {'failed':>6}")
    for name in session.names:
        session.say(f"{name:<{width}}  {totals.sent[name]:>8}  {totals.failed[name]:>6}")
    for error, count in totals.errors.items():
        session.say(f"error: {count} batch(es) failed with {error}")
    session.say(f"results: {session.results}")
    return EXIT_OK if good else EXIT_FAILED
