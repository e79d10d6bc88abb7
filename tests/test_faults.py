"""Fault injection through the Lambda handler: flaky vendors, an archive outage, an unreadable key.

The claim under test is the README's: nothing is lost. Every event ends accepted by each
destination or recorded ``failed-retryable`` in its archive document with the handler having raised
(so Lambda's retries, the on-failure queue and ``replay --only-undelivered`` take over); a
duplicate is only ever the price of a vendor that accepted a request without the forwarder
learning of it (accepted-then-dropped, or answered after the client's timeout).
"""

from __future__ import annotations

import copy
import functools
import io
import json
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any

import pytest

from forwarder.archive_layout import event_key
from forwarder.cli import main
from forwarder.destinations import base, clients
from forwarder.errors import ArchiveError, ConfigError, DeliveryError
from forwarder.handler import Runtime
from forwarder.retry import RetryPolicy
from tests.aws import MotoServer
from tests.fixtures import stopped_events
from tests.intakes import (
    AcceptThenDrop,
    DatadogIntake,
    Drop,
    NewRelicIntake,
    RecordedRequest,
    Respond,
    Slow,
    Unheard,
)

DD_KEY, NR_KEY = "faults-dd-key", "faults-nr-key"
BUCKET = "faults-archive"
PREFIX = "ecs-task-stop-log/"
READ_TIMEOUT = 0.5  # the patched per-request read timeout: a normal answer takes milliseconds
UNHEARD = 5.0  # the longest an Unheard fault waits for the client to hang up
REMAINING = 3.6  # the fake Lambda's remaining seconds: 0.6 s of deadline after the 3 s safety margin
EVENTS = 1000
NAMES = ("datadog", "newrelic")


class Context:
    def __init__(self, seconds: float) -> None:
        self.seconds = seconds

    def get_remaining_time_in_millis(self) -> int:
        return int(self.seconds * 1000)


def fresh_events(count: int, seed: int) -> list[dict[str, Any]]:
    """``count`` fixture events (cycled) with fresh, reproducible ids."""
    fixtures = stopped_events()
    events = []
    for index in range(count):
        event = copy.deepcopy(fixtures[index % len(fixtures)])
        event["id"] = str(uuid.UUID(int=seed << 64 | index))
        events.append(event)
    return events


def environ(dd: DatadogIntake, nr: NewRelicIntake, **extra: str) -> dict[str, str]:
    return {"FORWARDER_DESTINATIONS": "datadog,newrelic", "DD_API_KEY": DD_KEY, "DD_LOGS_URL": dd.url,
            "NEW_RELIC_LICENSE_KEY": NR_KEY, "NEW_RELIC_LOGS_URL": nr.url, "ARCHIVE_BUCKET": BUCKET, **extra}  # fmt: skip


@pytest.fixture
def intakes() -> Iterator[tuple[DatadogIntake, NewRelicIntake]]:
    with DatadogIntake(valid_keys={DD_KEY}) as dd, NewRelicIntake(valid_keys={NR_KEY}) as nr:
        yield dd, nr


@pytest.fixture
def fast_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    """A small read timeout (so Slow faults time out) and short backoff (so 1000 events take seconds)."""
    monkeypatch.setattr(clients, "READ_TIMEOUT", READ_TIMEOUT)
    monkeypatch.setattr(base, "RetryPolicy", functools.partial(RetryPolicy, initial=0.005, maximum=0.05))


def event_ids(intake: DatadogIntake | NewRelicIntake, request: RecordedRequest) -> list[str]:
    """Event ids in a recorded request's body (empty when it is not a valid payload)."""
    try:
        payload = json.loads(request.body)
    except ValueError:
        return []
    if isinstance(intake, DatadogIntake):
        return [log["ecs_stop"]["event_id"] for log in payload]
    return [log["attributes"]["event_id"] for item in payload for log in item["logs"]]


def accepted_ids(intake: DatadogIntake | NewRelicIntake) -> Counter[str]:
    if isinstance(intake, DatadogIntake):
        return Counter(log["ecs_stop"]["event_id"] for log in intake.accepted)
    return Counter(log["event_id"] for log in intake.accepted)


def invoke(runtime: Runtime, event: dict[str, Any], seconds: float = REMAINING) -> list[Any]:
    """Like Lambda's async invocation: on a raise, the same event is retried up to 2 more times."""
    attempts: list[Any] = []
    for _ in range(3):
        try:
            attempts.append(runtime.handle(copy.deepcopy(event), Context(seconds)))
            return attempts
        except DeliveryError as exc:
            attempts.append(exc)
    return attempts


