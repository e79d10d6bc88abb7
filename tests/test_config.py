"""Settings from the environment: defaults, every site and region, clear errors naming the variable."""

from __future__ import annotations

import pytest

from forwarder.config import DD_SITES, ENV_VARS, NEW_RELIC_LOG_URLS, Settings
from forwarder.errors import ConfigError


def test_defaults_send_to_stdout_and_archive_under_the_firehose_prefix() -> None:
    settings = Settings.from_env({})
    assert settings.destinations == ("stdout",) and not settings.destinations_explicit
    assert settings.archive_prefix == "ecs-task-stop-log/"
    assert settings.min_severity == "info" and settings.exclude_categories == frozenset()


def test_configured_keys_choose_the_destinations() -> None:
    settings = Settings.from_env({"DD_API_KEY": "k", "NEW_RELIC_LICENSE_KEY_SECRET_ARN": "arn:x"})
    assert settings.destinations == ("datadog", "newrelic")
    explicit = Settings.from_env({"DD_API_KEY": "k", "FORWARDER_DESTINATIONS": "stdout, datadog"})
    assert explicit.destinations == ("stdout", "datadog") and explicit.destinations_explicit


@pytest.mark.parametrize("site", DD_SITES)
def test_every_datadog_site(site: str) -> None:
    assert Settings.from_env({"DD_SITE": site}).datadog.url == f"https://http-intake.logs.{site}/api/v2/logs"


@pytest.mark.parametrize("region", NEW_RELIC_LOG_URLS)
def test_every_new_relic_region(region: str) -> None:
    assert Settings.from_env({"NEW_RELIC_REGION": region.lower()}).newrelic.url == NEW_RELIC_LOG_URLS[region]


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"DD_SITE": "datadoghq.co"}, "DD_SITE 'datadoghq.co' is not a Datadog site"),
        ({"NEW_RELIC_REGION": "JP"}, "NEW_RELIC_REGION 'JP' is not one of US, EU, FEDRAMP"),
        ({"FORWARDER_DESTINATIONS": "datadog,splunk"}, "unknown destination(s) splunk"),
        ({"FORWARDER_MIN_SEVERITY": "fatal"}, "FORWARDER_MIN_SEVERITY must be one of info, warning, error"),
        ({"FORWARDER_EXCLUDE_CATEGORIES": "user-stopped,oom"}, "unknown categories: oom"),
        (
            {"DD_API_KEY": "a", "DD_API_KEY_SECRET_ARN": "b"},
            "set only one of DD_API_KEY, DD_API_KEY_SECRET_ARN",
        ),
        (
            {"DD_LOGS_URL": "http://intake.example.com/api/v2/logs"},
            "plain http:// is only allowed to a loopback",
        ),
        ({"NEW_RELIC_LOGS_URL": "ftp://x/log/v1"}, "NEW_RELIC_LOGS_URL: not an http(s) URL"),
        ({"DD_LOGS_URL": "https://proxy.example.com/other"}, "DD_LOGS_URL must end in /api/v2/logs"),
    ],
)
def test_bad_values_are_clear_errors(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError) as raised:
        Settings.from_env(env)
    assert message in str(raised.value)


def test_url_overrides_allow_https_and_loopback_http() -> None:
    settings = Settings.from_env(
        {
            "DD_LOGS_URL": "http://127.0.0.1:8080/api/v2/logs",
            "NEW_RELIC_LOGS_URL": "https://proxy.internal/log/v1",
        }
    )
    assert settings.datadog.url == "http://127.0.0.1:8080/api/v2/logs"
    assert settings.newrelic.url == "https://proxy.internal/log/v1"
    assert Settings.from_env({"DD_LOGS_URL": "http://localhost:1/"}).datadog.url == "http://localhost:1/"


def test_tags_prefix_and_filters() -> None:
    settings = Settings.from_env(
        {
            "DD_TAGS": "env:prod team:sre,tier:1",
            "ARCHIVE_PREFIX": "stops",
            "FORWARDER_EXCLUDE_CATEGORIES": "user-stopped, scheduler-stopped",
            "FORWARDER_MIN_SEVERITY": "WARNING",
        }
    )
    assert settings.datadog.tags == ("env:prod", "team:sre", "tier:1")
    assert settings.archive_prefix == "stops/"
    assert settings.exclude_categories == {"user-stopped", "scheduler-stopped"}
    assert settings.min_severity == "warning"


def test_unrelated_variables_are_ignored_and_the_key_never_shows() -> None:
    settings = Settings.from_env({"HOME": "/root", "DD_API_KEY": "canary-config-key"})
    assert "canary-config-key" not in repr(settings)
    assert "HOME" not in ENV_VARS
