"""``redrive``: the on-failure queue (SQS in the emulator, over HTTP) through the handler's pipeline,
to the loopback intakes, archived in S3 (through a fault proxy where the archive must fail)."""

from __future__ import annotations

import copy
import io
import json
import logging
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from forwarder import pipeline
from forwarder.archive_layout import event_key
from forwarder.cli import main
from forwarder.errors import ConfigError, DeliveryError
from forwarder.handler import Runtime
from forwarder.queue import Message, parse_queue
from forwarder.redrive import carried
from tests.aws import MotoServer
from tests.fixtures import stopped_events
from tests.intakes import DatadogIntake, NewRelicIntake
from tests.s3_faults import INTERNAL, FaultProxy, s3_puts

DD_KEY, NR_KEY = "redrive-dd-key-0c1", "redrive-nr-key-7e2"
BUCKET = "redrive-archive"
PREFIX = "ecs-task-stop-log/"
QUEUE = "ecs-stop-forwarder-failures"
SECRET_ENV, SECRET_PASSWORD = "canaryRedriveEnv41", "canaryRedrivePassword42"
BOTH = {"datadog": "delivered", "newrelic": "delivered"}
CLEAR = ("FORWARDER_DESTINATIONS", "ARCHIVE_PREFIX", "FORWARDER_MIN_SEVERITY", "FORWARDER_EXCLUDE_CATEGORIES",
         "DD_API_KEY_SECRET_ARN", "DD_API_KEY_SSM_PARAMETER", "NEW_RELIC_LICENSE_KEY_SECRET_ARN",
         "NEW_RELIC_LICENSE_KEY_SSM_PARAMETER")  # fmt: skip


def events(count: int, seed: int) -> list[dict[str, Any]]:
    """Fixture events with fresh ids, each carrying RunTask-time secrets the archive must not keep."""
    fixtures = stopped_events()
    made = []
    for index in range(count):
        event = copy.deepcopy(fixtures[index % len(fixtures)])
        event["id"] = str(uuid.UUID(int=seed << 64 | index))
        event["detail"]["overrides"] = {"containerOverrides": [{"name": "app", "environment": [
            {"name": "MODE", "value": SECRET_ENV}]}], "password": SECRET_PASSWORD}  # fmt: skip
        made.append(event)
    return made


def on_failure_record(event: dict[str, Any]) -> dict[str, Any]:
    """What Lambda sends its on-failure destination once an asynchronous invocation's retries are spent."""
    request_id = str(uuid.uuid4())
    return {
        "version": "1.0",
        "timestamp": "2026-11-28T10:07:13.431Z",
        "requestContext": {"requestId": request_id, "condition": "RetriesExhausted", "approximateInvokeCount": 3,
                           "functionArn": "arn:aws:lambda:us-east-1:123456789012:function:ecs-stop-forwarder:$LATEST"},
        "requestPayload": event,
        "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
        "responsePayload": {"errorMessage": f"s3://{BUCKET}/{PREFIX}...: cannot write (SlowDown)",
                            "errorType": "ArchiveError", "requestId": request_id, "stackTrace": []},
    }  # fmt: skip


POISON = [
    "this is not JSON {",  # something sent to the queue by hand
    json.dumps({"version": "0", "id": "ec2-1", "detail-type": "EC2 Instance State-change Notification",
                "source": "aws.ec2", "detail": {"instance-id": "i-0abc", "state": "stopped"}}),
]


@pytest.fixture
def intakes() -> Iterator[tuple[DatadogIntake, NewRelicIntake]]:
    with DatadogIntake(valid_keys={DD_KEY}) as dd, NewRelicIntake(valid_keys={NR_KEY}) as nr:
        yield dd, nr


def setup(server: MotoServer | FaultProxy, dd: DatadogIntake, nr: NewRelicIntake,
          monkeypatch: pytest.MonkeyPatch) -> str:  # fmt: skip
    """The bucket, the queue (its URL) and the environment the CLI reads."""
    for name in CLEAR:
        monkeypatch.delenv(name, raising=False)
    for name, value in {"DD_API_KEY": DD_KEY, "DD_LOGS_URL": dd.url, "NEW_RELIC_LICENSE_KEY": NR_KEY,
                        "NEW_RELIC_LOGS_URL": nr.url, "ARCHIVE_BUCKET": BUCKET}.items():  # fmt: skip
        monkeypatch.setenv(name, value)
    server.client("s3").create_bucket(Bucket=BUCKET)
    return str(server.client("sqs").create_queue(QueueName=QUEUE)["QueueUrl"])


