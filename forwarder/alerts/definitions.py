"""What to alert on, as data: options -> alert definitions -> Datadog monitors / New Relic conditions.

Pure: no client, no environment, no clock. Three alerts, each per ECS service (else task family):

* ``task-failed``: any stop at or above ``min_severity`` (default ``error``) in the last 5 minutes;
* ``crash-loop``: ``threshold`` such stops (default 3) within ``window`` (default 10 minutes) — the
  service replacing failing tasks, or a scheduled task failing every run;
* ``forwarder-silent`` (only with ``silent_window``): no stop record at all for that long.

The renderings use only what the forwarder sends (see README, "What the vendors receive"): Datadog's
reserved ``source``/``service``/``status`` and the ``stop_category`` tag, which are searchable
without facets; New Relic's ``logtype``, ``level``, ``category`` and ``service.name``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

from forwarder.classify import CATEGORIES
from forwarder.errors import ConfigError
from forwarder.model import SEVERITIES, severity_rank
from forwarder.payloads import NR_LOGTYPE

MANAGED_TAG = "managed-by:ecs-stop-forwarder"  # on every Datadog monitor we own
ALERT_TAG = "ecs-stop-forwarder-alert"  # ecs-stop-forwarder-alert:<key> says which one it is
NAME_PREFIX = "ecs-stop-forwarder: "  # on every New Relic policy, condition and workflow we own

TASK_FAILED, CRASH_LOOP, FORWARDER_SILENT = "task-failed", "crash-loop", "forwarder-silent"
TASK_FAILED_WINDOW = 300
NR_SIGNAL_TIMER = 60  # EVENT_TIMER: stop records arrive sparsely, not as a steady stream
NR_INCIDENT_LIMIT = 86400  # force-close an incident left open for a day

# Vendor limits the options must fit (Datadog log monitors: 1 min to 48 h; New Relic: aggregation
# window 30 s to 6 h, threshold duration up to 24 h, loss-of-signal expiration up to 48 h).
WINDOW_RANGE = (60, 6 * 3600)
SILENT_RANGE = (600, 48 * 3600)
THRESHOLD_RANGE = (2, 10000)

_DURATION = re.compile(r"^\s*(\d+)\s*([mhd])\s*$")
_UNIT = {"m": 60, "h": 3600, "d": 86400}
_ENV = re.compile(r"^[a-z0-9][a-z0-9_.:/-]{0,99}$")
_SOURCE = re.compile(r"^[A-Za-z0-9_.:/-]{1,100}$")
_DD_HANDLE = re.compile(r"^@[^\s\"]+$")
_NR_CHANNEL = re.compile(r"^[A-Za-z0-9-]{1,64}$")

Operator = Literal["above", "at-least", "below"]
Vendor = Literal["datadog", "newrelic"]


def parse_duration(text: str) -> int:
    """``5m``, ``2h``, ``1d`` -> seconds. Raises ``ValueError`` with a readable message."""
    match = _DURATION.match(text)
    if not match or int(match.group(1)) == 0:
        raise ValueError(f"{text!r} is not a duration like 10m, 2h or 1d")
    return int(match.group(1)) * _UNIT[match.group(2)]


def format_duration(seconds: int) -> str:
    """Whole hours as ``24h``, else minutes (``90m``): the form Datadog's ``last()`` takes."""
    return f"{seconds // 3600}h" if seconds % 3600 == 0 else f"{seconds // 60}m"


def _check_range(option: str, value: int, bounds: tuple[int, int], duration: bool) -> None:
    low, high = bounds
    shown = format_duration if duration else str
    if not low <= value <= high or (duration and value % 60):
        whole = " in whole minutes" if duration else ""
        raise ConfigError(
            f"{option} must be between {shown(low)} and {shown(high)}{whole}, got {shown(value)}"
        )


