"""The replay worker (``forwarder.replay_worker``) against the local AWS emulator's S3 and the
loopback vendor intakes: a Distributed Map batch of both archive formats and a corrupt object,
vendors that throttle, fail and answer slowly, a crash midway and the redrive after it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections import Counter
from functools import partial
from pathlib import Path
from typing import Any

import pytest

from forwarder.archive import LocalArchive
from forwarder.destinations.base import DELIVERED, Outcome
from forwarder.errors import BatchError, BatchMisconfigured, BatchRejected, BatchUnfinished, VendorThrottled
from forwarder.payloads import DatadogEncoder
from forwarder.replay.selection import Selection
from forwarder.replay.sources import SourceObject
from forwarder.replay_worker import Worker, _raise_for
from forwarder.scale.batch import BatchPlan, replay_batch
from forwarder.scale.checkpoint import Checkpoint, Finished
from tests.aws import MotoServer
from tests.intakes import DatadogIntake, Drop, NewRelicIntake, Respond, Slow
from tests.scale_archive import BUCKET, Written, batch_input, document, events, items, put_archive

ROOT = Path(__file__).resolve().parent.parent
DD_KEY, NR_KEY = "scale-dd-key", "scale-nr-key"


class Context:
    def __init__(self, seconds: float) -> None:
        self.ends = time.monotonic() + seconds

    def get_remaining_time_in_millis(self) -> int:
        return int((self.ends - time.monotonic()) * 1000)


@pytest.fixture
def vendors(aws: MotoServer, monkeypatch: pytest.MonkeyPatch) -> Any:
    """Both intakes, the Datadog key in Secrets Manager and the New Relic key in SSM, as the
    module configures the worker."""
    arn = aws.client("secretsmanager").create_secret(Name="dd", SecretString=json.dumps({"api_key": DD_KEY}))["ARN"]
    aws.client("ssm").put_parameter(Name="/nr/key", Value=NR_KEY, Type="SecureString")
    with DatadogIntake(valid_keys={DD_KEY}) as dd, NewRelicIntake(valid_keys={NR_KEY}) as nr:
        env = {"DD_API_KEY_SECRET_ARN": arn, "DD_LOGS_URL": dd.url,
               "NEW_RELIC_LICENSE_KEY_SSM_PARAMETER": "/nr/key", "NEW_RELIC_LOGS_URL": nr.url}  # fmt: skip
        for name in ("DD_API_KEY", "NEW_RELIC_LICENSE_KEY", "FORWARDER_DESTINATIONS"):
            monkeypatch.delenv(name, raising=False)
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        yield dd, nr, env


def worker(lines: list[str] | None = None) -> Worker:
    """A worker as a new Lambda container builds it (``lines``: where its log lines go)."""
    built = Worker.from_env(os.environ)
    if lines is not None:
        built.emit = lines.append
    return built


def ids(intake: Any) -> Counter[str]:
    return intake.accepted_count_by(lambda log: log["ecs_stop"]["event_id"] if "ecs_stop" in log else log["event_id"])


def test_a_batch_of_500_objects_of_both_formats_delivers_every_event_once(aws: MotoServer, vendors: Any) -> None:
    dd, nr, _ = vendors
    s3 = aws.client("s3")
    written = put_archive(s3, documents=400, firehose_objects=99, per_object=20)
    batch = items(s3)
    assert len(batch) == 500
    lines: list[str] = []
    started = time.monotonic()
    result = worker(lines).handle({"Items": batch, "BatchInput": batch_input(["datadog", "newrelic"])}, Context(60))
    took = time.monotonic() - started
    total = len(written.ids)
    print(f"\n500-object batch: {total} events to 2 destinations in {took:.2f} s")
    assert ids(dd) == Counter({event_id: 1 for event_id in written.ids})
    assert ids(nr) == Counter({event_id: 1 for event_id in written.ids})
    assert result["sent"] == {"datadog": total, "newrelic": total} and result["failed"] == {}
    assert (result["objects"], result["read"], result["matched"]) == (500, total, total)
    assert result["corrupt_count"] == 1
    [corrupt] = result["corrupt"]
    assert corrupt["key"] == written.corrupt_key and isinstance(corrupt["offset"], int) and corrupt["offset"] > 0
    assert result["objects_skipped_by_checkpoint"] == 0
    assert json.loads(lines[-1])["sent"] == result["sent"]  # one log line with the counts, no key
    assert DD_KEY not in "".join(lines) and NR_KEY not in "".join(lines)
    # Every object but the corrupt one is finished in the run's checkpoint; a rerun sends nothing.
    again = worker().handle({"Items": batch, "BatchInput": batch_input(["datadog", "newrelic"])}, Context(60))
    assert again["objects_skipped_by_checkpoint"] == 499
    assert ids(dd) == Counter({**{i: 1 for i in written.ids}, **{i: 2 for i in written.ids_by_key[written.corrupt_key]}})
    assert again["sent"] == result["sent"]  # the batch's whole count, whichever attempt sent it


def test_a_redrive_after_a_crash_midway_does_not_resend_what_was_finished(aws: MotoServer, vendors: Any) -> None:
    """The worker process is killed while its third request is held by the vendor; the same batch
    run again (as a redrive runs a failed child) skips what the checkpoint says was finished."""
    dd, _, env = vendors
    s3 = aws.client("s3")
    written = put_archive(s3, documents=400, firehose_objects=99, per_object=20)
    batch = items(s3)
    event = {"Items": batch, "BatchInput": batch_input(["datadog"], run_id="crash-run")}
    finished_by_two = _finished_within(written, 2000)  # objects whose every record is in requests 1 and 2
    dd.script(Slow(0), Slow(0), Slow(60, then=Drop()))
    child = subprocess.Popen(
        [sys.executable, "-c", _CHILD], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        env={**os.environ, **aws.environ(), **env, "PYTHONPATH": str(ROOT)}, text=True,
    )  # fmt: skip
    assert child.stdin is not None
    child.stdin.write(json.dumps(event))
    child.stdin.close()
    key = f"replay-results/crash-run/checkpoints/{_batch_id(batch)}.json"
    try:
        deadline = time.monotonic() + 60
        while set(_checkpoint(s3, key)) != finished_by_two:  # written before request 3 was sent
            assert time.monotonic() < deadline, f"checkpoint never reached the two requests: {child.stderr}"
            assert child.poll() is None, child.stderr.read() if child.stderr else ""
            time.sleep(0.05)
    finally:
        child.kill()
        child.wait()
    assert len(dd.requests) == 2 and len(dd.accepted) == 2000
    dd.reset()
    result = worker().handle(event, Context(60))
    assert result["objects_skipped_by_checkpoint"] == len(finished_by_two)
    resent = ids(dd)
    finished_ids = {i for name in finished_by_two for i in written.ids_by_key[name.removeprefix(f"s3://{BUCKET}/")]}
    assert not finished_ids & set(resent)  # nothing finished is sent again
    assert set(resent) | finished_ids == set(written.ids)  # and everything else is
    assert result["sent"] == {"datadog": len(written.ids)}  # the whole batch's count, carried over


_CHILD = """
import json, sys, time
from forwarder.replay_worker import Worker
import os
class Context:
    def get_remaining_time_in_millis(self):
        return 120_000
