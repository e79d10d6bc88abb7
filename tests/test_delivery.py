"""Both vendors over real HTTP against the loopback intakes: limits, 413 splits, faults, no key leaks."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

import pytest

from forwarder.destinations.base import DELIVERED, FAILED_PERMANENT, FAILED_RETRYABLE, deadline_in
from forwarder.destinations.clients import HttpClient, Urllib3Client
from forwarder.destinations.datadog import DatadogDestination
from forwarder.destinations.httpx_client import HttpxClient
from forwarder.destinations.newrelic import NewRelicDestination
from forwarder.parse import parse_event
from forwarder.payloads import encode
from forwarder.pipeline import deliver
from forwarder.retry import RetryPolicy
from tests.events import container, make_event
from tests.fixtures import stopped_events
from tests.intakes import AcceptThenDrop, DatadogIntake, Drop, NewRelicIntake, Respond, Slow

DD_KEY = "canary-dd-key-3f9a"
NR_KEY = "canary-nr-key-7c21"
FAST = RetryPolicy(initial=0.01, maximum=0.05)


Http = Callable[..., HttpClient]


@pytest.fixture(params=["urllib3", "httpx"])
def http(request: pytest.FixtureRequest) -> Http:
    """Each test runs through both clients: urllib3 (the Lambda's) and httpx (the command line's)."""
    return Urllib3Client if request.param == "urllib3" else HttpxClient  # type: ignore[no-any-return]


@pytest.fixture
def dd() -> DatadogIntake:
    intake = DatadogIntake(valid_keys={DD_KEY})
    yield intake  # type: ignore[misc]
    intake.close()


@pytest.fixture
def nr() -> NewRelicIntake:
    intake = NewRelicIntake(valid_keys={NR_KEY})
    yield intake  # type: ignore[misc]
    intake.close()


def records(n: int | None = None) -> list:  # type: ignore[type-arg]
    events = stopped_events()
    if n is not None:
        events = [make_event(event_id=f"ev-{i}", stop_code="EssentialContainerExited",
                             containers=[container("app", 1)]) for i in range(n)]  # fmt: skip
    return [parse_event(e) for e in events]


def test_every_fixture_reaches_both_vendors_exactly_once(http: Http, dd: DatadogIntake, nr: NewRelicIntake) -> None:
    stops = records()
    destinations = [DatadogDestination(DD_KEY, dd.url, tags=("env:test",), policy=FAST, client=http(dd.url)),
                    NewRelicDestination(NR_KEY, nr.url, policy=FAST, client=http(nr.url))]  # fmt: skip
    outcomes = deliver(stops, destinations, deadline_in(30))
    assert all(o[name].status == DELIVERED for o in outcomes for name in ("datadog", "newrelic"))
    ids = sorted(r.event_id for r in stops)
    assert sorted(log["ecs_stop"]["event_id"] for log in dd.accepted) == ids
    assert sorted(log["event_id"] for log in nr.accepted) == ids
    assert dd.truncated_by_vendor == []
    assert all(log["logtype"] == "ecs-task-stop" for log in nr.accepted)
    assert {r.headers.get("content-encoding") for r in dd.requests + nr.requests} == {"gzip"}


def test_1001_logs_make_two_datadog_requests(http: Http, dd: DatadogIntake) -> None:
    outcomes = DatadogDestination(DD_KEY, dd.url, policy=FAST, client=http(dd.url)).send(
        [encode({"message": f"m{i}", "ddsource": "ecs"}) for i in range(1001)], deadline_in(30)
    )
    assert all(o.status == DELIVERED for o in outcomes)
    assert [r.log_count for r in dd.requests] == [1000, 1]
    assert len(dd.accepted) == 1001


def test_413_splits_and_every_log_arrives_once(http: Http, dd: DatadogIntake, nr: NewRelicIntake) -> None:
    dd.script(Respond(413))
    nr.script(Respond(413))
    stops = records(10)
    destinations = [
        DatadogDestination(DD_KEY, dd.url, policy=FAST, client=http(dd.url)),
        NewRelicDestination(NR_KEY, nr.url, policy=FAST, client=http(nr.url)),
    ]
    outcomes = deliver(stops, destinations, deadline_in(30))
    assert all(o[name].status == DELIVERED for o in outcomes for name in ("datadog", "newrelic"))
    assert [r.log_count for r in dd.requests] == [10, 5, 5]
    assert [r.log_count for r in nr.requests] == [10, 5, 5]
    assert len(dd.accepted) == len(nr.accepted) == 10


def test_throttling_and_outages_are_ridden_out(http: Http, dd: DatadogIntake, nr: NewRelicIntake) -> None:
    dd.script(Respond(429, {"X-RateLimit-Reset": "0"}), Respond(503), Drop())
    nr.script(Respond(500), Respond(429, {"Retry-After": "0"}), Drop())
    stops = records(3)
    destinations = [
        DatadogDestination(DD_KEY, dd.url, policy=FAST, client=http(dd.url)),
        NewRelicDestination(NR_KEY, nr.url, policy=FAST, client=http(nr.url)),
    ]
    outcomes = deliver(stops, destinations, deadline_in(30))
    assert [o["datadog"].attempts for o in outcomes] == [4, 4, 4]
    assert [o["newrelic"].attempts for o in outcomes] == [4, 4, 4]
    assert len(dd.accepted) == len(nr.accepted) == 3


def test_slow_vendor_times_out_and_is_retried(http: Http, nr: NewRelicIntake) -> None:
    nr.script(Slow(1.0))
    newrelic = NewRelicDestination(NR_KEY, nr.url, policy=FAST, client=http(nr.url, read_timeout=0.3))
    [outcome] = newrelic.send([newrelic.encoder(records(1)[0], None)], deadline_in(30))
    assert outcome.status == DELIVERED and outcome.attempts == 2
    # The slow answer is still accepted by the vendor when it finishes: a duplicate, as at-least-once allows.
    give_up = time.monotonic() + 3
    while len(nr.accepted) < 2 and time.monotonic() < give_up:
        time.sleep(0.05)
    assert len(nr.accepted) == 2


def test_accepted_then_dropped_is_a_duplicate_not_a_loss(http: Http, dd: DatadogIntake) -> None:
    dd.script(AcceptThenDrop())
    [outcome] = DatadogDestination(DD_KEY, dd.url, policy=FAST, client=http(dd.url)).send([encode({"message": "once"})], deadline_in(30))
    assert outcome.status == DELIVERED and outcome.attempts == 2
    assert dd.accepted_count_by(lambda log: log["message"])["once"] == 2


def test_wrong_keys_fail_permanently_with_a_clear_error(http: Http, dd: DatadogIntake, nr: NewRelicIntake) -> None:
    stops = records(2)
    destinations = [DatadogDestination("canary-wrong-dd", dd.url, policy=FAST, client=http(dd.url)),
                    NewRelicDestination("canary-wrong-nr", nr.url, policy=FAST, client=http(nr.url))]  # fmt: skip
    outcomes = deliver(stops, destinations, deadline_in(30))
    for name in ("datadog", "newrelic"):
        outcome = outcomes[0][name]
        assert outcome.status == FAILED_PERMANENT and outcome.http_status == 403 and outcome.attempts == 1
        assert outcome.error is not None and "rejected the API key (HTTP 403)" in outcome.error
        assert "canary-wrong" not in outcome.error
    assert dd.accepted == [] and nr.accepted == []


def test_outage_until_the_deadline_is_retryable(http: Http, dd: DatadogIntake) -> None:
    dd.fail_all(503)
    [outcome] = DatadogDestination(DD_KEY, dd.url, policy=FAST, client=http(dd.url)).send([encode({"message": "x"})], deadline_in(1.0))
    assert outcome.status == FAILED_RETRYABLE and outcome.http_status == 503 and outcome.attempts >= 2


def test_datadog_key_validation(http: Http, dd: DatadogIntake) -> None:
    assert DatadogDestination(DD_KEY, dd.url, client=http(dd.url)).validate_key() == (True, "API key valid")
    valid, said = DatadogDestination("canary-bad", dd.url, client=http(dd.url)).validate_key()
    assert not valid and "rejected the API key (HTTP 403)" in said and "canary-bad" not in said


def test_keys_never_leak_into_logs_exceptions_or_payloads(
    http: Http,
    dd: DatadogIntake,
    nr: NewRelicIntake,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    caplog.set_level(logging.DEBUG)
    dd.script(Respond(500, body=f"oops {DD_KEY}".encode()), Respond(403, body=DD_KEY.encode()))
    nr.script(Respond(503, body=NR_KEY.encode()))
    destinations = [
        DatadogDestination(DD_KEY, dd.url, policy=FAST, client=http(dd.url)),
        NewRelicDestination(NR_KEY, nr.url, policy=FAST, client=http(nr.url)),
    ]
    outcomes = deliver(records(4), destinations, deadline_in(30))
    seen = caplog.text + "".join(capsys.readouterr()) + repr(outcomes)
    for request in dd.requests + nr.requests:
        headers = dict(request.headers)
        headers.pop("dd-api-key", None)
        headers.pop("api-key", None)
        seen += repr(headers) + request.body.decode(errors="replace")
    assert DD_KEY not in seen and NR_KEY not in seen
    assert any(r.headers.get("dd-api-key") == DD_KEY for r in dd.requests)  # only the auth header has it
    assert any(r.headers.get("api-key") == NR_KEY for r in nr.requests)


def test_a_2mb_reason_is_cut_by_us_not_by_the_vendor(http: Http, dd: DatadogIntake, nr: NewRelicIntake) -> None:
    event = make_event(reason="CannotPullContainerError: " + "y" * 2_000_000, event_id="huge")
    destinations = [
        DatadogDestination(DD_KEY, dd.url, policy=FAST, client=http(dd.url)),
        NewRelicDestination(NR_KEY, nr.url, policy=FAST, client=http(nr.url)),
    ]
    [outcome] = deliver([parse_event(event)], destinations, deadline_in(30))
    assert outcome["datadog"].status == DELIVERED and outcome["newrelic"].status == DELIVERED
    assert dd.truncated_by_vendor == []
    assert dd.accepted[0]["ecs_stop"]["stopped_reason"].endswith("[truncated by ecs-stop-forwarder]")
    assert nr.accepted[0]["event_id"] == "huge"


def test_every_client_shares_one_tls_context_that_verifies(monkeypatch: pytest.MonkeyPatch) -> None:
    """Building TLS settings loads the CA bundle (~20 ms of CPU), and replay builds a destination
    per sender thread: the clients share one context, built once, that still verifies
    certificates and host names."""
    import ssl

    from forwarder.destinations import clients

    built: list[object] = []
    real = ssl.create_default_context

    def counted(*args: object, **kwargs: object) -> ssl.SSLContext:
        built.append(args or kwargs)
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(ssl, "create_default_context", counted)
    clients._tls_context_future.cache_clear()
    destinations = [DatadogDestination(DD_KEY, "https://127.0.0.1:9/a"), NewRelicDestination(NR_KEY, "https://127.0.0.1:9/b"),
                    DatadogDestination(DD_KEY, "https://127.0.0.1:9/c", client=Urllib3Client("https://127.0.0.1:9/c")),
                    NewRelicDestination(NR_KEY, "https://127.0.0.1:9/d", client=Urllib3Client("https://127.0.0.1:9/d"))]  # fmt: skip
    try:
        assert len(built) == 1
        context = clients.tls_context()
        assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
    finally:
        for destination in destinations:
            destination.close()
        clients._tls_context_future.cache_clear()  # the next test builds its own, unpatched
