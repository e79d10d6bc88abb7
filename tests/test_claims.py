"""The pure rules of claims and merges (forwarder.claims); the concurrent runs are in test_concurrency."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from forwarder.claims import claim, claim_entry, not_sent, settle, settled, state

NOW = datetime(2026, 11, 28, 10, 0, tzinfo=UTC)
LATER = NOW + timedelta(seconds=30)
DELIVERED = {"status": "delivered", "attempts": 2, "http_status": 202, "error": None, "at": "x"}
FAILED = {"status": "failed-retryable", "attempts": 3, "http_status": 503, "error": "503", "at": "x"}
MINE = claim_entry(FAILED, "me", LATER, NOW)
THEIRS = claim_entry(None, "them", LATER, NOW)


def test_state() -> None:
    assert state(None, "me", NOW) == "free"
    assert state(DELIVERED, "me", NOW) == "done"
    assert state({"status": "skipped", "reason": "r"}, "me", NOW) == "done"
    assert state(FAILED, "me", NOW) == "free"
    assert state({"status": "failed-permanent"}, "me", NOW) == "free"
    assert state(MINE, "me", NOW) == "mine"
    assert state(THEIRS, "me", NOW) == "theirs"
    assert state(THEIRS, "me", LATER) == "free"  # expired: its container died
    assert state({"status": "in-flight", "claimed_by": "them"}, "me", NOW) == "free"  # no expiry: not a claim
    assert state({"status": "in-flight", "claimed_by": "them", "expires": "soon"}, "me", NOW) == "free"
    assert state("nonsense", "me", NOW) == "free"


def test_a_claim_keeps_the_attempts_and_says_whose_expired_claim_it_took_over() -> None:
    assert MINE == {"status": "in-flight", "claimed_by": "me", "expires": "2026-11-28T10:00:30.000Z",
                    "attempts": 3, "at": "2026-11-28T10:00:00.000Z"}  # fmt: skip
    assert claim_entry(THEIRS, "me", LATER, LATER)["took_over_from"] == "them"


def test_claim_takes_what_is_free_and_leaves_the_rest() -> None:
    deliveries = {"datadog": DELIVERED, "newrelic": THEIRS, "stdout": FAILED}
    found = claim(deliveries, ("datadog", "newrelic", "stdout"), {}, token="me", expires=LATER, now=NOW)
    assert found.mine == {"stdout"} and found.theirs == {"newrelic"}
    assert found.deliveries["datadog"] == DELIVERED and found.deliveries["newrelic"] == THEIRS
    assert found.deliveries["stdout"]["claimed_by"] == "me" and found.deliveries["stdout"]["attempts"] == 3
    again = claim(found.deliveries, ("stdout",), {}, token="me", expires=LATER, now=NOW)
    assert again.mine == {"stdout"} and again.deliveries == found.deliveries  # already mine: nothing to write


def test_claim_records_the_filters_decision_instead_of_claiming() -> None:
    skip = {"status": "skipped", "reason": "severity info is below", "at": "x"}
    found = claim({}, ("datadog",), {"datadog": skip}, token="me", expires=LATER, now=NOW)
    assert found.mine == set() and found.deliveries == {"datadog": skip}


def test_settled_delivered_by_either_writer_stays_delivered_and_attempts_add_up() -> None:
    mine_ok = {"status": "delivered", "attempts": 1, "http_status": 202, "error": None, "at": "y"}
    mine_failed = {"status": "failed-retryable", "attempts": 4, "http_status": 503, "error": "e", "at": "y"}
    assert settled(MINE, mine_ok, "me", NOW) == {**mine_ok, "attempts": 4}
    assert settled(DELIVERED, mine_failed, "me", NOW) == {**DELIVERED, "attempts": 6}
    assert settled(FAILED, mine_ok, "me", NOW) == {**mine_ok, "attempts": 4}
    assert settled(FAILED, mine_failed, "me", NOW) == {**mine_failed, "attempts": 7}
    # Another live invocation took it over: its claim stays, with my attempts counted.
    assert settled(THEIRS, mine_failed, "me", NOW) == {**THEIRS, "attempts": 4}
    assert settled(THEIRS, mine_ok, "me", NOW)["status"] == "delivered"
    assert settle({"datadog": MINE}, {"datadog": mine_ok}, "me", NOW) == {"datadog": {**mine_ok, "attempts": 4}}


def test_not_sent_releases_a_claim_as_retryable() -> None:
    released = settled(MINE, not_sent("ConfigError: DD_API_KEY_SECRET_ARN=arn: cannot read the key"), "me", NOW)
    assert released["status"] == "failed-retryable" and released["attempts"] == 3
    assert released["error"].startswith("not sent: ConfigError")
