"""The Lambda handler end to end: moto S3 (real HTTP) + loopback vendor intakes."""

from __future__ import annotations

import copy
import json
import time
from typing import Any

import pytest

from forwarder import handler
from forwarder.archive import S3Archive
from forwarder.config import Settings
from forwarder.errors import ArchiveError, ConfigError, DeliveryError
from forwarder.handler import Runtime
from forwarder.secrets import KeyResolver
from forwarder.wiring import print_line
from tests.aws import MotoServer
from tests.events import make_event
from tests.fixtures import ROOT, stopped_events
from tests.intakes import DatadogIntake, NewRelicIntake, Respond

DD_KEY = "canary-handler-dd-5e1"
NR_KEY = "canary-handler-nr-9b4"
BUCKET = "stop-archive"


class Context:
    """A fake Lambda context: the handler reads only the remaining time."""

    def __init__(self, seconds: float = 30.0) -> None:
        self.seconds = seconds

    def get_remaining_time_in_millis(self) -> int:
        return int(self.seconds * 1000)


@pytest.fixture
def dd() -> Any:
    with DatadogIntake(valid_keys={DD_KEY}) as intake:
        yield intake


@pytest.fixture
def nr() -> Any:
    with NewRelicIntake(valid_keys={NR_KEY}) as intake:
        yield intake


def environ(dd: DatadogIntake, nr: NewRelicIntake, **extra: str) -> dict[str, str]:
    return {
        "FORWARDER_DESTINATIONS": "datadog,newrelic",
        "DD_API_KEY": DD_KEY,
        "DD_LOGS_URL": dd.url,
        "NEW_RELIC_LICENSE_KEY": NR_KEY,
        "NEW_RELIC_LOGS_URL": nr.url,
        "ARCHIVE_BUCKET": BUCKET,
        **extra,
    }


def runtime(aws: MotoServer, env: dict[str, str], lines: list[str]) -> Runtime:
    return Runtime.from_env(env, client_factory=aws.client, emit=lines.append)


def archived(aws: MotoServer, prefix: str = "ecs-task-stop-log/") -> dict[str, dict[str, Any]]:
    s3 = aws.client("s3")
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET, Prefix=prefix).get("Contents", [])]
    return {key: json.loads(s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()) for key in keys}


@pytest.fixture
def bucket(aws: MotoServer) -> MotoServer:
    aws.client("s3").create_bucket(Bucket=BUCKET)
    return aws


def test_every_fixture_delivered_once_and_archived_with_outcomes(
    bucket: MotoServer, dd: DatadogIntake, nr: NewRelicIntake
) -> None:
    lines: list[str] = []
    rt = runtime(bucket, environ(dd, nr), lines)
    events = stopped_events()
    for event in events:
        answer = rt.handle(event, Context())
        assert answer["deliveries"] == {"datadog": "delivered", "newrelic": "delivered"}
    for other in sorted((ROOT / "other").glob("*.json")):
        answer = rt.handle(json.loads(other.read_text()), Context())
        assert answer["rejected"] in ("not-stopped", "not-task-event")
    ids = sorted(e["id"] for e in events)
    assert sorted(log["ecs_stop"]["event_id"] for log in dd.accepted) == ids
    assert sorted(log["event_id"] for log in nr.accepted) == ids
    documents = archived(bucket)
    stops = {k: d for k, d in documents.items() if "/rejected/" not in k}
    rejected = {k: d for k, d in documents.items() if "/rejected/" in k}
    assert len(stops) == len(events) and len(rejected) == len(list((ROOT / "other").glob("*.json")))
    for key, document in stops.items():
        assert key.endswith(f"/{document['event_id']}.json")
        assert key[len("ecs-task-stop-log/") :].startswith(
            document["event_time"][:13].replace("-", "/").replace("T", "/")
        )
        assert {n: d["status"] for n, d in document["deliveries"].items()} == {
            "datadog": "delivered",
            "newrelic": "delivered",
        }
        assert document["record"]["category"] == document["category"]
    assert all(d["kind"] in ("not-stopped", "not-task-event") and d["reason"] for d in rejected.values())
    head = bucket.client("s3").head_object(Bucket=BUCKET, Key=next(iter(stops)))
    assert head["ServerSideEncryption"] == "AES256"
    logs = [json.loads(line) for line in lines]
    assert sum(1 for line in logs if line.get("level") == "INFO" and "event_id" in line) == len(events)
    assert any(
        "_aws" in line and line.get("Destination") == "datadog" and line["Delivered"] == 1 for line in logs
    )


