"""``replay --on stepfunctions``: start, attach, watch, update, stop and redrive against botocore's
Stubber (the real Step Functions API shapes: every call's parameters and every answer are
checked against the service model), with the archive, the control document and the Map Runs'
results in the local AWS emulator's S3. The results are what the worker really returns."""

from __future__ import annotations

import io
import json
import os
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from botocore.stub import ANY, Stubber

from forwarder.cli import build_parser, main
from forwarder.commands import replay_at_scale
from forwarder.errors import BatchError, ConfigError, VendorThrottled
from forwarder.replay_worker import Worker
from forwarder.scale.definition import render
from forwarder.scale.request import (
    DEFAULT_CONCURRENCY,
    MAX_OBJECTS_PER_BATCH,
    RunRequest,
    covering_prefixes,
    max_concurrency,
    objects_per_batch,
)
from tests.aws import MotoServer
from tests.intakes import DatadogIntake
from tests.scale_archive import BUCKET, PREFIX, batch_input, items, put_archive

ARN = "arn:aws:states:us-east-1:111122223333:stateMachine:ecs-stop-forwarder-replay"
RESULTS = "ecs-stop-forwarder-replay/"
NOW = datetime(2026, 12, 1, 9, 30, 12, tzinfo=UTC)
STARTED = datetime(2026, 12, 1, 9, 30, 20, tzinfo=UTC)
SOURCE = f"s3://{BUCKET}/{PREFIX}"


def definition(schema_of: str | None = None) -> str:
    values = {"worker_function_arn": "arn:aws:lambda:us-east-1:111122223333:function:ecs-stop-forwarder-replay",
              "archive_bucket": BUCKET, "archive_prefix": PREFIX, "results_bucket": BUCKET, "results_prefix": RESULTS}  # fmt: skip
    rendered = render(values)
    if schema_of is not None:
        rendered["States"]["Configure"]["Result"]["schema"] = schema_of
    return json.dumps(rendered)


class JsonOf:
    """An expected parameter that is a JSON document passing ``check``."""

    def __init__(self, check: Callable[[Any], bool]) -> None:
        self.check = check

    def __eq__(self, other: object) -> bool:
        return isinstance(other, str) and self.check(json.loads(other))

    def __hash__(self) -> int:  # pragma: no cover - never hashed
        return 0


class Stepfunctions:
    """A Step Functions client stubbed with its real API shapes, and the emulator's S3."""

    def __init__(self, aws: MotoServer) -> None:
        self.client = boto3.client("stepfunctions", region_name="us-east-1", aws_access_key_id="testing",
                                   aws_secret_access_key="testing")  # fmt: skip
        self.stub = Stubber(self.client)
        self.s3 = aws.client("s3")
        self.regions: list[str | None] = []

    def clients(self, service: str, *, region: str | None = None, retries: bool = True) -> Any:
        self.regions.append(region)
        return self.client if service == "stepfunctions" else self.s3

    def machine(self, schema_of: str | None = None) -> None:
        self.stub.add_response("describe_state_machine", {
            "stateMachineArn": ARN, "name": "ecs-stop-forwarder-replay", "definition": definition(schema_of),
            "roleArn": "arn:aws:iam::111122223333:role/ecs-stop-forwarder-replay-states", "type": "STANDARD",
            "creationDate": STARTED}, {"stateMachineArn": ARN})  # fmt: skip

    def execution(self, name: str, status: str | None) -> None:
        arn = execution_arn(name)
        if status is None:
            self.stub.add_client_error("describe_execution", "ExecutionDoesNotExist", "no such execution", 400,
                                       expected_params={"executionArn": arn})  # fmt: skip
            return
        self.stub.add_response("describe_execution", {"executionArn": arn, "stateMachineArn": ARN, "status": status,
                                                      "startDate": STARTED}, {"executionArn": arn})  # fmt: skip

    def map_runs(self, name: str, *runs: tuple[str, str, dict[str, int], dict[str, int]]) -> None:
        arn = execution_arn(name)
        listed = [{"executionArn": arn, "mapRunArn": run[0], "stateMachineArn": ARN, "startDate": STARTED} for run in runs]
        self.stub.add_response("list_map_runs", {"mapRuns": listed}, {"executionArn": arn})
        for map_run, status, batches, objects in runs:
            answer = {"mapRunArn": map_run, "executionArn": arn, "status": status, "startDate": STARTED,
                      "maxConcurrency": 10, "toleratedFailurePercentage": 5.0, "toleratedFailureCount": 0,
                      "itemCounts": counts(**objects), "executionCounts": counts(**batches)}  # fmt: skip
            if status != "RUNNING":
                answer["stopDate"] = STARTED
            self.stub.add_response("describe_map_run", answer, {"mapRunArn": map_run})