@dataclass(frozen=True)
class AlertOptions:
    """The tunables. Construction validates them (``ConfigError`` naming the option)."""

    min_severity: str = "error"
    exclude_categories: tuple[str, ...] = ()
    threshold: int = 3
    window: int = 600  # crash-loop window, seconds
    silent_window: int | None = None  # forwarder-silent is off unless set
    notify: tuple[str, ...] = ()
    env: str | None = None
    source: str = "ecs"  # Datadog ddsource (DD_SOURCE)

    def __post_init__(self) -> None:
        if self.min_severity not in SEVERITIES:
            raise ConfigError(
                f"--min-severity must be one of {', '.join(SEVERITIES)}, got {self.min_severity!r}"
            )
        unknown = sorted(set(self.exclude_categories) - set(CATEGORIES))
        if unknown:
            raise ConfigError(
                f"--exclude-category: unknown category {', '.join(unknown)}; "
                f"choose from {', '.join(CATEGORIES)}"
            )
        _check_range("--threshold", self.threshold, THRESHOLD_RANGE, duration=False)
        _check_range("--window", self.window, WINDOW_RANGE, duration=True)
        if self.silent_window is not None:
            _check_range("--silent-window", self.silent_window, SILENT_RANGE, duration=True)
        if self.env is not None and not _ENV.match(self.env):
            raise ConfigError(f"--env must be a lower-case tag value (a-z 0-9 _ . : / -), got {self.env!r}")
        if not _SOURCE.match(self.source):
            raise ConfigError(f"DD_SOURCE must be a plain word (A-Z a-z 0-9 _ . : / -), got {self.source!r}")

    @property
    def severities(self) -> tuple[str, ...]:
        """The severities alerted on, most severe first."""
        floor = severity_rank(self.min_severity)
        return tuple(s for s in reversed(SEVERITIES) if severity_rank(s) >= floor)

    @property
    def excluded(self) -> tuple[str, ...]:
        return tuple(sorted(set(self.exclude_categories)))


def check_notify(vendor: Vendor, options: AlertOptions) -> None:
    """``--notify`` takes @handles for Datadog and notification channel ids for New Relic."""
    for target in options.notify:
        if vendor == "datadog" and not _DD_HANDLE.match(target):
            raise ConfigError(f"--notify for datadog takes @handles such as @slack-ops, got {target!r}")
        if vendor == "newrelic" and not _NR_CHANNEL.match(target):
            raise ConfigError(
                f"--notify for newrelic takes notification channel ids (the id of a channel in "
                f"Alerts > Destinations), got {target!r}"
            )


@dataclass(frozen=True)
class AlertDefinition:
    """One alert, vendor-neutral: count the matching stop records in ``window`` and compare."""

    key: str
    title: str
    meaning: str
    severities: tuple[str, ...]  # () = any stop record
    excluded: tuple[str, ...]
    operator: Operator
    threshold: int
    window: int  # seconds
    per_service: bool  # one alert per ECS service / task family

    def name(self, env: str | None) -> str:
        return f"{NAME_PREFIX}{self.title}" + (f" [{env}]" if env else "")

    @property
    def rule(self) -> str:
        """When it fires, in words (plan output)."""
        if self.operator == "below":
            return f"no stop record at all for {format_duration(self.window)}"
        sign = ">" if self.operator == "above" else ">="
        return f"stops {sign} {self.threshold} within {format_duration(self.window)}, per service"


def definitions(options: AlertOptions) -> tuple[AlertDefinition, ...]:
    levels, excluded, said = options.severities, options.excluded, " or ".join(options.severities)
    window = format_duration(options.window)
    found = [
        AlertDefinition(TASK_FAILED, "task failed",
                        f"An ECS task of this service stopped with severity {said} in the last 5 minutes.",
                        levels, excluded, "above", 0, TASK_FAILED_WINDOW, per_service=True),
        AlertDefinition(CRASH_LOOP, "crash loop",
                        f"Tasks of this service stopped with severity {said} at least {options.threshold} "
                        f"times in {window}: it keeps replacing failing tasks, or a scheduled task fails "
                        "every run.",
                        levels, excluded, "at-least", options.threshold, options.window, per_service=True),
    ]  # fmt: skip
    if options.silent_window is not None:
        silent = format_duration(options.silent_window)
        found.append(
            AlertDefinition(FORWARDER_SILENT, "forwarder silent",
                            f"No ECS task stop record at all arrived in {silent}: either nothing stopped, "
                            "or the forwarder is not delivering.",
                            (), (), "below", 1, options.silent_window, per_service=False)
        )  # fmt: skip
    return tuple(found)


# -- Datadog -------------------------------------------------------------------------------------

