"""The same event in several containers at once, and containers that die holding a claim.

EventBridge and Lambda's asynchronous queue are at-least-once: the same event can reach two
containers at the same moment. Each test runs separate handler runtimes (their own AWS clients,
HTTP clients and state) in threads against the AWS emulator over HTTP and the loopback intakes.
Claims expire by an injected wall clock, never by waiting.
"""

from __future__ import annotations

import copy
import json
import threading
import uuid
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from forwarder.archive import LocalArchive
from forwarder.archive_layout import event_key
from forwarder.destinations.base import Destination, Outcome
from forwarder.destinations.datadog import DatadogDestination
from forwarder.destinations.newrelic import NewRelicDestination
from forwarder.errors import DeliveryError
from forwarder.handler import Runtime
from forwarder.pipeline import Forwarder
from tests.aws import MotoServer
from tests.fixtures import stopped_events
from tests.intakes import DatadogIntake, NewRelicIntake

DD_KEY, NR_KEY = "concurrency-dd", "concurrency-nr"
BUCKET = "concurrency-archive"
PREFIX = "ecs-task-stop-log/"
CONTAINERS = 8
ROUNDS = 50
BOTH = {"datadog": "delivered", "newrelic": "delivered"}


class Context:
    def __init__(self, seconds: float = 30.0) -> None:
        self.seconds = seconds

    def get_remaining_time_in_millis(self) -> int:
        return int(self.seconds * 1000)


class Clock:
    """A wall clock the test moves (claims expire by it)."""

    def __init__(self) -> None:
        self.moment = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.moment

    def advance(self, seconds: float) -> None:
        self.moment += timedelta(seconds=seconds)


@pytest.fixture
def intakes() -> Iterator[tuple[DatadogIntake, NewRelicIntake]]:
    with DatadogIntake(valid_keys={DD_KEY}) as dd, NewRelicIntake(valid_keys={NR_KEY}) as nr:
        yield dd, nr


@pytest.fixture
def bucket(aws: MotoServer) -> MotoServer:
    aws.client("s3").create_bucket(Bucket=BUCKET)
    return aws


def environ(dd: DatadogIntake, nr: NewRelicIntake) -> dict[str, str]:
    return {"FORWARDER_DESTINATIONS": "datadog,newrelic", "DD_API_KEY": DD_KEY, "DD_LOGS_URL": dd.url,
            "NEW_RELIC_LICENSE_KEY": NR_KEY, "NEW_RELIC_LOGS_URL": nr.url, "ARCHIVE_BUCKET": BUCKET}  # fmt: skip


def fresh_events(count: int, seed: int) -> list[dict[str, Any]]:
    fixtures = stopped_events()
    events = []
    for index in range(count):
        event = copy.deepcopy(fixtures[index % len(fixtures)])
        event["id"] = str(uuid.UUID(int=seed << 64 | index))
        events.append(event)
    return events


def accepted_ids(intake: DatadogIntake | NewRelicIntake) -> Counter[str]:
    if isinstance(intake, DatadogIntake):
        return Counter(log["ecs_stop"]["event_id"] for log in intake.accepted)
    return Counter(log["event_id"] for log in intake.accepted)


def document(aws: MotoServer, event: dict[str, Any]) -> dict[str, Any]:
    moment = datetime.fromisoformat(event["time"].replace("Z", "+00:00"))
    body = aws.client("s3").get_object(Bucket=BUCKET, Key=event_key(PREFIX, event["id"], moment))["Body"]
    return dict(json.loads(body.read()))


def statuses(doc: dict[str, Any]) -> dict[str, str]:
    return {name: entry["status"] for name, entry in doc["deliveries"].items()}


@dataclass
class Invocation:
    answer: dict[str, Any] | None
    error: BaseException | None
    sent: bool  # this invocation sent something itself (its EMF has a Destination document)