Worker.from_env(os.environ).handle(json.load(sys.stdin), Context())
"""


def _finished_within(written: Written, records: int) -> set[str]:
    done, count = set(), 0
    for key in sorted(written.ids_by_key):
        count += len(written.ids_by_key[key])
        if count <= records and key != written.corrupt_key:
            done.add(f"s3://{BUCKET}/{key}")
    return done


def _batch_id(batch: list[dict[str, Any]]) -> str:
    from forwarder.scale.checkpoint import batch_id

    return batch_id(batch)


def _checkpoint(s3: Any, key: str) -> dict[str, Any]:
    try:
        body = s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()
    except s3.exceptions.NoSuchKey:
        return {}
    finished: dict[str, Any] = json.loads(body)["finished"]
    return finished


def test_a_429_that_outlasts_the_deadline_is_vendor_throttled_and_a_retry_goes_on(
    aws: MotoServer, vendors: Any
) -> None:
    dd, _, _ = vendors
    s3 = aws.client("s3")
    written = put_archive(s3, documents=30, firehose_objects=2, per_object=10, corrupt=False)
    event = {"Items": items(s3), "BatchInput": batch_input(["datadog"])}
    dd.fail_all(429, {"Retry-After": "1"})
    with pytest.raises(VendorThrottled) as raised:
        worker().handle(event, Context(6.5))  # 3.5 s of retries before the safety margin
    assert type(raised.value).__name__ == "VendorThrottled"  # the name the state machine retries
    cause = json.loads(str(raised.value))
    assert cause["result"]["failed"] == {"datadog": 50} and cause["result"]["sent"] == {}
    assert len(dd.requests) >= 2 and dd.accepted == []
    dd.reset()  # the vendor lets up; Step Functions' retry invokes the worker again
    result = worker().handle(event, Context(60))
    assert ids(dd) == Counter({event_id: 1 for event_id in written.ids})
    assert result["sent"] == {"datadog": 50}


def test_503s_and_a_slow_vendor_are_ridden_out(aws: MotoServer, vendors: Any) -> None:
    dd, nr, _ = vendors
    s3 = aws.client("s3")
    written = put_archive(s3, documents=1500, firehose_objects=0, per_object=0, corrupt=False)
    dd.script(Respond(503), Slow(1.0), Respond(503))
    nr.script(Slow(1.0), Respond(503))
    result = worker().handle({"Items": items(s3), "BatchInput": batch_input(["datadog", "newrelic"])}, Context(60))
    assert ids(dd) == ids(nr) == Counter({event_id: 1 for event_id in written.ids})
    assert result["sent"] == {"datadog": 1500, "newrelic": 1500}
    assert [r.status for r in dd.requests][:3] == [503, 202, 503]


def test_a_permanent_failure_is_rejected_and_not_worth_a_retry(aws: MotoServer, vendors: Any) -> None:
    dd, _, _ = vendors
    s3 = aws.client("s3")
    put_archive(s3, documents=20, firehose_objects=0, per_object=0, corrupt=False)
    dd.valid_keys = {"another-key"}  # the secret holds a key Datadog refuses: 403
    with pytest.raises(BatchRejected) as raised:
        worker().handle({"Items": items(s3), "BatchInput": batch_input(["datadog"])}, Context(60))
    assert len(dd.requests) == 1  # 403 is not retried by the worker either
    assert json.loads(str(raised.value))["result"]["failed"] == {"datadog": 20}


def test_the_deadline_before_every_object_is_read_leaves_the_rest_to_a_retry(tmp_path: Path) -> None:
    """Objects are started only while the deadline is far enough; the rest are left unfinished,
    raised as ``BatchUnfinished``, and the next attempt reads them."""
    sent: list[bytes] = []
    now = [0.0]

    def clock() -> float:
        now[0] += 1.0  # each look at the clock is a second later
        return now[0]

    objects = [SourceObject(f"s3://b/{n:02d}.json", None, partial(document, event)) for n, event in enumerate(events(12))]
    checkpoint = Checkpoint(LocalArchive(tmp_path), "run/checkpoints/b.json", "run")
    plan = BatchPlan(("datadog",), Selection())
    first = replay_batch(objects, plan, {"datadog": Collect(sent)}, checkpoint, 20.0, clock=clock, stop_reading_before=10.0)
    assert 0 < first.objects_unfinished < 12 and len(sent) == 12 - first.objects_unfinished
    with pytest.raises(BatchUnfinished, match=f"{first.objects_unfinished} object"):
        _raise_for(first, first.to_dict())
    second = replay_batch(objects, plan, {"datadog": Collect(sent)}, checkpoint, now[0] + 1000, clock=clock)
    assert second.objects_unfinished == 0 and second.objects_skipped == 12 - first.objects_unfinished
    assert len(sent) == 12 and second.sent == {"datadog": 12}
    _raise_for(second, second.to_dict())  # nothing left: no error


class Collect:
    """A destination that takes everything (``send``), as the intakes' encoder would."""

    name = "datadog"

    def __init__(self, sink: list[bytes]) -> None:
        self.sink = sink

    @property
    def encoder(self) -> Any:
        return DatadogEncoder("ecs", ())

    def send(self, parts: Any, deadline: float) -> list[Outcome]:
        self.sink.extend(parts)
        return [Outcome("datadog", DELIVERED, 1)] * len(parts)

    def close(self) -> None:
        """Nothing to release."""


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"destinations": ["splunk"]}, "BatchInput.destinations"),
        ({"category": ["not-a-category"]}, "unknown categories not-a-category"),
        ({"since": "yesterday"}, "BatchInput.since must be null or ISO 8601"),
        ({"results_prefix": "s3://bucket/no-slash"}, "results_prefix must be s3://bucket/prefix/"),
        ({"timestamp": "later"}, "BatchInput.timestamp"),
    ],
)
def test_a_bad_batch_input_is_misconfigured_and_not_retried(
    aws: MotoServer, vendors: Any, change: dict[str, Any], message: str
) -> None:
    with pytest.raises(BatchMisconfigured, match=message):
        worker().handle({"Items": [{"Key": "k"}], "BatchInput": {**batch_input(["datadog"]), **change}}, Context(60))


