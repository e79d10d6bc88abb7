"""Secrets are scrubbed from anything that leaves the process; names and shape stay."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from forwarder.redact import REDACTED, looks_secret, redact
from tests.events import make_event


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


@settings(max_examples=300, deadline=None)
@given(_json)
def test_redact_is_total_and_idempotent(value: object) -> None:
    once = redact(value)
    assert redact(once) == once
    json.dumps(once)  # still JSON