def counts(**given: int) -> dict[str, int]:
    names = ("pending", "running", "succeeded", "failed", "timedOut", "aborted", "total", "resultsWritten")
    return {name: given.get(name, 0) for name in names}


def execution_arn(name: str) -> str:
    return ARN.replace(":stateMachine:", ":execution:") + ":" + name


MAP_RUN = "arn:aws:states:us-east-1:111122223333:mapRun:ecs-stop-forwarder-replay/ReplayBatches:5e0b5a2c-1111-2222-3333-444455556666"


@pytest.fixture
def sfn(aws: MotoServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[Stepfunctions]:
    for name in ("DD_API_KEY", "NEW_RELIC_LICENSE_KEY", "FORWARDER_DESTINATIONS"):
        monkeypatch.delenv(name, raising=False)
    stubbed = Stepfunctions(aws)
    with stubbed.stub:
        yield stubbed
    stubbed.stub.assert_no_pending_responses()


def replay(sfn: Stepfunctions, *argv: str, sleep: Callable[[float], None] = lambda s: None) -> tuple[int, str, str]:
    args = build_parser().parse_args(["replay", SOURCE, "--on", "stepfunctions", "--state-machine", ARN,
                                      "--to", "datadog", *argv])  # fmt: skip
    out, err = io.StringIO(), io.StringIO()
    code = replay_at_scale.run(args, out, err, clients=sfn.clients, sleep=sleep, now=lambda: NOW)
    return code, out.getvalue(), err.getvalue()


def name_of(*filters: str) -> str:
    """The run's name as the CLI derives it (the window given as absolute times)."""
    args = build_parser().parse_args(["replay", SOURCE, "--to", "datadog", *filters])
    since = datetime.fromisoformat(args.since.replace("Z", "+00:00")) if args.since else None
    until = datetime.fromisoformat(args.until.replace("Z", "+00:00")) if args.until else None
    return RunRequest((SOURCE,), ("datadog",), since, until, tuple(args.cluster), tuple(args.service), tuple(args.family),
                      tuple(args.category), args.min_severity, args.timestamp).run_id()  # fmt: skip


WINDOW = ("--since", "2026-11-28T00:00:00Z", "--until", "2026-11-28T05:59:59Z")


def write_results(s3: Any, name: str, outcomes: list[dict[str, Any] | BatchError]) -> None:
    """A Map Run's results as ResultWriter writes them: a manifest, and the child executions that
    succeeded (the worker's answer as their output) and failed (its error as their cause)."""
    folder = f"{RESULTS}{name}/results/5e0b5a2c-1111-2222-3333-444455556666/"
    succeeded, failed = [], []
    for number, outcome in enumerate(outcomes):
        execution = {"ExecutionArn": f"arn:aws:states:us-east-1:111122223333:express:ecs-stop-forwarder-replay/ReplayBatches:{number}",
                     "Input": "{}", "InputDetails": {"Included": True}, "Name": str(number), "RedriveCount": 0,
                     "StartDate": "2026-12-01T09:31:00.000Z", "StopDate": "2026-12-01T09:31:02.000Z",
                     "StateMachineArn": f"{ARN}/ReplayBatches"}  # fmt: skip
        if isinstance(outcome, BatchError):
            cause = {"errorMessage": str(outcome), "errorType": type(outcome).__name__, "stackTrace": ["..."]}
            failed.append({**execution, "Status": "FAILED", "Error": type(outcome).__name__, "Cause": json.dumps(cause)})
        else:
            succeeded.append({**execution, "Status": "SUCCEEDED", "Output": json.dumps(outcome),
                              "OutputDetails": {"Included": True}})  # fmt: skip
    files: dict[str, list[dict[str, Any]]] = {"FAILED": [], "PENDING": [], "SUCCEEDED": []}
    for status, entries in (("SUCCEEDED", succeeded), ("FAILED", failed)):
        if entries:
            key = f"{folder}{status}_0.json"
            s3.put_object(Bucket=BUCKET, Key=key, Body=json.dumps(entries).encode())
            files[status].append({"Key": key, "Size": len(json.dumps(entries))})
    manifest = {"DestinationBucket": BUCKET, "MapRunArn": MAP_RUN, "ResultFiles": files}
    s3.put_object(Bucket=BUCKET, Key=f"{folder}manifest.json", Body=json.dumps(manifest).encode())


@pytest.fixture
def worked(aws: MotoServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[list[dict[str, Any]], int]]:
    """An archive in the emulator, and what the worker really answers for two batches of it."""
    s3 = aws.client("s3")
    written = put_archive(s3, documents=60, firehose_objects=6, per_object=10)
    listed = items(s3)
    with DatadogIntake(valid_keys={"k"}) as dd:
        monkeypatch.setenv("DD_API_KEY", "k")
        monkeypatch.setenv("DD_LOGS_URL", dd.url)

        class Context:
            def get_remaining_time_in_millis(self) -> int:
                return 60_000

        worker = Worker.from_env(os.environ)
        answers = [worker.handle({"Items": part, "BatchInput": batch_input(["datadog"])}, Context())
                   for part in (listed[:40], listed[40:])]  # fmt: skip
        monkeypatch.delenv("DD_API_KEY")
    yield answers, len(written.ids)


def test_a_run_is_started_watched_and_reported_from_its_results(sfn: Stepfunctions, worked: Any) -> None:
    answers, events = worked
    name = name_of(*WINDOW)
    sfn.machine()
    sfn.execution(name, None)  # no such run yet

    def started_right(document: Any) -> bool:
        return (document["run_id"] == name and document["prefixes"] == [
                    f"{PREFIX}2026/11/27/23/", f"{PREFIX}2026/11/28/00/", f"{PREFIX}2026/11/28/01/",
                    f"{PREFIX}2026/11/28/02/", f"{PREFIX}2026/11/28/03/", f"{PREFIX}2026/11/28/04/",
                    f"{PREFIX}2026/11/28/05/", f"{PREFIX}2026/11/28/06/"]
                and document["objects_per_batch"] == MAX_OBJECTS_PER_BATCH
                and document["request"]["since"] == "2026-11-28T00:00:00Z"
                and set(document["request"]) == set(batch_input(["datadog"])) - {"bucket", "run_id", "results_prefix"})  # fmt: skip

    sfn.stub.add_response("start_execution", {"executionArn": execution_arn(name), "startDate": STARTED},
                          {"stateMachineArn": ARN, "name": name, "input": JsonOf(started_right)})  # fmt: skip
    sfn.execution(name, "RUNNING")
    sfn.execution(name, "RUNNING")  # the first look
    sfn.map_runs(name, (MAP_RUN, "RUNNING", {"running": 1, "pending": 1, "total": 2}, {"running": 40, "total": 97}))
    sfn.execution(name, "SUCCEEDED")  # the second
    sfn.map_runs(name, (MAP_RUN, "SUCCEEDED", {"succeeded": 2, "total": 2}, {"succeeded": 97, "total": 97}))
    sleeps: list[float] = []
    write_results(sfn.s3, name, answers)
    code, out, err = replay(sfn, *WINDOW, "--json", sleep=sleeps.append)
    assert code == 1, err  # the corrupt object: as local replay, exit 1
    report = json.loads(out)
    assert report["status"] == "SUCCEEDED" and report["started"] is True and report["execution"] == name
    assert report["sent"] == {"datadog": events} and report["batches"] == 2 and report["batches_failed"] == 0
    assert report["corrupt_count"] == 1 and "stops-1-corrupt.gz at offset" in err
    assert sleeps == [5.0] and sfn.regions == ["us-east-1", "us-east-1"]
    control = json.loads(sfn.s3.get_object(Bucket=BUCKET, Key=f"{RESULTS}{name}/control.json")["Body"].read())
    assert control == {"max_concurrency": DEFAULT_CONCURRENCY}  # written before the execution starts


def test_the_same_request_attaches_and_max_concurrency_changes_the_running_map_run(sfn: Stepfunctions, aws: MotoServer) -> None:
    put_archive(aws.client("s3"), documents=5, firehose_objects=0, per_object=0, corrupt=False)
    name = name_of(*WINDOW)
    sfn.machine()
    sfn.execution(name, "RUNNING")  # started before, by this request: attach
    sfn.map_runs(name, (MAP_RUN, "RUNNING", {"running": 10, "total": 300}, {"total": 90_000}))
    sfn.stub.add_response("update_map_run", {}, {"mapRunArn": MAP_RUN, "maxConcurrency": 40})
    code, _, err = replay(sfn, *WINDOW, "--max-concurrency", "40", "--detach")
    assert code == 0 and f"attached to {name} (RUNNING" in err and "at most 40 batch(es) at once" in err
    control = json.loads(sfn.s3.get_object(Bucket=BUCKET, Key=f"{RESULTS}{name}/control.json")["Body"].read())
    assert control == {"max_concurrency": 40}  # and the prefixes still to come start with it


def test_ctrl_c_detaches_and_the_run_goes_on(sfn: Stepfunctions, aws: MotoServer) -> None:
    put_archive(aws.client("s3"), documents=5, firehose_objects=0, per_object=0, corrupt=False)
    name = name_of(*WINDOW)
    sfn.machine()
    sfn.execution(name, "RUNNING")
    sfn.execution(name, "RUNNING")
    sfn.map_runs(name, (MAP_RUN, "RUNNING", {"running": 2, "total": 2}, {"total": 5}))

    def interrupt(seconds: float) -> None:
        raise KeyboardInterrupt

    code, _, err = replay(sfn, *WINDOW, sleep=interrupt)
    assert code == replay_at_scale.EXIT_DETACHED and "the run goes on" in err  # no StopExecution was stubbed


def test_stop_stops_the_run_the_request_names(sfn: Stepfunctions, aws: MotoServer) -> None:
    put_archive(aws.client("s3"), documents=5, firehose_objects=0, per_object=0, corrupt=False)
    name = name_of(*WINDOW)
    sfn.machine()
    sfn.execution(name, "RUNNING")
    sfn.stub.add_response("stop_execution", {"stopDate": STARTED},
                          {"executionArn": execution_arn(name), "error": "Stopped", "cause": ANY})  # fmt: skip
    sfn.execution(name, "ABORTED")
    sfn.map_runs(name, (MAP_RUN, "ABORTED", {"succeeded": 1, "aborted": 1, "total": 2}, {"succeeded": 3, "total": 5}))
    code, _, err = replay(sfn, *WINDOW, "--stop")
    assert code == 1 and f"stopped {name}" in err and f"execution {name} ABORTED" in err


def test_a_failed_run_is_redriven_and_failed_batches_are_counted_from_their_cause(
    sfn: Stepfunctions, worked: Any
) -> None:
    answers, _ = worked
    name = name_of()
    sfn.machine()
    sfn.execution(name, "FAILED")
    sfn.stub.add_response("redrive_execution", {"redriveDate": STARTED}, {"executionArn": execution_arn(name)})
    sfn.execution(name, "FAILED")  # the redrive failed again, as the results show
    sfn.map_runs(name, (MAP_RUN, "FAILED", {"succeeded": 1, "failed": 1, "total": 2}, {"succeeded": 40, "failed": 57, "total": 97}))
    throttled = VendorThrottled("12 record(s) still throttled (429) at the deadline", {**answers[1], "failed": {"datadog": 12}})
    write_results(sfn.s3, name, [answers[0], throttled])
    code, out, err = replay(sfn, "--redrive", "--json")
    report = json.loads(out)
    assert code == 1 and "redriving" in err and "1 batch(es) failed with VendorThrottled" in err
    assert report["batches"] == 2 and report["batches_failed"] == 1 and report["batch_errors"] == {"VendorThrottled": 1}
    assert report["failed"] == {"datadog": 12}
    assert report["sent"] == {"datadog": answers[0]["sent"]["datadog"] + answers[1]["sent"]["datadog"]}


def test_dry_run_prints_the_input_and_the_prefixes_and_starts_nothing(sfn: Stepfunctions, aws: MotoServer) -> None:
    put_archive(aws.client("s3"), documents=5, firehose_objects=0, per_object=0, corrupt=False)
    sfn.machine()
    code, out, err = replay(sfn, "--since", "2026-11-01", "--until", "2026-11-30T23:00:00", "--dry-run",
                            "--max-rps", "50", "--max-rps-per-worker", "2")  # fmt: skip
    document = json.loads(out)
    assert code == 0 and document["run_id"] == name_of("--since", "2026-11-01", "--until", "2026-11-30T23:00:00")
    assert document["prefixes"] == [f"{PREFIX}2026/10/31/23/", f"{PREFIX}2026/11/", f"{PREFIX}2026/12/01/00/"]
    assert "25 batch(es) at once" in err and f"  s3://{BUCKET}/{PREFIX}2026/11/" in err
    assert document["request"]["max_rps"] == 2.0


def test_the_run_is_named_by_what_is_replayed() -> None:
    assert name_of(*WINDOW) == name_of(*WINDOW) and name_of(*WINDOW).startswith("replay-")
    assert name_of(*WINDOW) != name_of(*WINDOW, "--category", "out-of-memory")
    assert name_of(*WINDOW) != name_of("--since", "2026-11-28T00:00:01Z", "--until", "2026-11-28T05:59:59Z")


@pytest.mark.parametrize(
    ("argv", "said"),
    [
        (["--state-machine", "arn:aws:states:us-east-1:111122223333:execution:x:y"], "not a state machine ARN"),
        (["--checkpoint", "done.txt"], "--checkpoint is local replay's"),
        (["--max-concurrency", "0"], "--max-concurrency must be 1 to 10000"),
        (["--tolerated-failure-percentage", "101"], "--tolerated-failure-percentage must be 0 to 100"),
    ],
)
def test_options_this_mode_cannot_honour_are_usage_errors(argv: list[str], said: str, capsys: Any) -> None:
    code = main(["replay", SOURCE, "--on", "stepfunctions", "--state-machine", ARN, "--to", "datadog", *argv])
    assert code == 2 and said in capsys.readouterr().err


def test_without_a_state_machine_it_says_which_output_to_use(capsys: Any) -> None:
    assert main(["replay", SOURCE, "--on", "stepfunctions", "--to", "datadog"]) == 2
    assert "needs --state-machine ARN (the module's state_machine_arn)" in capsys.readouterr().err


def test_a_source_outside_the_modules_archive_is_refused(sfn: Stepfunctions) -> None:
    sfn.machine()
    args = build_parser().parse_args(["replay", "s3://another-bucket/logs/", "--on", "stepfunctions",
                                      "--state-machine", ARN, "--to", "datadog"])  # fmt: skip
    with pytest.raises(ConfigError, match=r"not in the module's archive, s3://scale-archive/ecs-task-stop-log/"):
        replay_at_scale.run(args, io.StringIO(), io.StringIO(), clients=sfn.clients, now=lambda: NOW)


def test_a_state_machine_of_another_version_is_refused(sfn: Stepfunctions) -> None:
    sfn.machine(schema_of="ecs-stop-forwarder/replay-at-scale/v0")
    with pytest.raises(ConfigError, match=r"runs 'ecs-stop-forwarder/replay-at-scale/v0'; this CLI starts .*v1"):
        replay(sfn)


def test_prefixes_cover_the_window_with_whole_units_where_they_can() -> None:
    since, until = datetime(2024, 1, 1, 5, 30, tzinfo=UTC), datetime(2026, 11, 28, 13, 10, tzinfo=UTC)
    prefixes = covering_prefixes("p/", since, until)
    assert prefixes[0] == "p/2024/01/01/04/" and "p/2024/02/" in prefixes and "p/2025/" in prefixes
    assert prefixes[-1] == "p/2026/11/28/14/" and len(prefixes) == len(set(prefixes)) == 114
    hours = {f"p/{moment:%Y/%m/%d/%H}/" for moment in _hours(datetime(2024, 1, 1, 4, tzinfo=UTC), datetime(2026, 11, 28, 14, tzinfo=UTC))}
    assert all(any(hour.startswith(prefix) for prefix in prefixes) for hour in hours)  # every hour, once
    assert sum(hour.startswith(prefix) for hour in hours for prefix in prefixes) == len(hours)


def _hours(first: datetime, last: datetime) -> Iterator[datetime]:
    from datetime import timedelta

    while first <= last:
        yield first
        first += timedelta(hours=1)


def test_the_concurrency_cap_follows_the_vendor_budget() -> None:
    assert max_concurrency(None, 2.0, None) == DEFAULT_CONCURRENCY
    assert max_concurrency(100.0, 2.0, None) == 50  # 100 requests/s at 2 a worker
    assert max_concurrency(100.0, 2.0, 20) == 20 and max_concurrency(100.0, 2.0, 80) == 50
    assert max_concurrency(1.0, 2.0, None) == 1
    assert objects_per_batch([3_000] * 100) == MAX_OBJECTS_PER_BATCH and objects_per_batch([1_000_000] * 3) == 16