def read_documents(aws: MotoServer, events: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    s3 = aws.client("s3")

    def read(event: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        key = event_key(PREFIX, event["id"], _time(event))
        return event["id"], json.loads(s3.get_object(Bucket=BUCKET, Key=key)["Body"].read())

    with ThreadPoolExecutor(8) as pool:
        return dict(pool.map(read, events))


def _time(event: dict[str, Any]) -> datetime:
    """The event time, which names the archive document's hour folder."""
    return datetime.fromisoformat(event["time"].replace("Z", "+00:00"))


def account(
    events: list[dict[str, Any]],
    attempts: dict[str, list[Any]],
    documents: dict[str, dict[str, Any]],
    dd: DatadogIntake,
    nr: NewRelicIntake,
) -> dict[str, Any]:
    """Check the no-loss invariants for every event and destination; return the tallies."""
    tallies: dict[str, Any] = {"failed_retryable": Counter(), "duplicates": Counter(), "raised": 0}
    for name, intake in (("datadog", dd), ("newrelic", nr)):
        accepted = accepted_ids(intake)
        normal_accepts: Counter[str] = Counter()
        late: dict[str, list[float]] = {}  # normal answers a loaded machine was slow to give
        for request in intake.requests:
            if request.behaviour is None and request.status is not None and 200 <= request.status < 300:
                normal_accepts.update(event_ids(intake, request))
                if request.answered_in >= READ_TIMEOUT / 2:  # said if a duplicate follows
                    for event_id in event_ids(intake, request):
                        late.setdefault(event_id, []).append(round(request.answered_in, 3))
        for event in events:
            event_id = event["id"]
            status = documents[event_id]["deliveries"][name]["status"]
            last = attempts[event_id][-1]
            assert status in ("delivered", "failed-retryable"), (
                event_id,
                name,
                documents[event_id]["deliveries"],
            )
            if status == "delivered":  # the archive never claims a delivery the vendor did not accept
                assert accepted[event_id] >= 1, (event_id, name)
            else:  # recorded as retryable, and the handler raised so Lambda (or replay) takes over
                assert isinstance(last, DeliveryError) and name in str(last), (event_id, name, last)
                tallies["failed_retryable"][name] += 1
            # Zero loss: accepted, or failed-retryable with the handler having raised on the last attempt.
            assert accepted[event_id] >= 1 or (
                status == "failed-retryable" and isinstance(last, DeliveryError)
            )
            # A duplicate only through a request the vendor accepted without the forwarder hearing of it.
            assert normal_accepts[event_id] <= 1, (event_id, name, "accepted twice by normal requests", late)
            if accepted[event_id] > 1:
                tallies["duplicates"][name] += accepted[event_id] - 1
        # No stray logs: everything accepted belongs to an event that was sent.
        assert set(accepted) <= {event["id"] for event in events}
    tallies["raised"] = sum(isinstance(a[-1], DeliveryError) for a in attempts.values())
    return tallies


def test_1000_events_through_chaos_lose_nothing(
    aws: MotoServer, intakes: tuple[DatadogIntake, NewRelicIntake], fast_retries: None,
    monkeypatch: pytest.MonkeyPatch, record_property: Any,
) -> None:  # fmt: skip
    dd, nr = intakes
    aws.client("s3").create_bucket(Bucket=BUCKET)
    for seed, intake in ((11, dd), (12, nr)):
        statuses = (Respond(500), Respond(503), Respond(429, dict(intake.retry_headers)))
        # Unheard waits out the client's read timeout: 1 fault in 17, to keep the run short.
        kinds = (*statuses * 4, *(Drop(), AcceptThenDrop()) * 2, Unheard(UNHEARD))
        intake.chaos(0.3, seed=seed, kinds=kinds)
    runtime = Runtime.from_env(environ(dd, nr), client_factory=aws.client, emit=lambda line: None)
    events = fresh_events(EVENTS, seed=1)
    # Then a burst where the vendors fail almost every request, so some events do end failed-retryable.
    burst = fresh_events(10, seed=2)
    started = time.monotonic()
    attempts = {event["id"]: invoke(runtime, event) for event in events}
    for intake in (dd, nr):
        intake.chaos(0.97, seed=13, kinds=(Respond(503), Drop()))
    attempts.update({event["id"]: invoke(runtime, event) for event in burst})
    elapsed = time.monotonic() - started
    # Unheard answers once the client hangs up: by now every one has recorded what it accepted.
    everything = events + burst
    documents = read_documents(aws, everything)
    tallies = account(everything, attempts, documents, dd, nr)
    faults = Counter(
        type(r.behaviour).__name__ for intake in (dd, nr) for r in intake.requests if r.behaviour
    )
    summary = {"elapsed_s": round(elapsed, 1), "invocations": sum(len(a) for a in attempts.values()),
               "ended_raising": tallies["raised"], "failed_retryable": dict(tallies["failed_retryable"]),
               "duplicates": dict(tallies["duplicates"]), "faults": dict(faults)}  # fmt: skip
    record_property("chaos", summary)
    print(f"\nchaos summary: {summary}")
    # The faults really happened, of every kind, and some Lambda retries were needed.
    assert set(faults) == {"Respond", "Drop", "AcceptThenDrop", "Unheard"}
    assert summary["invocations"] > len(everything)
    assert tallies["raised"] >= 1  # the burst leaves some events to Lambda's on-failure path

    # Nothing is lost: what ended failed-retryable is still in the archive; replay --only-undelivered
    # sends it once the vendors recover.
    for intake in (dd, nr):
        intake.chaos(None)
    for name, value in environ(dd, nr).items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("ARCHIVE_BUCKET")
    unfinished = [
        e
        for e in everything
        if any(d["status"] != "delivered" for d in documents[e["id"]]["deliveries"].values())
    ]
    sources = [f"s3://{BUCKET}/{event_key(PREFIX, e['id'], _time(e))}" for e in unfinished]
    out, err = io.StringIO(), io.StringIO()
    assert main(["replay", *sources, "--only-undelivered", "--to", "datadog,newrelic"], out, err) == 0, (
        err.getvalue()
    )
    for intake in (dd, nr):
        assert set(accepted_ids(intake)) == {event["id"] for event in everything}  # zero loss


def test_a_hanging_vendor_does_not_hold_back_the_other(
    aws: MotoServer, intakes: tuple[DatadogIntake, NewRelicIntake]
) -> None:
    dd, nr = intakes
    aws.client("s3").create_bucket(Bucket=BUCKET)
    dd.chaos(1.0, kinds=(Slow(5.0),))  # Datadog unreachable in the way a black-holed route is: no answer
    runtime = Runtime.from_env(environ(dd, nr), client_factory=aws.client, emit=lambda line: None)
    event = fresh_events(1, seed=5)[0]
    with pytest.raises(DeliveryError, match="datadog"):
        runtime.handle(event, Context(5.0))  # 2 s of deadline
    [document] = read_documents(aws, [event]).values()
    assert document["deliveries"]["datadog"]["status"] == "failed-retryable"
    assert document["deliveries"]["newrelic"]["status"] == "delivered", document["deliveries"]["newrelic"]
    assert len(nr.accepted) == 1


@pytest.fixture
def own_moto() -> Iterator[MotoServer]:
    """A private emulator this test may stop and start (the session one is shared)."""
    server = MotoServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()


def test_archive_outage_sends_nothing_and_the_retry_sends_once(
    own_moto: MotoServer, intakes: tuple[DatadogIntake, NewRelicIntake]
) -> None:
    dd, nr = intakes
    own_moto.client("s3").create_bucket(Bucket=BUCKET)
    runtime = Runtime.from_env(environ(dd, nr), client_factory=own_moto.client, emit=lambda line: None)
    events = fresh_events(8, seed=3)
    for event in events[:4]:
        assert runtime.handle(event, Context(30))["deliveries"] == {
            "datadog": "delivered",
            "newrelic": "delivered",
        }
    before = (len(dd.requests), len(nr.requests))

    own_moto.stop()  # the archive goes away mid-run
    for event in events[4:6]:
        # Retried within the deadline (1 s here, and the 2.5 s kept to record outcomes), then raised.
        with pytest.raises(ArchiveError, match=rf"s3://{BUCKET}/.*EndpointConnectionError"):
            runtime.handle(event, Context(4))
    assert (len(dd.requests), len(nr.requests)) == before  # nothing sent without a durable copy

    own_moto.start()  # state is lost on restart
    own_moto.client("s3").create_bucket(Bucket=BUCKET)
    for event in events[4:]:  # Lambda's retries of the two that failed, then the rest of the run
        assert runtime.handle(event, Context(30))["deliveries"] == {
            "datadog": "delivered",
            "newrelic": "delivered",
        }
    for intake in (dd, nr):
        counts = accepted_ids(intake)
        assert counts == Counter({event["id"]: 1 for event in events})  # once each, no double-send
    s3 = own_moto.client("s3")
    keys = {o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET)["Contents"]}
    assert keys == {event_key(PREFIX, e["id"], _time(e)) for e in events[4:]}


@pytest.mark.parametrize(
    ("variable", "create"),
    [("DD_API_KEY_SECRET_ARN", "secret"), ("DD_API_KEY_SSM_PARAMETER", "parameter")],
)
def test_unreadable_key_is_a_config_error_naming_the_variable(
    aws: MotoServer, intakes: tuple[DatadogIntake, NewRelicIntake], variable: str, create: str
) -> None:
    dd, nr = intakes
    aws.client("s3").create_bucket(Bucket=BUCKET)
    env = environ(dd, nr)
    del env["DD_API_KEY"]
    reference = "forwarder/dd-missing" if create == "secret" else "/forwarder/dd-missing"
    env[variable] = reference
    lines: list[str] = []
    runtime = Runtime.from_env(env, client_factory=aws.client, emit=lines.append)
    event = fresh_events(1, seed=4)[0]
    with pytest.raises(ConfigError) as raised:
        runtime.handle(event, Context(30))
    assert variable in str(raised.value) and "cannot read the key" in str(raised.value)
    assert dd.requests == [] and nr.requests == []
    assert any('"ERROR"' in line and variable in line for line in lines)
    # The event was archived first; once the key exists, Lambda's retry of the same event delivers it.
    if create == "secret":
        aws.client("secretsmanager").create_secret(Name=reference, SecretString=DD_KEY)
    else:
        aws.client("ssm").put_parameter(Name=reference, Value=DD_KEY, Type="SecureString")
    assert runtime.handle(event, Context(30))["deliveries"] == {
        "datadog": "delivered",
        "newrelic": "delivered",
    }
    assert len(dd.accepted) == len(nr.accepted) == 1