def test_archive_is_one_line_of_json_and_redacted(
    bucket: MotoServer, dd: DatadogIntake, nr: NewRelicIntake
) -> None:
    event = json.loads((ROOT / "events" / "app-crashed--exit1-service.json").read_text())
    event["detail"]["overrides"] = {"containerOverrides": [{"name": "app", "environment": [
        {"name": "DB_PASSWORD", "value": "canary-override-1"}, {"name": "MODE", "value": "canary-plain-2"}]}]}  # fmt: skip
    lines: list[str] = []
    runtime(bucket, environ(dd, nr), lines).handle(event, Context())
    s3 = bucket.client("s3")
    [key] = [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET)["Contents"]]
    body = s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()
    assert body.count(b"\n") == 1 and body.endswith(b"\n")
    seen = body.decode() + "".join(lines) + json.dumps(dd.accepted) + json.dumps(nr.accepted)
    assert "canary-override-1" not in seen and "canary-plain-2" not in seen
    assert DD_KEY not in seen and NR_KEY not in seen
    assert "DB_PASSWORD" in body.decode()


def test_retryable_failure_raises_and_the_retry_sends_only_what_failed(
    bucket: MotoServer, dd: DatadogIntake, nr: NewRelicIntake
) -> None:
    event = stopped_events()[0]
    nr.fail_all(503, {"Retry-After": "3600"})  # still failing at the deadline, however loaded the machine
    lines: list[str] = []
    rt = runtime(bucket, environ(dd, nr), lines)
    expected = f"^event {event['id']} not yet delivered to newrelic; archived at ecs-task-stop-log/"
    with pytest.raises(DeliveryError, match=expected) as raised:
        rt.handle(event, Context())
    assert raised.value.retryable is True
    [document] = archived(bucket).values()
    assert document["deliveries"]["datadog"]["status"] == "delivered"
    assert document["deliveries"]["newrelic"]["status"] == "failed-retryable"
    assert document["deliveries"]["newrelic"]["http_status"] == 503
    assert len(dd.accepted) == 1 and nr.accepted == []
    # Lambda retries the same event after the vendor recovered.
    nr.reset()
    rt.handle(copy.deepcopy(event), Context())
    assert len(dd.accepted) == 1  # not sent twice
    assert len(nr.accepted) == 1
    [document] = archived(bucket).values()
    assert {n: d["status"] for n, d in document["deliveries"].items()} == {
        "datadog": "delivered",
        "newrelic": "delivered",
    }


def test_archive_unavailable_raises_before_any_vendor_call(
    aws: MotoServer, dd: DatadogIntake, nr: NewRelicIntake
) -> None:
    rt = runtime(aws, environ(dd, nr), [])  # the bucket was never created
    with pytest.raises(ArchiveError, match=r"s3://stop-archive/ecs-task-stop-log/.*NoSuchBucket"):
        rt.handle(stopped_events()[0], Context())
    assert dd.requests == [] and nr.requests == []


def test_permanent_failure_is_archived_logged_and_not_raised(
    bucket: MotoServer, dd: DatadogIntake, nr: NewRelicIntake
) -> None:
    dd.valid_keys = {"someone-else"}
    lines: list[str] = []
    answer = runtime(bucket, environ(dd, nr), lines).handle(stopped_events()[0], Context())
    assert answer["deliveries"] == {"datadog": "failed-permanent", "newrelic": "delivered"}
    [document] = archived(bucket).values()
    failure = document["deliveries"]["datadog"]
    assert failure["http_status"] == 403 and "rejected the API key" in failure["error"]
    errors = [json.loads(line) for line in lines if '"ERROR"' in line]
    assert len(errors) == 1 and "delivery failed to datadog" in errors[0]["message"]
    assert all(DD_KEY not in line for line in lines)
    metrics = [json.loads(line) for line in lines if "_aws" in line and "Destination" in line]
    assert {m["Destination"]: m["Failed"] for m in metrics} == {"datadog": 1, "newrelic": 0}