_DD_COMPARATOR = {"above": ">", "at-least": ">=", "below": "<"}
# Datadog's status remapper stores the log status "warning" as "warn"; searches must use that.
_DD_STATUS = {"error": "error", "warning": "warn", "info": "info"}


def datadog_search(definition: AlertDefinition, options: AlertOptions) -> str:
    terms = [f"source:{options.source}"]
    if options.env:
        terms.append(f"env:{options.env}")
    statuses = [_DD_STATUS[severity] for severity in definition.severities]
    if len(statuses) == 1:
        terms.append(f"status:{statuses[0]}")
    elif statuses:
        terms.append(f"status:({' OR '.join(statuses)})")
    terms.extend(f"-stop_category:{category}" for category in definition.excluded)
    return " ".join(terms)


def datadog_query(definition: AlertDefinition, options: AlertOptions) -> str:
    group = '.by("service")' if definition.per_service else ""
    return (
        f'logs("{datadog_search(definition, options)}").index("*").rollup("count"){group}'
        f'.last("{format_duration(definition.window)}") {_DD_COMPARATOR[definition.operator]} '
        f"{definition.threshold}"
    )


def _datadog_message(definition: AlertDefinition, options: AlertOptions) -> str:
    window = format_duration(definition.window)
    if definition.per_service:
        details = (
            "- category: {{log.attributes.[ecs_stop.category]}}\n"
            "- cluster: {{log.attributes.[ecs_stop.cluster]}}\n"
            "- culprit container: {{log.attributes.[ecs_stop.culprit_container]}}\n"
            "- hint: {{log.attributes.[ecs_stop.hint]}}\n"
            "- stop: {{log.attributes.[ecs_stop.message]}}\n"
            "Open the stops in the Log Explorer: {{log.link}}\n"
        )
        alert = f"{{{{service.name}}}}: {{{{value}}}} stop(s) in the last {window}. {definition.meaning}\n"
        recovery = f"{{{{service.name}}}}: back under the threshold for the last {window}."
    else:
        details = (
            "Check the forwarder: its Lambda errors and the `Failed` metric (namespace EcsStopForwarder), "
            "the on-failure queue, and the archive bucket (`send`/`replay` resend what is archived).\n"
        )
        alert = f"{definition.meaning}\n"
        recovery = "Stop records are arriving again."
    lines = (
        f"{{{{#is_alert}}}}\n{alert}{details}{{{{/is_alert}}}}\n"
        f"{{{{#is_recovery}}}}{recovery}{{{{/is_recovery}}}}"
    )
    notify = " ".join(options.notify)
    return f"{lines}\n{notify}" if notify else lines


def datadog_monitors(options: AlertOptions) -> dict[str, dict[str, Any]]:
    """The ``log alert`` monitor body for each alert, by alert key (datadog-api-client ``Monitor``)."""
    monitors: dict[str, dict[str, Any]] = {}
    for definition in definitions(options):
        tags = [MANAGED_TAG, f"{ALERT_TAG}:{definition.key}"] + (
            [f"env:{options.env}"] if options.env else []
        )
        monitors[definition.key] = {
            "name": definition.name(options.env),
            "type": "log alert",
            "query": datadog_query(definition, options),
            "message": _datadog_message(definition, options),
            "tags": tags,
            "options": {
                "thresholds": {"critical": definition.threshold},
                "enable_logs_sample": definition.per_service,
                "include_tags": True,
                "notify_no_data": False,
            },
        }
    return monitors


# -- New Relic -----------------------------------------------------------------------------------

_NR_OPERATOR = {"above": "ABOVE", "at-least": "ABOVE_OR_EQUALS", "below": "BELOW"}


def _quoted(values: tuple[str, ...]) -> str:
    return ", ".join(f"'{value}'" for value in values)


def newrelic_where(definition: AlertDefinition) -> str:
    where = f"logtype = '{NR_LOGTYPE}'"
    if len(definition.severities) == 1:
        where += f" AND level = '{definition.severities[0]}'"
    elif definition.severities:
        where += f" AND level IN ({_quoted(definition.severities)})"
    if definition.excluded:
        where += f" AND category NOT IN ({_quoted(definition.excluded)})"
    return where


