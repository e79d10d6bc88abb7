"""``alerts plan|apply``: Datadog monitors / New Relic alert conditions for task stops, as code.

Everything is checked before the first write: the options, the environment (keys, site, account),
then the vendor's current state is read and diffed. ``plan`` stops there (read-only calls); ``apply``
then writes what the plan says. Exit codes: 0 done, 1 the vendor refused or failed, 2 usage or
configuration (including a ``--notify`` channel that cannot be used).
"""

from __future__ import annotations

import argparse
import json
import os
from typing import Any, TextIO
from urllib.parse import urlsplit

from forwarder.alerts.definitions import (
    MANAGED_TAG,
    AlertOptions,
    check_notify,
    newrelic_policy_name,
    parse_duration,
)
from forwarder.alerts.plan import (
    Plan,
    apply_datadog,
    apply_newrelic,
    plan_datadog,
    plan_newrelic,
    read_newrelic,
)
from forwarder.commands.common import EXIT_OK, settings_from_env
from forwarder.config import Settings, check_url
from forwarder.errors import ConfigError
from forwarder.model import SEVERITIES
from forwarder.secrets import KeyResolver
from forwarder.wiring import KEY_VARIABLES, aws_client

VENDORS = ("datadog", "newrelic")
_VERBS = {
    "plan": {"create": "create", "update": "update", "no-op": "no-op"},
    "apply": {"create": "created", "update": "updated", "no-op": "unchanged"},
}