def enqueue(server: MotoServer, url: str, bodies: list[str]) -> None:
    sqs = server.client("sqs")
    for start in range(0, len(bodies), 10):
        entries = [{"Id": str(i), "MessageBody": b} for i, b in enumerate(bodies[start : start + 10])]
        assert not sqs.send_message_batch(QueueUrl=url, Entries=entries).get("Failed")


def in_queue(server: MotoServer, url: str) -> int:
    attributes = server.client("sqs").get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]) + int(attributes["ApproximateNumberOfMessagesNotVisible"])


def drain(server: MotoServer, url: str) -> list[str]:
    """Every body left in the queue (received, not deleted: the test's look, hidden for a minute)."""
    sqs, bodies = server.client("sqs"), []
    while answer := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=60).get("Messages"):
        bodies.extend(m["Body"] for m in answer)
    return bodies


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    return main(list(argv), out, err), out.getvalue(), err.getvalue()


def accepted_ids(intake: DatadogIntake | NewRelicIntake) -> Counter[str]:
    if isinstance(intake, DatadogIntake):
        return Counter(log["ecs_stop"]["event_id"] for log in intake.accepted)
    return Counter(log["event_id"] for log in intake.accepted)


def archive_texts(server: MotoServer) -> dict[str, str]:
    s3 = server.client("s3")
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET).get("Contents", [])]
    return {key: s3.get_object(Bucket=BUCKET, Key=key)["Body"].read().decode() for key in keys}


def document(server: MotoServer, event: dict[str, Any]) -> dict[str, Any] | None:
    moment = datetime.fromisoformat(event["time"].replace("Z", "+00:00"))
    return archive_texts_one(server, event_key(PREFIX, event["id"], moment))


def archive_texts_one(server: MotoServer, key: str) -> dict[str, Any] | None:
    s3 = server.client("s3")
    try:
        return dict(json.loads(s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()))
    except s3.exceptions.NoSuchKey:
        return None


def statuses(doc: dict[str, Any] | None) -> dict[str, str] | None:
    return None if doc is None else {name: entry["status"] for name, entry in doc["deliveries"].items()}


class Context:
    def get_remaining_time_in_millis(self) -> int:
        return 3_600  # 0.6 s of deadline