def newrelic_nrql(definition: AlertDefinition) -> str:
    facet = " FACET service.name" if definition.per_service else ""
    return f"SELECT count(*) FROM Log WHERE {newrelic_where(definition)}{facet}"


def newrelic_policy_name(options: AlertOptions) -> str:
    return f"{NAME_PREFIX}ECS task stops" + (f" [{options.env}]" if options.env else "")


def newrelic_policy(options: AlertOptions) -> dict[str, Any]:
    """One incident per condition and service (the facet), so each service pages on its own."""
    return {"name": newrelic_policy_name(options), "incidentPreference": "PER_CONDITION_AND_TARGET"}


def _newrelic_description(definition: AlertDefinition) -> str:
    if not definition.per_service:
        return (
            f"{definition.meaning} Check the forwarder: its Lambda errors and the Failed metric "
            "(namespace EcsStopForwarder), the on-failure queue, and the archive bucket."
        )
    return (
        f"{definition.meaning} One incident per ECS service / task family (service.name). "
        "The category, hint, cluster and culprit container of the stops: SELECT timestamp, service.name, "
        f"category, cluster, culprit_container, hint, message FROM Log WHERE {newrelic_where(definition)} "
        "SINCE 1 hour ago"
    )


def newrelic_conditions(options: AlertOptions) -> dict[str, dict[str, Any]]:
    """``AlertsNrqlConditionStaticInput`` for each alert, by alert key."""
    conditions: dict[str, dict[str, Any]] = {}
    for definition in definitions(options):
        condition: dict[str, Any] = {
            "name": definition.name(options.env),
            "description": _newrelic_description(definition),
            "enabled": True,
            "nrql": {"query": newrelic_nrql(definition)},
            "violationTimeLimitSeconds": NR_INCIDENT_LIMIT,
        }
        if definition.per_service:
            condition["signal"] = {
                "aggregationWindow": definition.window,
                "aggregationMethod": "EVENT_TIMER",
                "aggregationTimer": NR_SIGNAL_TIMER,
            }
            condition["terms"] = [
                {
                    "priority": "CRITICAL",
                    "operator": _NR_OPERATOR[definition.operator],
                    "threshold": definition.threshold,
                    "thresholdDuration": definition.window,
                    "thresholdOccurrences": "AT_LEAST_ONCE",
                }
            ]
            # A service that stops failing sends nothing more: close its incident once its signal ends.
            condition["expiration"] = {
                "expirationDuration": 2 * definition.window,
                "openViolationOnExpiration": False,
                "closeViolationsOnExpiration": True,
            }
        else:  # silence is a loss of signal: no term, an incident when the signal expires
            condition["signal"] = {
                "aggregationWindow": TASK_FAILED_WINDOW,
                "aggregationMethod": "EVENT_TIMER",
                "aggregationTimer": NR_SIGNAL_TIMER,
            }
            condition["expiration"] = {
                "expirationDuration": definition.window,
                "openViolationOnExpiration": True,
                "closeViolationsOnExpiration": False,
            }
        conditions[definition.key] = condition
    return conditions


def newrelic_workflow(options: AlertOptions, policy_id: str) -> dict[str, Any] | None:
    """The workflow that sends the policy's issues to the ``--notify`` channels (None without any)."""
    if not options.notify:
        return None
    name = newrelic_policy_name(options)
    return {
        "name": name,
        "workflowEnabled": True,
        "destinationsEnabled": True,
        "mutingRulesHandling": "DONT_NOTIFY_FULLY_MUTED_ISSUES",
        "issuesFilter": {
            "name": name,
            "type": "FILTER",
            "predicates": [
                {"attribute": "labels.policyIds", "operator": "EXACTLY_MATCHES", "values": [policy_id]}
            ],
        },
        "destinationConfigurations": [
            {"channelId": channel, "notificationTriggers": ["ACTIVATED", "CLOSED"]}
            for channel in options.notify
        ],
    }


def rendering(vendor: Vendor, options: AlertOptions, policy_id: str = "<policy id>") -> dict[str, Any]:
    """Everything one vendor gets, as one document (golden files, ``plan --json``)."""
    if vendor == "datadog":
        return {"monitors": datadog_monitors(options)}
    return {
        "policy": newrelic_policy(options),
        "conditions": newrelic_conditions(options),
        "workflow": newrelic_workflow(options, policy_id),
    }