def at_once(runtimes: Sequence[tuple[Runtime, list[str]]], event: dict[str, Any],
            pool: ThreadPoolExecutor, seconds: float = 30.0) -> list[Invocation]:  # fmt: skip
    """Every runtime handles ``event`` at the same moment (a barrier), as duplicate deliveries do."""
    barrier = threading.Barrier(len(runtimes))

    def invoke(runtime: Runtime, lines: list[str]) -> Invocation:
        lines.clear()
        barrier.wait()
        try:
            answer, error = runtime.handle(copy.deepcopy(event), Context(seconds)), None
        except Exception as exc:  # noqa: BLE001 - counted: the test asserts there are none
            answer, error = None, exc
        return Invocation(answer, error, any('"Destination"' in line for line in lines))

    return [f.result() for f in [pool.submit(invoke, runtime, lines) for runtime, lines in runtimes]]


def containers(aws: MotoServer, dd: DatadogIntake, nr: NewRelicIntake, count: int = CONTAINERS,
               **kwargs: Any) -> list[tuple[Runtime, list[str]]]:  # fmt: skip
    """``count`` separate handler runtimes (a warm container each), with their own log lines."""
    built = []
    for _ in range(count):
        lines: list[str] = []
        built.append((Runtime.from_env(environ(dd, nr), client_factory=aws.client, emit=lines.append, **kwargs),
                      lines))  # fmt: skip
    return built


def test_eight_containers_handling_the_same_event_at_once_deliver_it_once(
    bucket: MotoServer, intakes: tuple[DatadogIntake, NewRelicIntake], record_property: Any
) -> None:
    dd, nr = intakes
    runtimes = containers(bucket, dd, nr)
    events = fresh_events(ROUNDS, seed=19)
    with ThreadPoolExecutor(CONTAINERS) as pool:
        invocations = {event["id"]: at_once(runtimes, event, pool) for event in events}
    every = [i for group in invocations.values() for i in group]
    raised = [repr(i.error) for i in every if i.error is not None]
    senders = Counter(sum(i.sent for i in group) for group in invocations.values())
    summary = {"events": len(events), "invocations": len(every), "raised": len(raised),
               "datadog_accepted": sum(accepted_ids(dd).values()), "newrelic_accepted": sum(accepted_ids(nr).values()),
               "datadog_requests": len(dd.requests), "newrelic_requests": len(nr.requests),
               "invocations_that_sent_per_event": dict(senders),
               "answers": dict(Counter(json.dumps(i.answer["deliveries"], sort_keys=True) for i in every if i.answer))}  # fmt: skip
    record_property("eight_containers", summary)
    print(f"\neight containers: {summary}")
    assert raised == []  # no vendor failed, so no invocation raises
    ids = {event["id"]: 1 for event in events}
    assert accepted_ids(dd) == Counter(ids) and accepted_ids(nr) == Counter(ids)  # each exactly once
    assert len(dd.requests) == len(nr.requests) == ROUNDS  # not even a refused second request
    for event in events:
        assert statuses(document(bucket, event)) == BOTH
    # The invocations that did not send waited for the one that did, and report its outcome.
    assert all(i.answer is not None and i.answer["deliveries"] == BOTH for i in every)


def test_a_lambda_retry_raced_by_eight_containers_sends_what_failed_once(
    bucket: MotoServer, intakes: tuple[DatadogIntake, NewRelicIntake]
) -> None:
    """The retries find the document; they claim New Relic with a compare-and-swap: one wins."""
    dd, nr = intakes
    runtimes = containers(bucket, dd, nr)
    events = fresh_events(10, seed=20)
    newrelic: Counter[str] = Counter()  # the intake forgets on reset: what it accepted, round by round
    with ThreadPoolExecutor(CONTAINERS) as pool:
        for event in events:
            nr.fail_all(503, {"Retry-After": "3600"})  # failed at once, however much time is left
            with pytest.raises(DeliveryError, match="not yet delivered to newrelic;"):
                runtimes[0][0].handle(copy.deepcopy(event), Context(30))
            assert statuses(document(bucket, event)) == {"datadog": "delivered", "newrelic": "failed-retryable"}
            nr.reset()
            invocations = at_once(runtimes, event, pool)
            assert [i.error for i in invocations] == [None] * CONTAINERS
            assert sum(i.sent for i in invocations) == 1
            entry = document(bucket, event)["deliveries"]["newrelic"]
            assert entry["status"] == "delivered" and entry["attempts"] > 1  # the failed ones, and this one
            newrelic.update(accepted_ids(nr))
    ids = Counter({event["id"]: 1 for event in events})
    assert accepted_ids(dd) == ids and newrelic == ids


