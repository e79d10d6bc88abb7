"""Vendor keys from Secrets Manager and SSM through the local AWS emulator over HTTP."""

from __future__ import annotations

import json
from typing import Any

import pytest

from forwarder.config import KeyRef
from forwarder.errors import ConfigError
from forwarder.secrets import KeyResolver
from tests.aws import MotoServer


class CountingFactory:
    """Hands out emulator clients and counts the calls made through them."""

    def __init__(self, server: MotoServer) -> None:
        self.server = server
        self.calls = 0

    def __call__(self, service: str) -> Any:
        client = self.server.client(service)
        client.meta.events.register("before-call.*.*", self._count)
        return client

    def _count(self, **_: Any) -> None:
        self.calls += 1


def test_plain_json_and_ssm_keys(aws: MotoServer) -> None:
    sm, ssm = aws.client("secretsmanager"), aws.client("ssm")
    plain = sm.create_secret(Name="dd-plain", SecretString="dd-key-plain\n")["ARN"]
    as_json = sm.create_secret(Name="dd-json", SecretString=json.dumps({"api_key": "dd-key-json"}))["ARN"]
    ssm.put_parameter(Name="/ecs/nr-key", Value="nr-key-ssm", Type="SecureString")
    resolver = KeyResolver(aws.client)
    assert resolver.resolve(KeyRef("DD_API_KEY_SECRET_ARN", "secretsmanager", plain)) == "dd-key-plain"
    assert resolver.resolve(KeyRef("DD_API_KEY_SECRET_ARN", "secretsmanager", as_json)) == "dd-key-json"
    assert (
        resolver.resolve(KeyRef("NEW_RELIC_LICENSE_KEY_SSM_PARAMETER", "ssm", "/ecs/nr-key")) == "nr-key-ssm"
    )
    assert resolver.resolve(KeyRef("DD_API_KEY", "value", "direct")) == "direct"


def test_lookups_are_cached_for_the_ttl(aws: MotoServer) -> None:
    arn = aws.client("secretsmanager").create_secret(Name="k", SecretString="v1")["ARN"]
    now = [0.0]
    factory = CountingFactory(aws)
    resolver = KeyResolver(factory, ttl_seconds=300, clock=lambda: now[0])
    ref = KeyRef("DD_API_KEY_SECRET_ARN", "secretsmanager", arn)
    assert [resolver.resolve(ref) for _ in range(5)] == ["v1"] * 5
    assert factory.calls == 1
    aws.client("secretsmanager").put_secret_value(SecretId=arn, SecretString="v2")
    now[0] = 301.0
    assert resolver.resolve(ref) == "v2"  # rotated keys are picked up after the TTL
    assert factory.calls == 2


def test_missing_or_malformed_secret_names_the_variable_not_the_value(aws: MotoServer) -> None:
    sm = aws.client("secretsmanager")
    resolver = KeyResolver(aws.client)
    missing = "arn:aws:secretsmanager:us-east-1:123456789012:secret:nope-AbCdEf"
    with pytest.raises(ConfigError) as raised:
        resolver.resolve(KeyRef("DD_API_KEY_SECRET_ARN", "secretsmanager", missing))
    assert "DD_API_KEY_SECRET_ARN" in str(raised.value) and "ResourceNotFoundException" in str(raised.value)
    bad_json = sm.create_secret(Name="bad", SecretString='{"apikey": "canary-wrong-field"}')["ARN"]
    with pytest.raises(ConfigError, match='no string "api_key"') as raised:
        resolver.resolve(KeyRef("DD_API_KEY_SECRET_ARN", "secretsmanager", bad_json))
    assert "canary-wrong-field" not in str(raised.value)
    with pytest.raises(
        ConfigError, match="NEW_RELIC_LICENSE_KEY_SSM_PARAMETER=/missing: cannot read the key"
    ):
        resolver.resolve(KeyRef("NEW_RELIC_LICENSE_KEY_SSM_PARAMETER", "ssm", "/missing"))
    empty = sm.create_secret(Name="empty", SecretString="   ")["ARN"]
    with pytest.raises(ConfigError, match="empty"):
        resolver.resolve(KeyRef("DD_API_KEY_SECRET_ARN", "secretsmanager", empty))


def test_key_ref_repr_hides_a_direct_key() -> None:
    ref = KeyRef("DD_API_KEY", "value", "canary-direct-key")
    assert "canary-direct-key" not in repr(ref) and "canary-direct-key" not in ref.describe()