def _duration(text: str) -> int:
    try:
        return parse_duration(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def add_parser(commands: Any) -> None:
    parser = commands.add_parser(
        "alerts",
        help="plan or apply Datadog monitors / New Relic alert conditions for task stops",
        description="Alerts per ECS service (else task family): 'task failed' (a stop at or above "
        "--min-severity in 5 minutes), 'crash loop' (--threshold such stops within --window) and, with "
        "--silent-window, 'forwarder silent' (no stop record at all). Datadog needs DD_APP_KEY besides the "
        "API key (DD_SITE, or DD_API_URL); New Relic needs NEW_RELIC_USER_KEY and NEW_RELIC_ACCOUNT_ID "
        "(NEW_RELIC_REGION, or NEW_RELIC_GRAPHQL_URL). See docs/alerts.md.",
    )
    parser.add_argument("mode", choices=("plan", "apply"), help="plan: show what would change; apply: do it")
    parser.add_argument("--vendor", required=True, choices=VENDORS)
    parser.add_argument("--min-severity", choices=SEVERITIES, default="error", help="default error")
    parser.add_argument(
        "--exclude-category", action="append", default=[], metavar="CATEGORY", help="repeatable"
    )
    parser.add_argument("--threshold", type=int, default=3, help="crash loop: stops in --window (default 3)")
    parser.add_argument("--window", type=_duration, default="10m", help="crash loop window (default 10m)")
    parser.add_argument("--silent-window", type=_duration, help="turn on 'forwarder silent', e.g. 24h")
    parser.add_argument(
        "--notify",
        action="append",
        default=[],
        metavar="TARGET",
        help="repeatable: a Datadog @handle (@slack-ops) or a New Relic notification channel id",
    )
    parser.add_argument("--env", help="Datadog: the env tag to scope to; both: part of the names")
    parser.add_argument("--json", action="store_true", help="one JSON document instead of text")
    parser.set_defaults(run=run)


def options_from(args: argparse.Namespace, settings: Settings) -> AlertOptions:
    options = AlertOptions(
        min_severity=args.min_severity,
        exclude_categories=tuple(args.exclude_category),
        threshold=args.threshold,
        window=args.window,
        silent_window=args.silent_window,
        notify=tuple(dict.fromkeys(args.notify)),
        env=args.env,
        source=settings.datadog.source if args.vendor == "datadog" else "ecs",  # DD_SOURCE is Datadog's
    )
    check_notify(args.vendor, options)
    return options


def run(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    settings = settings_from_env()
    options = options_from(args, settings)
    plan = (
        _datadog(args.mode, options, settings)
        if args.vendor == "datadog"
        else _newrelic(args.mode, options, settings)
    )
    if args.json:
        out.write(json.dumps(plan.to_dict(args.mode), ensure_ascii=False, sort_keys=True) + "\n")
    else:
        report(plan, args.mode, options, out)
    return EXIT_OK


def _required(name: str, why: str) -> str:
    value = os.environ.get(name, "").strip()
    if not value:
        raise ConfigError(f"{name} is not set: {why}")
    return value


def _base_url(name: str) -> str | None:
    value = os.environ.get(name, "").strip()
    if not value:
        return None
    check_url(value, name)
    if urlsplit(value).path.rstrip("/"):
        raise ConfigError(f"{name} must be a bare scheme://host[:port] such as https://api.datadoghq.eu")
    return value.rstrip("/")


def _datadog(mode: str, options: AlertOptions, settings: Settings) -> Plan:
    app_key = _required("DD_APP_KEY", "Datadog monitors need an application key besides the API key")
    ref = settings.datadog.key
    if ref is None:
        raise ConfigError(f"none of {KEY_VARIABLES['datadog']} is set: Datadog needs its API key")
    url = _base_url("DD_API_URL") or f"https://api.{settings.datadog.site}"
    api_key = KeyResolver(aws_client).resolve(ref)
    from forwarder.alerts.datadog import DatadogMonitors  # noqa: PLC0415 - only this vendor loads its client

    client = DatadogMonitors(api_key, app_key, url)
    try:
        plan = plan_datadog(options, client.list_managed(), url)
        return apply_datadog(plan, client) if mode == "apply" else plan
    finally:
        client.close()


def _newrelic(mode: str, options: AlertOptions, settings: Settings) -> Plan:
    user_key = _required("NEW_RELIC_USER_KEY", "NerdGraph needs a user key (NRAK-...), not the license key")
    account = _required("NEW_RELIC_ACCOUNT_ID", "the New Relic account to hold the alert policy")
    if not account.isdigit():
        raise ConfigError("NEW_RELIC_ACCOUNT_ID must be a number (the account id)")
    from forwarder.alerts.newrelic import GRAPHQL_URLS, NerdGraph  # noqa: PLC0415

    url = os.environ.get("NEW_RELIC_GRAPHQL_URL", "").strip()
    if url:
        check_url(url, "NEW_RELIC_GRAPHQL_URL")
    elif settings.newrelic.region in GRAPHQL_URLS:
        url = GRAPHQL_URLS[settings.newrelic.region]
    else:
        raise ConfigError(
            f"NEW_RELIC_REGION {settings.newrelic.region} has no NerdGraph endpoint known here: "
            "set NEW_RELIC_GRAPHQL_URL"
        )
    client = NerdGraph(user_key, int(account), url)
    try:
        plan = plan_newrelic(options, read_newrelic(client, options), f"{url} (account {account})")
        return apply_newrelic(plan, client, options) if mode == "apply" else plan
    finally:
        client.close()


def report(plan: Plan, mode: str, options: AlertOptions, out: TextIO) -> None:
    if plan.vendor == "datadog":
        out.write(f"Datadog monitors at {plan.target} (tag {MANAGED_TAG})\n\n")
    else:
        out.write(f'New Relic policy "{newrelic_policy_name(options)}" at {plan.target}\n\n')
    verbs = _VERBS[mode]
    width = max((len(change.kind) for change in plan.changes), default=0)
    for change in plan.changes:
        ident = change.result_id or change.existing_id
        line = f"{verbs[change.action]:<9} {change.kind:<{width}}  {change.name}"
        line += f"  ({change.kind} {ident})" if ident else ""
        if change.action == "update":
            line += f"; changes: {', '.join(change.fields)}"
        out.write(line + "\n")
        for detail in (change.query, f"when: {change.rule}" if change.rule else None):
            if detail:
                out.write(f"{'':<{12 + width}}{detail}\n")
    for note in plan.notes:
        out.write(f"note: {note}\n")
    counts = {action: plan.count(action) for action in ("create", "update", "no-op")}
    created, updated, same = counts["create"], counts["update"], counts["no-op"]
    if mode == "plan":
        out.write(f"\nPlan: {created} to create, {updated} to update, {same} unchanged.\n")
    else:
        out.write(f"\nApplied: {created} created, {updated} updated, {same} unchanged.\n")