class Killed(BaseException):
    """The container dies here (Lambda's timeout, an out-of-memory kill): nothing after it runs."""


class Gated:
    """A destination that runs ``before`` first: to die, or to wait, before anything is sent."""

    def __init__(self, inner: Destination, before: Callable[[], None]) -> None:
        self.inner = inner
        self.name = inner.name
        self.before = before

    @property
    def encoder(self) -> Any:
        return self.inner.encoder

    def send(self, parts: Sequence[bytes], deadline: float) -> list[Outcome]:
        self.before()
        return self.inner.send(parts, deadline)

    def close(self) -> None:
        self.inner.close()


def gated_runtime(runtime_class: type[Runtime], before: Callable[[str], None]) -> type[Runtime]:
    class GatedRuntime(runtime_class):  # type: ignore[valid-type, misc]
        def destinations(self) -> list[Destination]:
            return [Gated(d, lambda name=d.name: before(name)) for d in super().destinations()]

    return GatedRuntime


def test_a_container_killed_between_claiming_and_recording_is_taken_over_after_its_claim_expires(
    bucket: MotoServer, intakes: tuple[DatadogIntake, NewRelicIntake]
) -> None:
    dd, nr = intakes
    clock = Clock()
    event = fresh_events(1, seed=21)[0]

    def die(name: str) -> None:
        raise Killed

    doomed = gated_runtime(Runtime, die).from_env(environ(dd, nr), client_factory=bucket.client,
                                                    emit=lambda line: None, now=clock)  # fmt: skip
    with pytest.raises(Killed):
        doomed.handle(copy.deepcopy(event), Context(30))
    claims = document(bucket, event)["deliveries"]
    assert {entry["status"] for entry in claims.values()} == {"in-flight"}
    expires = datetime.fromisoformat(claims["datadog"]["expires"])
    assert timedelta(seconds=27) < expires - clock() <= timedelta(seconds=29.5)  # inside the Lambda's 30 s
    assert dd.requests == nr.requests == []

    lines: list[str] = []
    successor = Runtime.from_env(environ(dd, nr), client_factory=bucket.client, emit=lines.append, now=clock)
    # Before the claim expires, the next invocation waits for it (0.6 s of deadline), sends nothing,
    # and does not raise: the dead one's own retry, or this one's, delivers once the claim expires.
    answer = successor.handle(copy.deepcopy(event), Context(3.6))
    assert answer["deliveries"] == {"datadog": "in-flight", "newrelic": "in-flight"}
    assert dd.requests == nr.requests == []
    clock.advance((expires - clock()).total_seconds() + 0.001)
    assert successor.handle(copy.deepcopy(event), Context(30))["deliveries"] == BOTH
    assert accepted_ids(dd) == accepted_ids(nr) == Counter({event["id"]: 1})
    entries = document(bucket, event)["deliveries"]
    assert statuses({"deliveries": entries}) == BOTH and entries["datadog"]["attempts"] == 1