def test_redrive_delivers_each_record_once_archives_poison_as_rejected_and_empties_the_queue(
    aws: MotoServer, intakes: tuple[DatadogIntake, NewRelicIntake], monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:  # fmt: skip
    dd, nr = intakes
    url = setup(aws, dd, nr, monkeypatch)
    stops = events(50, seed=31)
    # Ten of them reached the handler, which archived them and delivered to Datadog before New Relic
    # failed for good; the other forty never got archived (the archive was down).
    runtime = Runtime.from_env({"FORWARDER_DESTINATIONS": "datadog,newrelic", "DD_API_KEY": DD_KEY,
                                "DD_LOGS_URL": dd.url, "NEW_RELIC_LICENSE_KEY": NR_KEY, "NEW_RELIC_LOGS_URL": nr.url,
                                "ARCHIVE_BUCKET": BUCKET}, client_factory=aws.client, emit=lambda line: None)  # fmt: skip
    nr.fail_all(503)
    for event in stops[:10]:
        with pytest.raises(DeliveryError):
            runtime.handle(copy.deepcopy(event), Context())
    nr.reset()
    enqueue(aws, url, [json.dumps(on_failure_record(e)) for e in stops] + POISON)
    caplog.set_level(logging.DEBUG)

    code, out, err = run("redrive", url, "--json")
    assert code == 1, err  # two messages were rejected
    summary = json.loads(out)
    assert {k: summary[k] for k in ("messages", "events", "rejected", "deleted", "kept", "stopped")} == {
        "messages": 52, "events": 50, "rejected": 2, "deleted": 52, "kept": 0, "stopped": None}  # fmt: skip
    assert summary["delivered"] == {"datadog": 40, "newrelic": 50}
    assert summary["already_delivered"] == {"datadog": 10} and summary["failed"] == {}
    ids = Counter({event["id"]: 1 for event in stops})
    assert accepted_ids(dd) == ids and accepted_ids(nr) == ids  # once each, the handler's included
    assert in_queue(aws, url) == 0
    texts = archive_texts(aws)
    rejected = [json.loads(t) for k, t in texts.items() if "/rejected/" in k]
    assert sorted(r["kind"] for r in rejected) == ["invalid-event", "not-task-event"]
    assert any("not JSON" in r["reason"] and r["input"]["body_bytes"] == len(POISON[0]) for r in rejected)
    for event in stops:
        assert statuses(document(aws, event)) == BOTH
    # What the queue held is archived redacted, as the handler archives it; nothing leaked anywhere.
    seen = "\n".join(texts.values()) + out + err + json.dumps(dd.accepted) + json.dumps(nr.accepted)
    seen += "\n".join(f"{r.name} {r.getMessage()}" for r in caplog.records)
    assert SECRET_ENV not in seen and SECRET_PASSWORD not in seen and DD_KEY not in seen and NR_KEY not in seen
    assert "[REDACTED]" in "\n".join(texts.values())

    # A second run finds nothing; by ARN too.
    requests = (len(dd.requests), len(nr.requests))
    code, out, err = run("redrive", f"arn:aws:sqs:us-east-1:123456789012:{QUEUE}", "--json")
    assert code == 0, err
    assert json.loads(out)["messages"] == 0 and (len(dd.requests), len(nr.requests)) == requests


def test_with_the_archive_failing_midway_no_message_is_deleted_whose_outcome_was_not_archived(
    s3_faults: FaultProxy, intakes: tuple[DatadogIntake, NewRelicIntake], monkeypatch: pytest.MonkeyPatch
) -> None:
    dd, nr = intakes
    aws = s3_faults.upstream
    url = setup(aws, dd, nr, monkeypatch)
    stops = events(50, seed=32)
    enqueue(aws, url, [json.dumps(on_failure_record(e)) for e in stops])
    # Batches of 10: 10 creates and 10 records each. The 36th write and every one after fail: the
    # second batch is archived and delivered, and half its outcomes are recorded.
    s3_faults.fail(s3_puts(BUCKET), INTERNAL, after=35)
    code, out, err = run("redrive", url, "--timeout", "1", "--json")
    assert code == 1 and "stopped early" in err and "InternalError" in err, err
    summary = json.loads(out)
    assert summary["deleted"] == 10 and summary["kept"] == 10 and summary["stopped"]
    left = {json.loads(body)["requestPayload"]["id"] for body in drain(aws, url)}
    assert len(left) == 40
    unrecorded = set()
    for event in stops:
        found = statuses(document(aws, event))
        if event["id"] not in left:  # deleted: only after its outcome was archived
            assert found == BOTH, (event["id"], found)
        elif found is not None and found != BOTH:
            unrecorded.add(event["id"])  # delivered, but the archive failed before it said so
    assert len(unrecorded) == 5

    # The archive is back; the claims the stopped run could not release have expired (clock moved).
    s3_faults.heal()
    later = datetime.now(UTC) + timedelta(hours=1)
    monkeypatch.setattr(pipeline, "utc_now", lambda: later)
    aws.client("sqs").purge_queue(QueueUrl=url)  # the test's look hid the messages: put them back
    enqueue(aws, url, [json.dumps(on_failure_record(e)) for e in stops if e["id"] in left])
    code, out, err = run("redrive", url, "--json")
    assert code == 0, err
    assert in_queue(aws, url) == 0
    for event in stops:
        assert statuses(document(aws, event)) == BOTH
    for intake in (dd, nr):
        counts = accepted_ids(intake)
        assert set(counts) == {e["id"] for e in stops}
        assert {i for i, n in counts.items() if n > 1} <= unrecorded  # resent only what was not recorded


def test_a_message_not_delivered_everywhere_stays_in_the_queue_for_the_next_run(
    aws: MotoServer, intakes: tuple[DatadogIntake, NewRelicIntake], monkeypatch: pytest.MonkeyPatch
) -> None:
    dd, nr = intakes
    url = setup(aws, dd, nr, monkeypatch)
    stops = events(3, seed=36)
    enqueue(aws, url, [json.dumps(on_failure_record(e)) for e in stops])
    nr.valid_keys = {"someone-else"}  # New Relic refuses the key
    code, out, err = run("redrive", url, "--json")
    assert code == 1 and "newrelic: 3 event(s) failed-permanent" in err, err
    summary = json.loads(out)
    assert (summary["deleted"], summary["kept"], summary["failed"]) == (0, 3, {"newrelic": 3})
    assert in_queue(aws, url) == 3  # and visible again at once: the next run need not wait
    assert all(statuses(document(aws, e)) == {"datadog": "delivered", "newrelic": "failed-permanent"} for e in stops)
    nr.valid_keys = {NR_KEY}  # the key was fixed
    code, out, err = run("redrive", url, "--json")
    assert code == 0, err
    assert json.loads(out)["already_delivered"] == {"datadog": 3} and in_queue(aws, url) == 0
    ids = Counter({e["id"]: 1 for e in stops})
    assert accepted_ids(dd) == ids and accepted_ids(nr) == ids


def test_dry_run_shows_each_message_and_changes_nothing(
    aws: MotoServer, intakes: tuple[DatadogIntake, NewRelicIntake], monkeypatch: pytest.MonkeyPatch
) -> None:
    dd, nr = intakes
    url = setup(aws, dd, nr, monkeypatch)
    stops = events(3, seed=33)
    enqueue(aws, url, [json.dumps(on_failure_record(stops[0])), json.dumps(stops[1]), POISON[0]])
    code, out, err = run("redrive", url, "--dry-run")
    assert code == 1, err  # a message would be rejected
    assert out.count("would send ") == 2 and f"would send {stops[1]['id']}" in out
    assert out.count("would reject ") == 1 and "not JSON" in out
    assert dd.requests == nr.requests == [] and archive_texts(aws) == {}
    assert len(drain(aws, url)) == 3  # released: visible again at once


def test_max_takes_at_most_n_messages(
    aws: MotoServer, intakes: tuple[DatadogIntake, NewRelicIntake], monkeypatch: pytest.MonkeyPatch
) -> None:
    dd, nr = intakes
    url = setup(aws, dd, nr, monkeypatch)
    enqueue(aws, url, [json.dumps(e) for e in events(12, seed=34)])  # bare events: EventBridge's dead letters
    code, out, err = run("redrive", url, "--max", "5", "--json")
    assert code == 0, err
    assert json.loads(out)["deleted"] == 5 and in_queue(aws, url) == 7 and len(dd.accepted) == 5


def test_redrive_refuses_no_archive_and_a_bad_queue_name(
    aws: MotoServer, intakes: tuple[DatadogIntake, NewRelicIntake], monkeypatch: pytest.MonkeyPatch
) -> None:
    dd, nr = intakes
    url = setup(aws, dd, nr, monkeypatch)
    code, _, err = run("redrive", url, "--archive", "none")
    assert code == 2 and "outcome is archived" in err
    code, _, err = run("redrive", "my-queue")
    assert code == 2 and "not an SQS queue URL or ARN" in err
    code, _, err = run("redrive", url.replace(QUEUE, "no-such-queue"))
    assert code == 1 and "cannot receive from the queue" in err


def test_parse_queue() -> None:
    by_url = parse_queue("https://sqs.eu-west-1.amazonaws.com/111122223333/ecs-stop-forwarder-failures")
    assert by_url.region == "eu-west-1" and by_url.url is not None
    assert parse_queue("https://eu-west-2.queue.amazonaws.com/111122223333/q").region == "eu-west-2"
    by_arn = parse_queue("arn:aws:sqs:ap-northeast-1:111122223333:q.fifo")
    assert (by_arn.region, by_arn.account, by_arn.name, by_arn.url) == ("ap-northeast-1", "111122223333", "q.fifo",
                                                                        None)  # fmt: skip
    assert parse_queue("http://127.0.0.1:5000/123456789012/q").region is None
    with pytest.raises(ConfigError):
        parse_queue("arn:aws:sns:eu-west-1:111122223333:topic")


def test_carried() -> None:
    event = events(1, seed=35)[0]
    assert carried(Message("1", body=json.dumps(on_failure_record(event)))) == (event, None)
    assert carried(Message("2", body=json.dumps(event))) == (event, None)
    record = on_failure_record(event)
    del record["requestPayload"]
    kept, error = carried(Message("3", body=json.dumps(record)))
    assert kept == record and error is not None and "requestPayload" in str(error)
    kept, error = carried(Message("4", body="{not json"))
    assert error is not None and kept["body_bytes"] == 9 and "body" not in kept
