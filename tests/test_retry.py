"""The shared retry policy, through the New Relic httpx path with respx (fast, no sockets)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import pytest
import respx

from forwarder.destinations.base import DELIVERED, FAILED_PERMANENT, FAILED_RETRYABLE
from forwarder.destinations.newrelic import NewRelicDestination
from forwarder.errors import DeliveryError
from forwarder.parse import parse_event
from forwarder.retry import RetryPolicy, is_retryable_status, retry_after_seconds
from tests.events import make_event

URL = "https://log-api.newrelic.com/log/v1"
KEY = "canary-nr-retry-key"


class Sleeps:
    """An injectable sleep that records what it was asked and advances a fake clock."""

    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def destination(sleeps: Sleeps | None = None) -> NewRelicDestination:
    policy = RetryPolicy(clock=sleeps.clock, sleep=sleeps.sleep) if sleeps else RetryPolicy()
    return NewRelicDestination(KEY, URL, policy=policy)


def items(n: int = 1) -> list[bytes]:
    nr = destination()
    return [nr.encoder(parse_event(make_event(event_id=f"e{i}")), None) for i in range(n)]


@respx.mock
def test_429_with_retry_after_waits_that_long() -> None:
    route = respx.post(URL).mock(
        side_effect=[httpx.Response(429, headers={"Retry-After": "7"}), httpx.Response(202)]
    )
    sleeps = Sleeps()
    [outcome] = destination(sleeps).send(items(), deadline=100.0)
    assert outcome.status == DELIVERED and outcome.attempts == 2
    assert sleeps.slept == [7.0]
    assert route.call_count == 2


@respx.mock
def test_503_then_202_delivers_once() -> None:
    route = respx.post(URL).mock(side_effect=[httpx.Response(503), httpx.Response(202)])
    sleeps = Sleeps()
    outcomes = destination(sleeps).send(items(3), deadline=100.0)
    assert [o.status for o in outcomes] == [DELIVERED] * 3
    assert route.call_count == 2 and len(sleeps.slept) == 1 and 0 <= sleeps.slept[0] <= 0.5


@respx.mock
def test_403_is_not_retried_and_says_the_key_was_rejected() -> None:
    route = respx.post(URL).mock(return_value=httpx.Response(403, text=f"bad key {KEY}"))
    [outcome] = destination(Sleeps()).send(items(), deadline=100.0)
    assert outcome.status == FAILED_PERMANENT and outcome.http_status == 403 and outcome.attempts == 1
    assert outcome.error is not None and "rejected the API key (HTTP 403)" in outcome.error
    assert KEY not in outcome.error  # even when the vendor echoes it
    assert route.call_count == 1


@pytest.mark.parametrize("status", [400, 401, 404])
@respx.mock
def test_client_errors_are_permanent(status: int) -> None:
    respx.post(URL).mock(return_value=httpx.Response(status))
    [outcome] = destination(Sleeps()).send(items(), deadline=100.0)
    assert outcome.status == FAILED_PERMANENT and outcome.attempts == 1


@respx.mock
def test_connection_errors_and_timeouts_are_retried() -> None:
    respx.post(URL).mock(
        side_effect=[
            httpx.ConnectError("refused"),
            httpx.ReadTimeout("slow"),
            httpx.Response(408),
            httpx.Response(500),
            httpx.Response(202),
        ]
    )
    [outcome] = destination(Sleeps()).send(items(), deadline=100.0)
    assert outcome.status == DELIVERED and outcome.attempts == 5


@respx.mock
def test_the_deadline_stops_retries_in_time() -> None:
    """On an injected clock: every sleep ends by the deadline, and none is started that would not."""
    respx.post(URL).mock(return_value=httpx.Response(503))
    sleeps = Sleeps()
    deadline = sleeps.clock() + 1.5
    [outcome] = destination(sleeps).send(items(), deadline=deadline)
    assert outcome.status == FAILED_RETRYABLE and outcome.http_status == 503
    assert outcome.attempts == len(sleeps.slept) + 1 >= 2
    assert sleeps.now <= deadline  # no sleep ended past the deadline


@respx.mock
def test_a_retry_after_beyond_the_deadline_gives_up_at_once() -> None:
    respx.post(URL).mock(return_value=httpx.Response(429, headers={"Retry-After": "3600"}))
    sleeps = Sleeps()
    [outcome] = destination(sleeps).send(items(), deadline=60.0)
    assert outcome.status == FAILED_RETRYABLE and sleeps.slept == []


@respx.mock
def test_413_splits_the_batch() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        import gzip
        import json

        logs = json.loads(gzip.decompress(request.content))[0]["logs"]
        return httpx.Response(413 if len(logs) > 2 else 202)

    route = respx.post(URL).mock(side_effect=answer)
    outcomes = destination(Sleeps()).send(items(8), deadline=100.0)
    assert [o.status for o in outcomes] == [DELIVERED] * 8
    assert route.call_count == 1 + 2 + 4  # 8 -> 4+4 -> 2+2+2+2


def test_retry_after_parsing() -> None:
    now = datetime(2026, 11, 29, 12, 0, 0, tzinfo=UTC)
    http_date = format_datetime(now + timedelta(seconds=30), usegmt=True)
    assert retry_after_seconds({"Retry-After": "12"}, now.timestamp()) == 12.0
    assert retry_after_seconds({"retry-after": http_date}, now.timestamp()) == pytest.approx(30.0)
    assert retry_after_seconds({"X-RateLimit-Reset": "4"}, now.timestamp()) == 4.0
    assert retry_after_seconds({"Retry-After": "soon"}, now.timestamp()) is None
    assert retry_after_seconds({"Retry-After": "-5"}, now.timestamp()) == 0.0
    assert retry_after_seconds({}, now.timestamp()) is None


def test_policy_reports_attempts_on_final_failure() -> None:
    sleeps = Sleeps()
    policy = RetryPolicy(clock=sleeps.clock, sleep=sleeps.sleep, max_attempts=4)

    def always_503(timeout: float) -> int:
        raise DeliveryError("down", retryable=True, status=503)

    with pytest.raises(DeliveryError) as raised:
        policy.run(always_503, deadline=1000.0)
    assert raised.value.attempts == 4 and len(sleeps.slept) == 3
    backoffs = sleeps.slept
    assert all(0 <= b <= 20 for b in backoffs)


def _incompressible_log(size: int) -> bytes:
    import random

    noise = random.Random(7).randbytes(size).hex()  # hex of random bytes: gzip halves it at best
    return destination().encoder(parse_event(make_event(event_id="big", reason=noise)), None)


@respx.mock
def test_a_single_log_answered_413_is_shrunk_to_half_and_sent_again() -> None:
    """A vendor answering 413 for one log alone: it is cut to about half its size (its longest
    strings marked) and sent again, as often as it takes, until there is nothing left to cut."""
    import gzip
    import json

    from forwarder.payloads import TRUNCATION_MARKER

    sizes: list[int] = []
    marked: list[bool] = []

    def answer(request: httpx.Request) -> httpx.Response:
        [log] = json.loads(gzip.decompress(request.content))[0]["logs"]
        text = json.dumps(log, separators=(",", ":"), ensure_ascii=False)
        sizes.append(len(text.encode()))
        marked.append(TRUNCATION_MARKER in text)
        return httpx.Response(202 if len(sizes) == 3 else 413)

    respx.post(URL).mock(side_effect=answer)
    part = _incompressible_log(40_000)
    [outcome] = destination(Sleeps()).send([part], deadline=100.0)
    assert outcome.status == DELIVERED and outcome.attempts == 3
    assert sizes[0] == len(part) and sizes[1] <= sizes[0] // 2 and sizes[2] <= sizes[1] // 2
    assert marked == [False, True, True]


@respx.mock
def test_a_log_whose_body_alone_is_over_the_limit_is_shrunk_until_it_fits() -> None:
    """New Relic takes at most 1 MB of gzipped body: one incompressible log over that is cut
    (visibly) before it is sent, the same way a log answered 413 is."""
    import gzip
    import json

    from forwarder.payloads import NR_MAX_BODY_BYTES, TRUNCATION_MARKER

    bodies: list[bytes] = []

    def answer(request: httpx.Request) -> httpx.Response:
        bodies.append(request.content)
        return httpx.Response(202)

    respx.post(URL).mock(side_effect=answer)
    part = _incompressible_log(1_500_000)  # 3 MB of hex: a gzipped body of ~1.6 MB
    [outcome] = destination(Sleeps()).send([part], deadline=100.0)
    [body] = bodies
    assert outcome.status == DELIVERED and len(body) <= NR_MAX_BODY_BYTES
    [log] = json.loads(gzip.decompress(body))[0]["logs"]
    assert log["attributes"]["event_id"] == "big" and TRUNCATION_MARKER in json.dumps(log, ensure_ascii=False)


@pytest.mark.parametrize(("status", "retryable"), [(408, True), (429, True), (499, False), (500, True),
                                                    (501, True), (505, True), (599, True), (404, False)])  # fmt: skip
def test_which_statuses_are_worth_another_try(status: int, retryable: bool) -> None:
    """Timeouts, throttling and every server error; no other client error."""
    assert is_retryable_status(status) is retryable


def test_an_unreadable_retry_after_falls_back_to_the_rate_limit_reset() -> None:
    assert retry_after_seconds({"Retry-After": "soon", "X-RateLimit-Reset": "7"}, 0.0) == 7.0
    assert retry_after_seconds({"Retry-After": "Mon, 99 Foo", "X-RateLimit-Reset": "2.5"}, 0.0) == 2.5


def test_backoff_starts_at_initial_and_never_exceeds_maximum() -> None:
    """Exponential backoff with full jitter: the first wait is at most twice ``initial``, none more
    than ``maximum`` (sleeps recorded, not slept)."""
    waits: list[float] = []
    now = [0.0]

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        now[0] += seconds

    policy = RetryPolicy(initial=0.001, maximum=0.5, max_attempts=40, clock=lambda: now[0], sleep=sleep)

    def failing(timeout: float) -> None:
        raise DeliveryError("503", retryable=True)

    with pytest.raises(DeliveryError):
        policy.run(failing, deadline=1e9)
    assert len(waits) == 39
    assert max(waits[:3]) <= 0.008  # 0.002, 0.004, 0.008 at most
    assert max(waits) <= 0.5 and max(waits) > 0.1  # grows to the cap, not beyond


def test_at_the_deadline_exactly_nothing_is_sent_and_the_failure_stays_retryable() -> None:
    """A deadline already reached sends nothing (not a request with no time to answer) and says so,
    retryable; a Retry-After that ends exactly at the deadline stops the retries with the vendor's
    own answer."""
    now = 100.0
    calls: list[float] = []

    def attempt(timeout: float) -> None:
        calls.append(timeout)
        raise DeliveryError("Datadog is throttling requests (HTTP 429)", retryable=True, retry_after=5.0)

    policy = RetryPolicy(initial=0.01, maximum=0.05, clock=lambda: now, sleep=lambda seconds: None)
    with pytest.raises(DeliveryError, match=r"^deadline reached before the request could be sent$") as late:
        policy.run(attempt, deadline=now)
    assert calls == [] and late.value.retryable is True and late.value.attempts == 0
    with pytest.raises(DeliveryError, match="throttling") as throttled:
        policy.run(attempt, deadline=now + 5.0)
    assert calls == [5.0] and throttled.value.attempts == 1 and throttled.value.retryable is True