@pytest.mark.parametrize("order", ["slow-one-records-first", "taker-over-records-first"])
def test_conflicting_outcomes_merge_delivered_stays_delivered_and_attempts_add_up(
    bucket: MotoServer, intakes: tuple[DatadogIntake, NewRelicIntake], order: str
) -> None:
    """A container slow enough for its claim to expire is still sending when another takes the claim
    over and fails; whichever records last, the document ends delivered, with both's attempts."""
    dd, nr = intakes
    env = {**environ(dd, nr), "FORWARDER_DESTINATIONS": "datadog"}
    clock = Clock()
    event = fresh_events(1, seed=22)[0]
    gates = {"slow": (threading.Event(), threading.Event()), "taker": (threading.Event(), threading.Event())}

    def held(who: str) -> Callable[[str], None]:
        def before(name: str) -> None:
            sending, go = gates[who]
            sending.set()
            assert go.wait(30)

        return before

    def runtime(who: str) -> Runtime:
        return gated_runtime(Runtime, held(who)).from_env(env, client_factory=bucket.client,
                                                          emit=lambda line: None, now=clock)  # fmt: skip

    slow, taker = runtime("slow"), runtime("taker")
    with ThreadPoolExecutor(2) as pool:
        slow_answer = pool.submit(slow.handle, copy.deepcopy(event), Context(30))
        assert gates["slow"][0].wait(30)  # the slow one claimed datadog and is about to send
        clock.advance(40)  # its claim has expired: the taker-over takes it
        taker_answer = pool.submit(taker.handle, copy.deepcopy(event), Context(4.5))  # 1.5 s to retry
        assert gates["taker"][0].wait(30)
        assert document(bucket, event)["deliveries"]["datadog"]["took_over_from"]
        first, second = ("slow", "taker") if order == "slow-one-records-first" else ("taker", "slow")
        failed = 0  # the taker-over's requests, answered 503; the slow one's is accepted
        for who in (first, second):
            if who == "slow":
                failed += sum(1 for r in dd.requests if r.status == 503)
                dd.reset()
            else:
                dd.fail_all(503)
            gates[who][1].set()
            future = slow_answer if who == "slow" else taker_answer
            answer = future.exception() or future.result()
            if who == "taker" and order == "taker-over-records-first":
                assert isinstance(answer, DeliveryError)  # it failed, and nobody had delivered yet
            else:  # the slow one delivered; the taker-over, recording after it, found that
                assert isinstance(answer, dict) and answer["deliveries"] == {"datadog": "delivered"}
        failed += sum(1 for r in dd.requests if r.status == 503)
    entry = document(bucket, event)["deliveries"]["datadog"]
    assert failed >= 1
    assert entry["status"] == "delivered" and entry["attempts"] == failed + 1
    assert accepted_ids(dd) == Counter({event["id"]: 1})


def local_forwarder(root: Path, dd: DatadogIntake, nr: NewRelicIntake) -> Forwarder:
    def destinations() -> list[Destination]:
        return [DatadogDestination(DD_KEY, dd.url), NewRelicDestination(NR_KEY, nr.url)]

    return Forwarder(LocalArchive(root, PREFIX), ("datadog", "newrelic"), destinations)


def test_the_local_archive_gives_the_same_guarantee(
    tmp_path: Path, intakes: tuple[DatadogIntake, NewRelicIntake]
) -> None:
    """Eight ``send``s of the same events into one folder at once: each event is delivered once."""
    dd, nr = intakes
    forwarders = [local_forwarder(tmp_path, dd, nr) for _ in range(CONTAINERS)]
    events = fresh_events(20, seed=23)
    barrier = threading.Barrier(CONTAINERS)

    def run(forwarder: Forwarder) -> list[dict[str, str]]:
        answers = []
        for event in events:
            barrier.wait()
            [result] = forwarder.forward([copy.deepcopy(event)], deadline=_in(30))
            answers.append({n: d["status"] for n, d in result.deliveries.items()})
        return answers

    with ThreadPoolExecutor(CONTAINERS) as pool:
        answers = [a for f in [pool.submit(run, f) for f in forwarders] for a in f.result()]
    assert answers == [BOTH] * (CONTAINERS * len(events))
    ids = Counter({event["id"]: 1 for event in events})
    assert accepted_ids(dd) == ids and accepted_ids(nr) == ids
    documents = [json.loads(p.read_text()) for p in tmp_path.rglob("*.json")]
    assert len(documents) == len(events) and all(statuses(d) == BOTH for d in documents)
    assert not [p for p in tmp_path.rglob("*") if p.is_file() and p.suffix != ".json"]


def _in(seconds: float) -> float:
    import time

    return time.monotonic() + seconds