def test_filters_decide_vendors_but_the_archive_gets_everything(
    bucket: MotoServer, dd: DatadogIntake, nr: NewRelicIntake
) -> None:
    env = environ(dd, nr, FORWARDER_MIN_SEVERITY="error", FORWARDER_EXCLUDE_CATEGORIES="out-of-memory")
    rt = runtime(bucket, env, [])
    events = {p.stem: json.loads(p.read_text()) for p in (ROOT / "events").glob("*.json")}
    rt.handle(events["user-stopped--stoptask-exit137"], Context())  # info
    rt.handle(events["out-of-memory--java-heap-ec2-scheduled"], Context())  # excluded
    rt.handle(events["seed-arm64-on-x86-scheduled"], Context())  # error: sent
    assert len(dd.accepted) == len(nr.accepted) == 1
    documents = list(archived(bucket).values())
    assert len(documents) == 3
    skipped = [d for d in documents if d["deliveries"]["datadog"]["status"] == "skipped"]
    assert len(skipped) == 2 and any(
        "FORWARDER_MIN_SEVERITY" in d["deliveries"]["datadog"]["reason"] for d in skipped
    )


def test_unreadable_secret_is_a_config_error_after_archiving(
    bucket: MotoServer, dd: DatadogIntake, nr: NewRelicIntake
) -> None:
    env = environ(dd, nr)
    del env["DD_API_KEY"]
    env["DD_API_KEY_SECRET_ARN"] = "arn:aws:secretsmanager:us-east-1:123456789012:secret:missing-AbCdEf"
    lines: list[str] = []
    with pytest.raises(ConfigError, match=r"DD_API_KEY_SECRET_ARN=.*cannot read the key"):
        runtime(bucket, env, lines).handle(stopped_events()[0], Context())
    assert len(archived(bucket)) == 1  # the event is kept; a later retry or replay sends it
    assert any('"ERROR"' in line and "ConfigError" in line for line in lines)


