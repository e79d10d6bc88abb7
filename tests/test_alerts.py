"""``alerts plan|apply``: golden definitions, then both vendors end to end against loopback servers."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest

from forwarder.alerts.definitions import (
    AlertOptions,
    check_notify,
    datadog_monitors,
    format_duration,
    newrelic_conditions,
    parse_duration,
    rendering,
)
from forwarder.alerts.plan import differences
from forwarder.cli import main
from forwarder.errors import ConfigError
from tests.alert_servers import DatadogMonitorApi, NerdGraphApi, datadog_api, nerdgraph

__all__ = ["datadog_api", "nerdgraph"]  # fixtures

GOLDEN = Path(__file__).parent / "golden" / "alerts"
DD_API_KEY, DD_APP_KEY, NR_KEY = "test-dd-api-key", "test-dd-app-key", "test-nr-user-key"
SECRETS = (DD_API_KEY, DD_APP_KEY, NR_KEY, "wrong-key-canary-1", "wrong-key-canary-2")
TUNED = AlertOptions(
    min_severity="warning",
    exclude_categories=("spot-interrupted", "host-lost"),
    threshold=5,
    window=parse_duration("15m"),
    silent_window=parse_duration("24h"),
    env="prod",
)
DEFAULT_TASK_FAILED = (
    'logs("source:ecs status:error").index("*").rollup("count").by("service").last("5m") > 0'
)
DEFAULT_CRASH_LOOP = (
    'logs("source:ecs status:error").index("*").rollup("count").by("service").last("10m") >= 3'
)
DEFAULT_NRQL = (
    "SELECT count(*) FROM Log WHERE logtype = 'ecs-task-stop' AND level = 'error' FACET service.name"
)


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in list(os.environ):
        if name.startswith(("DD_", "NEW_RELIC_", "FORWARDER_", "ARCHIVE_")):
            monkeypatch.delenv(name)
    return monkeypatch


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(["alerts", *argv], out, err)
    text = out.getvalue() + err.getvalue()
    assert not any(secret in text for secret in SECRETS), text
    return code, out.getvalue(), err.getvalue()


def check_golden(name: str, value: Any) -> None:
    path = GOLDEN / name
    if os.environ.get("UPDATE_GOLDEN"):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(value, indent=2, ensure_ascii=False) + "\n")
    assert value == json.loads(path.read_text())


# -- definitions (pure) --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "vendor", "options"),
    [
        ("datadog-default.json", "datadog", AlertOptions()),
        ("newrelic-default.json", "newrelic", AlertOptions()),
        ("datadog-tuned.json", "datadog", TUNED),
        ("newrelic-tuned.json", "newrelic", TUNED),
    ],
)
def test_golden_definitions(name: str, vendor: Any, options: AlertOptions) -> None:
    notify = (
        ("@slack-ops", "@pagerduty-ecs") if vendor == "datadog" else ("0d7c2a4e-1f3b-4c5d-9e8f-a1b2c3d4e5f6",)
    )
    tuned = replace(options, notify=notify) if options is TUNED else options
    check_golden(name, rendering(vendor, tuned))


def test_default_queries_are_the_documented_ones() -> None:
    monitors = datadog_monitors(AlertOptions())
    assert list(monitors) == ["task-failed", "crash-loop"]
    assert monitors["task-failed"]["query"] == DEFAULT_TASK_FAILED
    assert monitors["crash-loop"]["query"] == DEFAULT_CRASH_LOOP
    assert monitors["crash-loop"]["options"]["thresholds"] == {"critical": 3}
    conditions = newrelic_conditions(AlertOptions())
    assert conditions["task-failed"]["nrql"]["query"] == DEFAULT_NRQL
    assert conditions["crash-loop"]["terms"][0] | {} == {
        "priority": "CRITICAL",
        "operator": "ABOVE_OR_EQUALS",
        "threshold": 3,
        "thresholdDuration": 600,
        "thresholdOccurrences": "AT_LEAST_ONCE",
    }
    docs = (Path(__file__).parent.parent / "docs" / "alerts.md").read_text()
    assert DEFAULT_TASK_FAILED in docs and DEFAULT_CRASH_LOOP in docs and DEFAULT_NRQL in docs


def test_tuned_queries_filter_severity_categories_and_env() -> None:
    monitors = datadog_monitors(TUNED)
    assert monitors["crash-loop"]["query"] == (
        'logs("source:ecs env:prod status:(error OR warn) -stop_category:host-lost '
        '-stop_category:spot-interrupted").index("*").rollup("count").by("service").last("15m") >= 5'
    )
    assert (
        monitors["forwarder-silent"]["query"]
        == 'logs("source:ecs env:prod").index("*").rollup("count").last("24h") < 1'
    )
    assert "env:prod" in monitors["task-failed"]["tags"]
    silent = newrelic_conditions(TUNED)["forwarder-silent"]
    assert silent["nrql"]["query"] == "SELECT count(*) FROM Log WHERE logtype = 'ecs-task-stop'"
    assert silent["expiration"] == {
        "expirationDuration": 86400,
        "openViolationOnExpiration": True,
        "closeViolationsOnExpiration": False,
    }
    assert "terms" not in silent
    assert newrelic_conditions(TUNED)["task-failed"]["nrql"]["query"].endswith(
        "AND level IN ('error', 'warning') AND category NOT IN ('host-lost', 'spot-interrupted') FACET service.name"
    )


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"exclude_categories": ("no-such-thing",)}, "--exclude-category: unknown category no-such-thing"),
        ({"threshold": 1}, "--threshold must be between 2 and 10000"),
        ({"window": 30}, "--window must be between 1m and 6h in whole minutes"),
        ({"window": 7 * 3600}, "--window must be between 1m and 6h"),
        ({"silent_window": 3 * 86400}, "--silent-window must be between 10m and 48h"),
        ({"env": "Prod"}, "--env must be a lower-case tag value"),
        ({"source": 'ecs" OR *'}, "DD_SOURCE must be a plain word"),
        ({"min_severity": "fatal"}, "--min-severity must be one of"),
    ],
)
def test_options_are_validated(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace("(", r"\(")):
        AlertOptions(**changes)


def test_notify_targets_must_suit_the_vendor() -> None:
    check_notify("datadog", AlertOptions(notify=("@slack-ops",)))
    check_notify("newrelic", AlertOptions(notify=("0d7c2a4e-1f3b",)))
    with pytest.raises(ConfigError, match="@handles"):
        check_notify("datadog", AlertOptions(notify=("slack-ops",)))
    with pytest.raises(ConfigError, match="channel ids"):
        check_notify("newrelic", AlertOptions(notify=("@slack-ops",)))


def test_durations() -> None:
    assert [parse_duration(t) for t in ("5m", "2h", "1d", " 90m ")] == [300, 7200, 86400, 5400]
    assert [format_duration(s) for s in (300, 5400, 86400)] == ["5m", "90m", "24h"]
    for bad in ("10", "0m", "1w", "1.5h", ""):
        with pytest.raises(ValueError, match="not a duration"):
            parse_duration(bad)


def test_differences_ignore_vendor_additions_but_not_changes() -> None:
    desired = {"a": 3, "b": {"c": True, "d": ["x"]}}
    assert differences(desired, {"a": 3.0, "b": {"c": True, "d": ["x"], "extra": 1}, "id": 9}) == []
    assert differences(desired, {"a": 4, "b": {"c": 1, "d": []}}) == ["a", "b.c", "b.d"]


def test_importing_alerts_does_not_load_the_datadog_client() -> None:
    code = (
        "import sys, forwarder.alerts.plan, forwarder.alerts.newrelic, forwarder.commands.alerts;"
        "print(sorted(m for m in sys.modules if m.startswith('datadog_api_client'))[:1])"
    )
    answer = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert answer.stdout.strip() == "[]"


# -- Datadog end to end --------------------------------------------------------------------------


def datadog_env(env: pytest.MonkeyPatch, api: DatadogMonitorApi) -> None:
    env.setenv("DD_API_KEY", DD_API_KEY)
    env.setenv("DD_APP_KEY", DD_APP_KEY)
    env.setenv("DD_API_URL", api.url)


def test_datadog_plan_apply_apply_again_then_update_in_place(
    env: pytest.MonkeyPatch, datadog_api: DatadogMonitorApi
) -> None:
    datadog_env(env, datadog_api)
    code, out, _ = run("plan", "--vendor", "datadog")
    assert code == 0
    assert out.count("create ") == 2 and DEFAULT_TASK_FAILED in out and "Plan: 2 to create" in out
    assert {r.method for r in datadog_api.requests} == {"GET"} and not datadog_api.monitors

    code, out, _ = run("apply", "--vendor", "datadog", "--notify", "@slack-ops")
    assert code == 0 and "Applied: 2 created, 0 updated, 0 unchanged." in out
    assert sorted(m["name"] for m in datadog_api.monitors.values()) == [
        "ecs-stop-forwarder: crash loop",
        "ecs-stop-forwarder: task failed",
    ]
    assert all(m["message"].endswith("\n@slack-ops") for m in datadog_api.monitors.values())
    assert all("managed-by:ecs-stop-forwarder" in m["tags"] for m in datadog_api.monitors.values())
    writes = len(datadog_api.writes)
    assert writes == 2

    code, out, _ = run("apply", "--vendor", "datadog", "--notify", "@slack-ops")
    assert code == 0 and "Applied: 0 created, 0 updated, 2 unchanged." in out
    assert len(datadog_api.writes) == writes and len(datadog_api.monitors) == 2

    code, out, _ = run("plan", "--vendor", "datadog", "--notify", "@slack-ops", "--threshold", "5", "--json")
    plan = json.loads(out)
    assert code == 0 and plan["summary"] == {"create": 0, "update": 1, "no-op": 1}
    update = next(c for c in plan["changes"] if c["action"] == "update")
    assert update["key"] == "crash-loop" and update["fields"] == [
        "query",
        "message",
        "options.thresholds.critical",
    ]
    assert len(datadog_api.writes) == writes

    code, out, _ = run("apply", "--vendor", "datadog", "--notify", "@slack-ops", "--threshold", "5")
    assert code == 0 and "Applied: 0 created, 1 updated, 1 unchanged." in out
    crash = [m for m in datadog_api.monitors.values() if "ecs-stop-forwarder-alert:crash-loop" in m["tags"]]
    assert len(crash) == 1 and crash[0]["query"].endswith(">= 5")
    assert crash[0]["options"]["thresholds"] == {"critical": 5.0}
    assert [r.method for r in datadog_api.writes][writes:] == ["PUT"]
    assert datadog_api.writes[-1].path == f"/api/v1/monitor/{crash[0]['id']}"


def test_datadog_silent_window_env_scope_and_foreign_monitors(
    env: pytest.MonkeyPatch, datadog_api: DatadogMonitorApi
) -> None:
    datadog_env(env, datadog_api)
    staging = datadog_api.seed(
        datadog_monitors(AlertOptions(env="staging"))["task-failed"] | {"message": "hand-edited"}
    )
    foreign = datadog_api.seed({**datadog_monitors(AlertOptions())["task-failed"], "tags": ["team:sre"]})
    code, out, _ = run("apply", "--vendor", "datadog", "--env", "prod", "--silent-window", "24h")
    assert code == 0 and "Applied: 3 created" in out
    assert datadog_api.monitors[staging]["message"] == "hand-edited"
    assert datadog_api.monitors[foreign]["tags"] == ["team:sre"]
    prod = [m for m in datadog_api.monitors.values() if "env:prod" in m["tags"]]
    assert len(prod) == 3 and all("env:prod" in m["query"] for m in prod)

    code, out, _ = run("plan", "--vendor", "datadog", "--env", "prod")
    assert code == 0 and "forwarder-silent) is ours but not in this run's definitions: left alone" in out


def test_datadog_rejected_definition_writes_nothing(
    env: pytest.MonkeyPatch, datadog_api: DatadogMonitorApi
) -> None:
    datadog_env(env, datadog_api)
    datadog_api.reject(">= 3")
    code, _, err = run("apply", "--vendor", "datadog")
    assert code == 1
    assert "Datadog rejected the request (HTTP 400)" in err and "rejected by the test" in err
    assert datadog_api.writes == [] and not datadog_api.monitors
    assert [r.path for r in datadog_api.requests if r.method == "POST"] == ["/api/v1/monitor/validate"] * 2


@pytest.mark.parametrize("which", ["DD_API_KEY", "DD_APP_KEY"])
def test_datadog_wrong_key_is_exit_1_and_writes_nothing(
    env: pytest.MonkeyPatch, datadog_api: DatadogMonitorApi, which: str
) -> None:
    datadog_env(env, datadog_api)
    env.setenv(which, "wrong-key-canary-1")
    code, _, err = run("apply", "--vendor", "datadog")
    assert code == 1 and "Datadog rejected the key" in err and "HTTP 403" in err
    assert datadog_api.writes == [] and [r.method for r in datadog_api.requests] == ["GET"]


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"DD_APP_KEY": None}, "DD_APP_KEY is not set"),
        (
            {"DD_API_KEY": None},
            "none of DD_API_KEY, DD_API_KEY_SECRET_ARN or DD_API_KEY_SSM_PARAMETER is set",
        ),
        ({"DD_SITE": "datadoghq.moon"}, "DD_SITE 'datadoghq.moon' is not a Datadog site"),
        (
            {"DD_API_URL": "http://api.example.com"},
            "DD_API_URL: plain http:// is only allowed to a loopback host",
        ),
        ({"DD_API_URL": "https://api.example.com/api/v1/monitor"}, "DD_API_URL must be a bare scheme://host"),
    ],
)
def test_datadog_configuration_errors_are_exit_2_before_any_call(
    env: pytest.MonkeyPatch, datadog_api: DatadogMonitorApi, changes: dict[str, str | None], message: str
) -> None:
    datadog_env(env, datadog_api)
    for name, value in changes.items():
        if value is None:
            env.delenv(name)
        else:
            env.setenv(name, value)
    code, out, err = run("apply", "--vendor", "datadog")
    assert code == 2 and f"error: {message}" in err and out == ""
    assert datadog_api.requests == []


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--exclude-category", "nope"], "error: --exclude-category: unknown category nope"),
        (["--notify", "slack-ops"], "error: --notify for datadog takes @handles"),
        (["--window", "ten minutes"], "argument --window: 'ten minutes' is not a duration"),
    ],
)
def test_usage_errors_are_exit_2(
    env: pytest.MonkeyPatch, datadog_api: DatadogMonitorApi, argv: list[str], message: str
) -> None:
    datadog_env(env, datadog_api)
    code, _, err = run("plan", "--vendor", "datadog", *argv)
    assert code == 2 and message in err
    assert datadog_api.requests == []


# -- New Relic end to end ------------------------------------------------------------------------

CHANNEL = "0d7c2a4e-1f3b-4c5d-9e8f-a1b2c3d4e5f6"


def newrelic_env(env: pytest.MonkeyPatch, api: NerdGraphApi) -> None:
    env.setenv("NEW_RELIC_USER_KEY", NR_KEY)
    env.setenv("NEW_RELIC_ACCOUNT_ID", str(api.account_id))
    env.setenv("NEW_RELIC_GRAPHQL_URL", api.url + "/graphql")


def test_newrelic_plan_apply_apply_again_then_update_in_place(
    env: pytest.MonkeyPatch, nerdgraph: NerdGraphApi
) -> None:
    newrelic_env(env, nerdgraph)
    nerdgraph.add_channel(CHANNEL)
    argv = ("--vendor", "newrelic", "--silent-window", "24h", "--notify", CHANNEL)
    code, out, _ = run("plan", *argv)
    assert code == 0 and "Plan: 5 to create" in out and DEFAULT_NRQL in out
    assert nerdgraph.mutations == [] and not nerdgraph.policies

    code, out, _ = run("apply", *argv)
    assert code == 0 and "Applied: 5 created, 0 updated, 0 unchanged." in out
    assert nerdgraph.mutations == ["alertsPolicyCreate"] + ["alertsNrqlConditionStaticCreate"] * 3 + [
        "aiWorkflowsCreateWorkflow"
    ]
    (policy,) = nerdgraph.policies.values()
    assert policy == {
        "id": policy["id"],
        "name": "ecs-stop-forwarder: ECS task stops",
        "incidentPreference": "PER_CONDITION_AND_TARGET",
    }
    assert sorted(c["name"] for c in nerdgraph.conditions.values()) == [
        "ecs-stop-forwarder: crash loop",
        "ecs-stop-forwarder: forwarder silent",
        "ecs-stop-forwarder: task failed",
    ]
    (workflow,) = nerdgraph.workflows.values()
    assert workflow["issuesFilter"]["predicates"][0]["values"] == [policy["id"]]
    assert [d["channelId"] for d in workflow["destinationConfigurations"]] == [CHANNEL]

    code, out, _ = run("apply", *argv)  # 3 conditions, 2 a page: the cursor is followed
    assert code == 0 and "Applied: 0 created, 0 updated, 5 unchanged." in out
    assert len(nerdgraph.mutations) == 5

    code, out, _ = run("apply", *argv, "--threshold", "5")
    assert code == 0 and "Applied: 0 created, 1 updated, 4 unchanged." in out
    assert "updated   condition  ecs-stop-forwarder: crash loop  (condition" in out
    assert "changes: description, terms[0].threshold" in out
    assert nerdgraph.mutations[5:] == ["alertsNrqlConditionStaticUpdate"]
    crash = [c for c in nerdgraph.conditions.values() if c["name"] == "ecs-stop-forwarder: crash loop"]
    assert len(crash) == 1 and crash[0]["terms"][0]["threshold"] == 5.0
    assert len(nerdgraph.conditions) == 3 and len(nerdgraph.policies) == 1


def test_newrelic_policy_is_matched_by_exact_name(env: pytest.MonkeyPatch, nerdgraph: NerdGraphApi) -> None:
    newrelic_env(env, nerdgraph)
    code, _, _ = run("apply", "--vendor", "newrelic", "--env", "prod")
    assert code == 0 and len(nerdgraph.policies) == 1
    code, out, _ = run("plan", "--vendor", "newrelic", "--json")  # search also returns the [prod] policy
    plan = json.loads(out)
    assert code == 0 and plan["summary"] == {"create": 3, "update": 0, "no-op": 0}
    assert plan["changes"][0]["definition"]["name"] == "ecs-stop-forwarder: ECS task stops"


def test_newrelic_policy_settings_are_updated_in_place(
    env: pytest.MonkeyPatch, nerdgraph: NerdGraphApi
) -> None:
    newrelic_env(env, nerdgraph)
    nerdgraph.policies["77"] = {
        "id": "77",
        "name": "ecs-stop-forwarder: ECS task stops",
        "incidentPreference": "PER_POLICY",
    }
    code, out, _ = run("apply", "--vendor", "newrelic")
    assert code == 0 and "updated   policy" in out and "changes: incidentPreference" in out
    assert nerdgraph.policies == {
        "77": {
            "id": "77",
            "name": "ecs-stop-forwarder: ECS task stops",
            "incidentPreference": "PER_CONDITION_AND_TARGET",
        }
    }
    assert nerdgraph.mutations == ["alertsPolicyUpdate"] + ["alertsNrqlConditionStaticCreate"] * 2
    assert {c["policyId"] for c in nerdgraph.conditions.values()} == {"77"}


def test_newrelic_bad_key_is_exit_1_and_writes_nothing(
    env: pytest.MonkeyPatch, nerdgraph: NerdGraphApi
) -> None:
    newrelic_env(env, nerdgraph)
    env.setenv("NEW_RELIC_USER_KEY", "wrong-key-canary-2")
    code, _, err = run("apply", "--vendor", "newrelic")
    assert code == 1 and "New Relic NerdGraph rejected the key" in err and "HTTP 403" in err
    assert nerdgraph.mutations == [] and len(nerdgraph.requests) == 1


def test_newrelic_wrong_account_is_a_graphql_error(env: pytest.MonkeyPatch, nerdgraph: NerdGraphApi) -> None:
    newrelic_env(env, nerdgraph)
    env.setenv("NEW_RELIC_ACCOUNT_ID", "999")
    code, _, err = run("apply", "--vendor", "newrelic")
    assert code == 1 and "Not authorized to access account 999" in err
    assert nerdgraph.mutations == []


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"NEW_RELIC_ACCOUNT_ID": None}, "NEW_RELIC_ACCOUNT_ID is not set"),
        ({"NEW_RELIC_ACCOUNT_ID": "acme"}, "NEW_RELIC_ACCOUNT_ID must be a number"),
        ({"NEW_RELIC_USER_KEY": None}, "NEW_RELIC_USER_KEY is not set"),
        ({"NEW_RELIC_GRAPHQL_URL": None, "NEW_RELIC_REGION": "FEDRAMP"}, "set NEW_RELIC_GRAPHQL_URL"),
        ({"NEW_RELIC_REGION": "MARS"}, "NEW_RELIC_REGION 'MARS' is not one of US, EU, FEDRAMP"),
    ],
)
def test_newrelic_configuration_errors_are_exit_2_before_any_call(
    env: pytest.MonkeyPatch, nerdgraph: NerdGraphApi, changes: dict[str, str | None], message: str
) -> None:
    newrelic_env(env, nerdgraph)
    for name, value in changes.items():
        if value is None:
            env.delenv(name)
        else:
            env.setenv(name, value)
    code, out, err = run("apply", "--vendor", "newrelic")
    assert code == 2 and message in err and out == ""
    assert nerdgraph.requests == []


def test_newrelic_unusable_channels_are_exit_2_and_write_nothing(
    env: pytest.MonkeyPatch, nerdgraph: NerdGraphApi
) -> None:
    newrelic_env(env, nerdgraph)
    code, _, err = run("apply", "--vendor", "newrelic", "--notify", CHANNEL)
    assert code == 2 and f"New Relic has no notification channel '{CHANNEL}'" in err
    nerdgraph.add_channel(CHANNEL)
    nerdgraph.workflows["w-1"] = {
        "id": "w-1",
        "name": "team pager",
        "issuesFilter": {"id": "f-1", "name": "x", "type": "FILTER", "predicates": []},
        "destinationConfigurations": [
            {"channelId": CHANNEL, "name": "ops", "type": "SLACK", "notificationTriggers": []}
        ],
    }
    code, _, err = run("apply", "--vendor", "newrelic", "--notify", CHANNEL)
    assert code == 2 and "already belongs to workflow 'team pager'" in err
    assert nerdgraph.mutations == [] and not nerdgraph.policies


def test_newrelic_workflow_follows_notify_changes(env: pytest.MonkeyPatch, nerdgraph: NerdGraphApi) -> None:
    newrelic_env(env, nerdgraph)
    other = "5b8e0f1a-2222-4c5d-9e8f-a1b2c3d4e5f6"
    nerdgraph.add_channel(CHANNEL)
    nerdgraph.add_channel(other)
    assert run("apply", "--vendor", "newrelic", "--notify", CHANNEL)[0] == 0
    code, out, _ = run("apply", "--vendor", "newrelic", "--notify", CHANNEL, "--notify", other)
    assert code == 0 and "updated   workflow" in out
    (workflow,) = nerdgraph.workflows.values()
    assert sorted(d["channelId"] for d in workflow["destinationConfigurations"]) == sorted([CHANNEL, other])
    assert nerdgraph.mutations[-1] == "aiWorkflowsUpdateWorkflow"
    code, out, _ = run("plan", "--vendor", "newrelic")
    assert code == 0 and "exists but no --notify was given: left alone" in out


def test_the_stand_ins_refuse_what_the_vendors_refuse(
    datadog_api: DatadogMonitorApi, nerdgraph: NerdGraphApi
) -> None:
    headers = {"DD-API-KEY": DD_API_KEY, "DD-APPLICATION-KEY": DD_APP_KEY}
    body = datadog_monitors(AlertOptions())["crash-loop"]
    mismatched = {**body, "options": {"thresholds": {"critical": 4}}}
    answer = httpx.post(datadog_api.url + "/api/v1/monitor", json=mismatched, headers=headers)
    assert answer.status_code == 400 and "critical threshold must match" in answer.text
    too_long = {**body, "query": body["query"].replace('last("10m")', 'last("3d")')}
    assert httpx.post(datadog_api.url + "/api/v1/monitor", json=too_long, headers=headers).status_code == 400
    assert datadog_api.monitors == {}

    graphql = {
        "query": "mutation { alertsNrqlConditionStaticCreate(",
        "variables": {"accountId": nerdgraph.account_id},
    }
    nerdgraph.policies["1"] = {"id": "1", "name": "p", "incidentPreference": "PER_POLICY"}
    condition = {**newrelic_conditions(AlertOptions())["task-failed"], "windowz": 60}
    graphql["variables"] |= {"policyId": "1", "condition": condition}
    answer = httpx.post(nerdgraph.url + "/graphql", json=graphql, headers={"API-Key": NR_KEY})
    assert (
        answer.status_code == 200
        and "Field 'windowz' is not defined" in answer.json()["errors"][0]["message"]
    )
    assert httpx.post(nerdgraph.url + "/graphql", json=graphql).status_code == 401
    assert nerdgraph.conditions == {}
