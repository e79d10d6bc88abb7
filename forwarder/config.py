"""Configuration from the environment. Only entry points (Lambda handler, CLI) call ``from_env``.

Every problem is a ``ConfigError`` that names the variable and never echoes a key.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal
from urllib.parse import urlsplit

from forwarder.classify import CATEGORIES
from forwarder.errors import ConfigError
from forwarder.model import SEVERITIES

#: Every environment variable the forwarder reads. infra/ tests compare the Lambda
#: module's environment block against this set.
ENV_VARS: frozenset[str] = frozenset(
    {
        "FORWARDER_DESTINATIONS",
        "FORWARDER_MIN_SEVERITY",
        "FORWARDER_EXCLUDE_CATEGORIES",
        "FORWARDER_ENRICH",
        "ARCHIVE_BUCKET",
        "ARCHIVE_PREFIX",
        "ARCHIVE_KMS_KEY_ID",
        "DD_API_KEY",
        "DD_API_KEY_SECRET_ARN",
        "DD_API_KEY_SSM_PARAMETER",
        "DD_SITE",
        "DD_TAGS",
        "DD_SOURCE",
        "DD_LOGS_URL",
        "NEW_RELIC_LICENSE_KEY",
        "NEW_RELIC_LICENSE_KEY_SECRET_ARN",
        "NEW_RELIC_LICENSE_KEY_SSM_PARAMETER",
        "NEW_RELIC_REGION",
        "NEW_RELIC_LOGS_URL",
    }
)

#: Variables that carry a key in plain text. The Terraform module never sets them:
#: keys are referenced by secret ARN or SSM parameter name only.
PLAINTEXT_KEY_VARS: frozenset[str] = frozenset({"DD_API_KEY", "NEW_RELIC_LICENSE_KEY"})

DESTINATIONS = ("datadog", "newrelic", "stdout")
DD_SITES = (
    "datadoghq.com",
    "us3.datadoghq.com",
    "us5.datadoghq.com",
    "datadoghq.eu",
    "ap1.datadoghq.com",
    "ap2.datadoghq.com",
    "uk1.datadoghq.com",
    "ddog-gov.com",
)
NEW_RELIC_LOG_URLS = {
    "US": "https://log-api.newrelic.com/log/v1",
    "EU": "https://log-api.eu.newrelic.com/log/v1",
    "FEDRAMP": "https://gov-log-api.newrelic.com/log/v1",
}
DEFAULT_ARCHIVE_PREFIX = "ecs-task-stop-log/"

KeyKind = Literal["value", "secretsmanager", "ssm"]


@dataclass(frozen=True)
class KeyRef:
    """Where a vendor key comes from. ``reference`` is the key itself for ``value``: never printed."""

    variable: str
    kind: KeyKind
    reference: str = field(repr=False)

    def describe(self) -> str:
        if self.kind == "value":
            return f"{self.variable} (set directly)"
        return f"{self.variable}={self.reference}"


@dataclass(frozen=True)
class DatadogConfig:
    site: str = "datadoghq.com"
    url: str = "https://http-intake.logs.datadoghq.com/api/v2/logs"
    source: str = "ecs"
    tags: tuple[str, ...] = ()
    key: KeyRef | None = None


@dataclass(frozen=True)
class NewRelicConfig:
    region: str = "US"
    url: str = NEW_RELIC_LOG_URLS["US"]
    key: KeyRef | None = None


@dataclass(frozen=True)
class Settings:
    destinations: tuple[str, ...] = ("stdout",)
    destinations_explicit: bool = False
    datadog: DatadogConfig = DatadogConfig()
    newrelic: NewRelicConfig = NewRelicConfig()
    archive_bucket: str | None = None
    archive_prefix: str = DEFAULT_ARCHIVE_PREFIX
    archive_kms_key_id: str | None = None
    min_severity: str = "info"
    exclude_categories: frozenset[str] = frozenset()

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> Settings:
        env = {name: value.strip() for name, value in environ.items() if name in ENV_VARS and value.strip()}
        datadog = _datadog(env)
        newrelic = _newrelic(env)
        explicit = "FORWARDER_DESTINATIONS" in env
        if explicit:
            destinations = parse_destinations(env["FORWARDER_DESTINATIONS"], "FORWARDER_DESTINATIONS")
        else:  # the vendors whose key is configured; stdout when none is
            found = [name for name, cfg in (("datadog", datadog), ("newrelic", newrelic)) if cfg.key]
            destinations = tuple(found) or ("stdout",)
        min_severity = env.get("FORWARDER_MIN_SEVERITY", "info").lower()
        if min_severity not in SEVERITIES:
            raise ConfigError(
                f"FORWARDER_MIN_SEVERITY must be one of {', '.join(SEVERITIES)}, got {min_severity!r}"
            )
        excluded = frozenset(_split(env.get("FORWARDER_EXCLUDE_CATEGORIES", "")))
        unknown = sorted(excluded - set(CATEGORIES))
        if unknown:
            raise ConfigError(f"FORWARDER_EXCLUDE_CATEGORIES has unknown categories: {', '.join(unknown)}")
        prefix = env.get("ARCHIVE_PREFIX", DEFAULT_ARCHIVE_PREFIX)
        return cls(
            destinations=destinations,
            destinations_explicit=explicit,
            datadog=datadog,
            newrelic=newrelic,
            archive_bucket=env.get("ARCHIVE_BUCKET"),
            archive_prefix=prefix if prefix.endswith("/") else prefix + "/",
            archive_kms_key_id=env.get("ARCHIVE_KMS_KEY_ID"),
            min_severity=min_severity,
            exclude_categories=excluded,
        )


def _split(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]


def parse_destinations(value: str, where: str) -> tuple[str, ...]:
    names = tuple(dict.fromkeys(name.lower() for name in _split(value)))
    unknown = [name for name in names if name not in DESTINATIONS]
    if unknown or not names:
        raise ConfigError(
            f"{where}: unknown destination(s) {', '.join(unknown) or '(none given)'}; "
            f"choose from {', '.join(DESTINATIONS)}"
        )
    return names


def _key(env: Mapping[str, str], value_var: str, secret_var: str, ssm_var: str) -> KeyRef | None:
    kinds: tuple[tuple[str, KeyKind], ...] = (
        (value_var, "value"),
        (secret_var, "secretsmanager"),
        (ssm_var, "ssm"),
    )
    given = [KeyRef(var, kind, env[var]) for var, kind in kinds if var in env]
    if len(given) > 1:
        raise ConfigError(f"set only one of {', '.join(ref.variable for ref in given)}")
    return given[0] if given else None


def is_loopback(host: str | None) -> bool:
    if host is None:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_url(url: str, variable: str) -> str:
    """An intake URL override: https anywhere, plain http only on a loopback host."""
    parts = urlsplit(url)
    if parts.scheme == "https" and parts.hostname:
        return url
    if parts.scheme == "http" and is_loopback(parts.hostname):
        return url
    if parts.scheme == "http":
        raise ConfigError(
            f"{variable}: plain http:// is only allowed to a loopback host, got {parts.hostname}"
        )
    raise ConfigError(f"{variable}: not an http(s) URL: {url[:100]!r}")


def _datadog(env: Mapping[str, str]) -> DatadogConfig:
    site = env.get("DD_SITE", "datadoghq.com").lower()
    if site not in DD_SITES:
        raise ConfigError(f"DD_SITE {site!r} is not a Datadog site; use one of {', '.join(DD_SITES)}")
    url = env.get("DD_LOGS_URL") or f"https://http-intake.logs.{site}/api/v2/logs"
    if "DD_LOGS_URL" in env:
        check_url(url, "DD_LOGS_URL")
        if urlsplit(url).path.rstrip("/") not in ("", "/api/v2/logs"):
            raise ConfigError("DD_LOGS_URL must end in /api/v2/logs (or be a bare scheme://host:port)")
    tags = tuple(_split(env.get("DD_TAGS", "").replace(" ", ",")))  # the agent's format: spaces or commas
    return DatadogConfig(
        site=site,
        url=url,
        source=env.get("DD_SOURCE", "ecs"),
        tags=tags,
        key=_key(env, "DD_API_KEY", "DD_API_KEY_SECRET_ARN", "DD_API_KEY_SSM_PARAMETER"),
    )


def _newrelic(env: Mapping[str, str]) -> NewRelicConfig:
    region = env.get("NEW_RELIC_REGION", "US").upper()
    if region not in NEW_RELIC_LOG_URLS:
        raise ConfigError(f"NEW_RELIC_REGION {region!r} is not one of {', '.join(NEW_RELIC_LOG_URLS)}")
    url = env.get("NEW_RELIC_LOGS_URL") or NEW_RELIC_LOG_URLS[region]
    if "NEW_RELIC_LOGS_URL" in env:
        check_url(url, "NEW_RELIC_LOGS_URL")
    return NewRelicConfig(
        region=region,
        url=url,
        key=_key(
            env,
            "NEW_RELIC_LICENSE_KEY",
            "NEW_RELIC_LICENSE_KEY_SECRET_ARN",
            "NEW_RELIC_LICENSE_KEY_SSM_PARAMETER",
        ),
    )