def test_a_destination_without_a_key_is_misconfigured(aws: MotoServer, vendors: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NEW_RELIC_LICENSE_KEY_SSM_PARAMETER")
    with pytest.raises(BatchMisconfigured, match="newrelic is a destination but none of NEW_RELIC_LICENSE_KEY"):
        worker().handle({"Items": [{"Key": "k"}], "BatchInput": batch_input(["newrelic"])}, Context(60))


def test_filters_and_the_window_apply_as_in_local_replay(aws: MotoServer, vendors: Any) -> None:
    dd, _, _ = vendors
    s3 = aws.client("s3")
    put_archive(s3, documents=120, firehose_objects=4, per_object=10, corrupt=False)
    request = batch_input(["datadog"], since="2026-11-28T00:30:00Z", until="2026-11-28T01:29:59Z",
                          service=["svc-1", "svc-2"], min_severity="warning")  # fmt: skip
    result = worker().handle({"Items": items(s3), "BatchInput": request}, Context(60))
    logs = dd.accepted
    assert result["read"] == 160 and result["matched"] == len(logs) == result["sent"]["datadog"] > 0
    for log in logs:
        record = log["ecs_stop"]
        assert record["service"] in ("svc-1", "svc-2") and record["severity"] in ("warning", "error")
        assert "2026-11-28T00:30:00" <= record["time"] <= "2026-11-28T01:29:59.999"


def test_every_error_a_batch_raises_is_named_for_the_state_machine() -> None:
    from forwarder.scale.definition import NOT_RETRIED, RETRIED

    errors = {cls.__name__ for cls in BatchError.__subclasses__()}
    assert errors == set(RETRIED) | set(NOT_RETRIED) and not set(RETRIED) & set(NOT_RETRIED)


def test_two_attempts_at_once_merge_their_marks(tmp_path: Path) -> None:
    """Express child executions are at-least-once: two attempts of one batch may write its
    checkpoint at the same time; neither undoes the other's marks."""
    store = LocalArchive(tmp_path)
    first, second = Checkpoint(store, "run/checkpoints/b.json", "run"), Checkpoint(store, "run/checkpoints/b.json", "run")
    first.load(time.monotonic() + 5)
    second.load(time.monotonic() + 5)
    first.mark("s3://b/one", Finished(read=1, matched=1))
    second.mark("s3://b/two", Finished(read=2, matched=2))
    first.flush(time.monotonic() + 5)
    second.flush(time.monotonic() + 5)  # loses the create, reads, merges, replaces
    second.mark("s3://b/three", Finished(read=3))
    second.flush(time.monotonic() + 5)
    third = Checkpoint(store, "run/checkpoints/b.json", "run")
    third.load(time.monotonic() + 5)
    assert sorted(third.finished) == ["s3://b/one", "s3://b/three", "s3://b/two"]
    assert third.finished["s3://b/two"].read == 2