def test_lambda_handler_builds_its_runtime_from_the_environment_once(
    bucket: MotoServer,
    dd: DatadogIntake,
    nr: NewRelicIntake,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    for name, value in environ(dd, nr).items():
        monkeypatch.setenv(name, value)
    handler.runtime.cache_clear()
    try:
        events = stopped_events()[:2]
        assert handler.lambda_handler(events[0], Context())["deliveries"]["datadog"] == "delivered"
        first = handler.runtime()
        recording = Recording(first.forwarder)
        first.forwarder = recording  # type: ignore[assignment]
        handler.lambda_handler(events[1], Context(10.0))
        assert handler.runtime() is first
        assert 6.5 < recording.given[0] <= 7.0  # the invocation's own remaining time reached the runtime
    finally:
        handler.runtime.cache_clear()
    out = capsys.readouterr().out
    assert out.count('"level": "INFO"') == 2 and DD_KEY not in out


def test_missing_bucket_setting_is_a_clear_error(dd: DatadogIntake, nr: NewRelicIntake) -> None:
    env = environ(dd, nr)
    del env["ARCHIVE_BUCKET"]
    with pytest.raises(ConfigError, match=r"^ARCHIVE_BUCKET is not set: the Lambda keeps a copy of every event in S3$"):
        Runtime.from_env(env, client_factory=lambda service: None)


def test_a_duplicate_invocation_after_success_sends_nothing(
    bucket: MotoServer, dd: DatadogIntake, nr: NewRelicIntake
) -> None:
    """EventBridge/Lambda may deliver an event twice; the archive makes the second one a no-op."""
    dd.script(Respond(500), Respond(500))
    rt = runtime(bucket, environ(dd, nr), [])
    event = stopped_events()[1]
    rt.handle(event, Context())
    rt.handle(event, Context())  # a duplicate invocation after success: nothing is re-sent
    assert len(dd.accepted) == 1 and len(nr.accepted) == 1


def test_the_tls_context_is_built_beside_the_first_events_archive_write(
    bucket: MotoServer, dd: DatadogIntake, nr: NewRelicIntake
) -> None:
    """A cold start loads the CA bundle in a thread of its own as the runtime is built, so it
    overlaps the S3 client's construction and the archive write instead of following them; a
    forwarder whose intakes are all plain http (loopback only) loads none."""
    from forwarder.destinations import clients

    clients._tls_context_future.cache_clear()
    try:
        runtime(bucket, environ(dd, nr), [])  # both intakes on http://127.0.0.1
        assert clients._tls_context_future.cache_info().currsize == 0
        runtime(bucket, environ(dd, nr, DD_LOGS_URL="https://127.0.0.1:9/api/v2/logs"), [])
        assert clients._tls_context_future.cache_info().currsize == 1  # started before any event
        assert clients.tls_context() is clients.tls_context()
        clients._tls_context_future.cache_clear()
        runtime(bucket, environ(dd, nr, NEW_RELIC_LOGS_URL="https://127.0.0.1:9/log/v1"), [])
        assert clients._tls_context_future.cache_info().currsize == 1  # either vendor's https URL
    finally:
        clients._tls_context_future.cache_clear()


class Recording:
    """Stands in front of a runtime's forwarder: keeps the deadline each event was given."""

    def __init__(self, forwarder: Any) -> None:
        self.forwarder = forwarder
        self.given: list[float] = []  # seconds from the call to its deadline
        self.labels: list[str | None] = []

    def forward(self, events: Any, deadline: float, label: str | None = None) -> Any:
        self.given.append(deadline - time.monotonic())
        self.labels.append(label)
        return self.forwarder.forward(events, deadline, label)


@pytest.mark.parametrize(("remaining", "expected"), [(30.0, 27.0), (900.0, 897.0), (3.2, 0.5), (None, 57.0)])
def test_each_event_may_spend_its_remaining_time_less_the_safety_margin(
    bucket: MotoServer, dd: DatadogIntake, nr: NewRelicIntake, remaining: float | None, expected: float
) -> None:
    """Retries stop 3 s before Lambda would kill the invocation (so the outcome is archived), at
    least half a second for the vendors; without a context (a local call) 60 s are assumed."""
    rt = runtime(bucket, environ(dd, nr), [])
    recording = Recording(rt.forwarder)
    rt.forwarder = recording  # type: ignore[assignment]
    rt.handle(stopped_events()[0], Context(remaining) if remaining is not None else None)
    [given] = recording.given
    assert expected - 0.5 < given <= expected


def test_vendor_clients_are_built_once_and_again_when_a_key_rotates(
    bucket: MotoServer, dd: DatadogIntake
) -> None:
    """Each event reuses the container's vendor clients (their connections); a key read again
    after its cache time and found rotated gets a new client, and the old one is closed."""
    secrets = bucket.client("secretsmanager")
    arn = secrets.create_secret(Name="dd-rotating", SecretString="dd-key-1")["ARN"]
    dd.valid_keys.add("dd-key-1")
    env = {"FORWARDER_DESTINATIONS": "datadog", "DD_API_KEY_SECRET_ARN": arn, "DD_LOGS_URL": dd.url,
           "ARCHIVE_BUCKET": BUCKET}  # fmt: skip
    now = [0.0]
    settings = Settings.from_env(env)
    rt = Runtime(settings, S3Archive(bucket.client("s3"), BUCKET, settings.archive_prefix, None),
                 KeyResolver(bucket.client, ttl_seconds=300, clock=lambda: now[0]), emit=[].append)  # fmt: skip
    events = stopped_events()[:3]
    rt.handle(events[0], Context())
    [first] = rt.destinations()
    rt.handle(events[1], Context())
    assert rt.destinations() == [first]  # the same client, not one per event
    secrets.put_secret_value(SecretId=arn, SecretString="dd-key-2")
    dd.valid_keys.add("dd-key-2")
    now[0] = 301.0
    closed: list[str] = []
    first.close = lambda: closed.append("closed")  # type: ignore[method-assign]
    assert rt.handle(events[2], Context())["deliveries"] == {"datadog": "delivered"}
    [second] = rt.destinations()
    assert second is not first and closed == ["closed"]
    assert [r.headers.get("dd-api-key") for r in dd.requests] == ["dd-key-1", "dd-key-1", "dd-key-2"]


def test_a_local_call_without_a_context_is_handled(
    bucket: MotoServer, dd: DatadogIntake, nr: NewRelicIntake
) -> None:
    answer = runtime(bucket, environ(dd, nr), []).handle(stopped_events()[0], None)
    assert answer["deliveries"] == {"datadog": "delivered", "newrelic": "delivered"}


def test_claims_are_labelled_with_the_lambda_request_id(
    bucket: MotoServer, dd: DatadogIntake, nr: NewRelicIntake
) -> None:
    """A claim names the invocation holding it (``aws_request_id``), so a stuck claim in the
    archive leads to that invocation's logs; a context without a usable id labels nothing."""

    class Identified(Context):
        def __init__(self, request_id: object) -> None:
            super().__init__()
            self.aws_request_id = request_id

    rt = runtime(bucket, environ(dd, nr), [])
    recording = Recording(rt.forwarder)
    rt.forwarder = recording  # type: ignore[assignment]
    events = stopped_events()[:3]
    rt.handle(events[0], Identified("4c1b7a2e-request"))
    rt.handle(events[1], Identified(12345))
    rt.handle(events[2], Context())
    assert recording.labels == ["4c1b7a2e-request", None, None]


def test_both_vendors_failing_are_named_in_the_error(bucket: MotoServer, dd: DatadogIntake, nr: NewRelicIntake) -> None:
    dd.fail_all(503)
    nr.fail_all(503)
    with pytest.raises(DeliveryError, match=r"not yet delivered to datadog, newrelic; archived at .*Lambda will retry"):
        runtime(bucket, environ(dd, nr), []).handle(stopped_events()[0], Context(seconds=3.6))


def test_log_lines_carry_text_utf8_cannot_as_escapes(capsys: pytest.CaptureFixture[str]) -> None:
    """A lone surrogate from bad input reaches a log line as its escape, never as a crash."""
    print_line('{"message": "bad \ud800 input"}')
    print_line("second")
    assert capsys.readouterr().out == '{"message": "bad \\ud800 input"}\nsecond\n'


def test_without_a_vendor_the_stop_goes_to_the_function_log(bucket: MotoServer, capsys: pytest.CaptureFixture[str]) -> None:
    """No vendor key configured: the stop record is printed (CloudWatch Logs keeps it) and archived."""
    event = stopped_events()[0]
    answer = Runtime.from_env({"ARCHIVE_BUCKET": BUCKET}, client_factory=bucket.client, emit=[].append).handle(
        event, Context()
    )
    assert answer["deliveries"] == {"stdout": "delivered"}
    [line] = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert line["event_id"] == event["id"] and line["category"]
    assert len(archived(bucket)) == 1


def test_each_invocation_logs_how_long_it_took_and_when(bucket: MotoServer, dd: DatadogIntake, nr: NewRelicIntake) -> None:
    """The INFO line and the EMF documents carry the invocation's latency in ms (at most its wall
    time) and the moment they were written; text stays readable, not \\u-escaped."""
    event = make_event(event_id="latency-1", group="service:café-web")
    lines: list[str] = []
    before_ms = int(time.time() * 1000)
    started = time.monotonic()
    runtime(bucket, environ(dd, nr), lines).handle(event, Context())
    wall_ms, after_ms = (time.monotonic() - started) * 1000, int(time.time() * 1000)
    [info] = [line for line in lines if '"level": "INFO"' in line]
    assert "café" in info
    assert 0 < json.loads(info)["latency_ms"] <= wall_ms
    documents = [json.loads(line) for line in lines if '"_aws"' in line]
    assert documents and all(before_ms <= d["_aws"]["Timestamp"] <= after_ms for d in documents)
    [latency] = [d["DeliveryLatency"] for d in documents if "DeliveryLatency" in d]
    assert 0 < latency <= wall_ms
