"""Secrets are scrubbed from anything that leaves the process; names and shape stay."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from forwarder.redact import REDACTED, looks_secret, redact
from tests.events import make_event
from tests.examples import examples


def test_override_environment_values_and_secret_keys_are_redacted() -> None:
    event = make_event(
        overrides={
            "containerOverrides": [
                {
                    "name": "app",
                    "environment": [
                        {"name": "DB_PASSWORD", "value": "canary-pw-1"},
                        {"name": "FEATURE_FLAG", "value": "canary-plain-2"},
                    ],
                    "command": ["run"],
                }
            ]
        },
        apiKey="canary-key-3",
        nested={"client_secret": "canary-4", "Private-Key": "canary-5", "token": None},
    )
    original = json.dumps(event)
    scrubbed = json.dumps(redact(event))
    for canary in ("canary-pw-1", "canary-plain-2", "canary-key-3", "canary-4", "canary-5"):
        assert canary in original and canary not in scrubbed
    assert "DB_PASSWORD" in scrubbed and "FEATURE_FLAG" in scrubbed  # names stay
    out = redact(event)
    assert out["detail"]["overrides"]["containerOverrides"][0]["command"] == ["run"]
    assert out["detail"]["nested"]["token"] is None
    assert json.dumps(event) == original  # the input is not mutated


def test_name_value_pairs_with_secret_names_are_redacted_anywhere() -> None:
    out = redact({"items": [{"name": "GITHUB_TOKEN", "value": "ghp_x"}, {"name": "REGION", "value": "eu"}]})
    assert out == {"items": [{"name": "GITHUB_TOKEN", "value": REDACTED}, {"name": "REGION", "value": "eu"}]}


def test_secret_looking_names() -> None:
    for name in (
        "password",
        "DB_PASSWD",
        "apiKey",
        "api-key",
        "X_API_KEY",
        "credentials",
        "privateKey",
        "token",
    ):
        assert looks_secret(name), name
    for name in ("name", "stoppedReason", "image", "exitCode", "taskArn"):
        assert not looks_secret(name), name


_leaf = st.none() | st.booleans() | st.integers() | st.text(max_size=8)
_json = st.recursive(
    _leaf,
    lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=10), c, max_size=4),
    max_leaves=25,
)


@settings(max_examples=examples(300), deadline=None)
@given(_json)
def test_redact_is_total_and_idempotent(value: object) -> None:
    once = redact(value)
    assert redact(once) == once
    json.dumps(once)  # still JSON


# -- free text (container log lines) --------------------------------------------------------------

import pytest  # noqa: E402

from forwarder.redact import redact_text  # noqa: E402


@pytest.mark.parametrize(
    ("line", "secret", "kept"),
    [
        ("DB_PASSWORD=canary-t1 connecting", "canary-t1", "DB_PASSWORD="),
        ('{"api_key": "canary-t2", "user": "books"}', "canary-t2", '"user": "books"'),
        ("GET /v1 Authorization: Bearer canary-t3.x.y", "canary-t3", "Authorization: Bearer"),
        ("curl -H 'authorization: Basic Y2FuYXJ5LXQ0OnB3' https://api", "Y2FuYXJ5LXQ0OnB3", "https://api"),
        ("connecting to postgres://books:canary-t5@db.internal:5432/books", "canary-t5", "@db.internal:5432"),
        ("session eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJjYW5hcnkifQ.c2lnbmF0dXJl ok", "eyJzdWIiOiJjYW5hcnkifQ", "ok"),
        ("using key AKIAIOSFODNN7CANARY6 for s3", "AKIAIOSFODNN7CANARY6", "for s3"),
        ("aws_secret_access_key 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", "wJalrXUtnFEMI/K7MDENG", "aws_secret"),
        ("-----BEGIN RSA PRIVATE KEY----- MIIEcanary8 -----END RSA PRIVATE KEY----- done", "MIIEcanary8", "done"),
        ("client_secret: canary-t9", "canary-t9", "client_secret:"),
    ],
)
def test_secret_looking_values_in_log_lines_are_redacted(line: str, secret: str, kept: str) -> None:
    out = redact_text(line)
    assert secret not in out and REDACTED in out and kept in out


@pytest.mark.parametrize(
    "line",
    [
        "exec /usr/local/bin/newarrivals: exec format error",
        "An error occurred (AccessDenied) when calling the GetObject operation: Access Denied",
        "password authentication failed for user books",
        "commit 3b9e0f2c4a6d8e1f0a2b4c6d8e0f1a3b5c7d9e1f deployed",  # a lower-case hex digest is no key
        "image sha256:3b9e0f2c4a6d8e1f0a2b4c6d8e0f1a3b5c7d9e1f3a5b7c9d1e3f5a7b9c1d3e5f",
    ],
)
def test_ordinary_log_lines_are_left_alone(line: str) -> None:
    assert redact_text(line) == line


def test_the_shapes_an_environment_can_take_are_redacted_as_documented() -> None:
    """An entry that is not an object, or an environment that is not a list, is replaced whole by
    the marker (a null stays null); a ``value`` outside an environment entry or a secret pair is
    data, even at the top."""
    out = redact({"environment": ["DB_PASSWORD=hunter2", {"name": "A", "value": "v"}, 7]})
    assert out["environment"] == [REDACTED, {"name": "A", "value": REDACTED}, REDACTED]
    assert redact({"environment": "DB_PASSWORD=hunter2"}) == {"environment": REDACTED}
    assert redact({"environment": {"DB_PASSWORD": "x"}}) == {"environment": REDACTED}
    assert redact({"environment": None}) == {"environment": None}
    assert redact({"value": "kept", "name": "plain"}) == {"value": "kept", "name": "plain"}


def test_a_secret_key_gets_the_marker_and_plain_name_value_pairs_keep_their_value() -> None:
    out = redact({"apiKey": "k-1", "detail": {"attributes": [{"name": "ecs.cpu-architecture", "value": "x86_64"}],
                                              "nested": {"value": "plain"}}})  # fmt: skip
    assert out["apiKey"] == REDACTED  # the marker, not a null: a reader sees something was there
    assert out["detail"]["attributes"][0]["value"] == "x86_64"
    assert out["detail"]["nested"]["value"] == "plain"
