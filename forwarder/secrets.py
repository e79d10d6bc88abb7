"""Vendor keys from the environment, Secrets Manager or SSM Parameter Store, cached with a TTL.

The AWS clients come from an injected factory (``boto3.client`` in production, a client pointed at
a local emulator in tests). Errors name the variable and the secret's ARN or parameter name,
never a value.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from forwarder.config import KeyRef
from forwarder.errors import ConfigError
from forwarder.quiet import unlogged

ClientFactory = Callable[[str], Any]


class KeyResolver:
    def __init__(
        self,
        client_factory: ClientFactory,
        ttl_seconds: float = 300.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._factory = client_factory
        self._clients: dict[str, Any] = {}
        self._ttl = ttl_seconds
        self._clock = clock
        self._cache: dict[KeyRef, tuple[float, str]] = {}

    def forget(self) -> None:
        """Drop every key read and every client (a SnapStart restore: read them again)."""
        self._cache.clear()
        self._clients.clear()

    def _client(self, service: str) -> Any:
        if service not in self._clients:
            self._clients[service] = self._factory(service)
        return self._clients[service]

    def resolve(self, ref: KeyRef) -> str:
        """The key ``ref`` points at; looked up at most once per TTL."""
        if ref.kind == "value":
            return ref.reference
        cached = self._cache.get(ref)
        if cached is not None and self._clock() < cached[0]:
            return cached[1]
        value = self._fetch(ref)
        if not value:
            raise ConfigError(f"{ref.describe()}: the secret is empty")
        self._cache[ref] = (self._clock() + self._ttl, value)
        return value

    def _fetch(self, ref: KeyRef) -> str:
        with unlogged():  # botocore's debug log would hold the key
            return self._read(ref)

    def _read(self, ref: KeyRef) -> str:
        try:
            if ref.kind == "secretsmanager":
                answer = self._client("secretsmanager").get_secret_value(SecretId=ref.reference)
                return _api_key(answer.get("SecretString") or "", ref)
            answer = self._client("ssm").get_parameter(Name=ref.reference, WithDecryption=True)
            return str(answer["Parameter"]["Value"]).strip()
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "error")
            raise ConfigError(f"{ref.describe()}: cannot read the key ({code})") from None
        except BotoCoreError as exc:
            raise ConfigError(f"{ref.describe()}: cannot read the key ({type(exc).__name__})") from None


def _api_key(secret: str, ref: KeyRef) -> str:
    """A plain string secret, or JSON with ``api_key`` (the shape Firehose also reads)."""
    text = secret.strip()
    if not text.startswith("{"):
        return text
    try:
        document = json.loads(text)
    except ValueError:
        raise ConfigError(f"{ref.describe()}: the secret looks like JSON but does not parse") from None
    key = document.get("api_key") if isinstance(document, dict) else None
    if not isinstance(key, str):
        raise ConfigError(f'{ref.describe()}: the JSON secret has no string "api_key" field')
    return key.strip()
