"""Desired alerts vs what the vendor has -> create / update / no-op; then apply, writes last.

Reading (``read_*``) and planning (``plan_*``, pure) never write. ``apply_*`` writes only what the
plan says, in dependency order (New Relic: policy, conditions, workflow); for Datadog every monitor
is first checked by Datadog's validate endpoint, so a rejected definition stops the run before the
first write. Resources are recognised by ``managed-by:ecs-stop-forwarder`` plus
``ecs-stop-forwarder-alert:<key>`` (Datadog) or by exact name (New Relic); others are never touched.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal, Protocol

from forwarder.alerts.definitions import (
    ALERT_TAG,
    NAME_PREFIX,
    AlertOptions,
    datadog_monitors,
    definitions,
    newrelic_conditions,
    newrelic_policy,
    newrelic_policy_name,
    newrelic_workflow,
)
from forwarder.errors import ConfigError

Action = Literal["create", "update", "no-op"]
NEW_POLICY = "<new policy id>"


@dataclass(frozen=True)
class Change:
    action: Action
    kind: str  # monitor | policy | condition | workflow
    key: str  # the alert key (task-failed, ...), or policy / workflow
    name: str
    desired: Mapping[str, Any]
    existing_id: str | None = None
    fields: tuple[str, ...] = ()  # what differs, for an update
    query: str | None = None
    rule: str | None = None  # when it fires, in words
    result_id: str | None = None  # set by apply
    existing: Mapping[str, Any] | None = field(default=None, repr=False, compare=False)

    def to_dict(self) -> dict[str, Any]:
        return {
            "action": self.action,
            "kind": self.kind,
            "key": self.key,
            "name": self.name,
            "id": self.result_id or self.existing_id,
            "fields": list(self.fields),
            "query": self.query,
            "rule": self.rule,
            "definition": dict(self.desired),
        }


@dataclass(frozen=True)
class Plan:
    vendor: str
    target: str
    changes: tuple[Change, ...]
    notes: tuple[str, ...] = ()

    def count(self, action: Action) -> int:
        return sum(1 for change in self.changes if change.action == action)

    def to_dict(self, mode: str) -> dict[str, Any]:
        return {
            "vendor": self.vendor,
            "mode": mode,
            "target": self.target,
            "changes": [change.to_dict() for change in self.changes],
            "notes": list(self.notes),
            "summary": {action: self.count(action) for action in ("create", "update", "no-op")},
        }


def differences(desired: Any, existing: Any, path: str = "") -> list[str]:
    """Dotted paths where ``existing`` differs from ``desired``; keys only the vendor has are ignored."""
    if isinstance(desired, Mapping):
        if not isinstance(existing, Mapping):
            return [path or "(all)"]
        found: list[str] = []
        for name, value in desired.items():
            found += differences(value, existing.get(name), f"{path}.{name}" if path else str(name))
        return found
    if isinstance(desired, list):
        if not isinstance(existing, list) or len(existing) != len(desired):
            return [path]
        return [
            d
            for i, (a, b) in enumerate(zip(desired, existing, strict=True))
            for d in differences(a, b, f"{path}[{i}]")
        ]
    if isinstance(desired, bool) or isinstance(existing, bool):
        return [] if desired is existing else [path]
    if isinstance(desired, int | float) and isinstance(existing, int | float):
        return [] if float(desired) == float(existing) else [path]  # the vendor answers 3.0 for 3
    return [] if desired == existing else [path]


def _numeric_id(resource: Mapping[str, Any]) -> tuple[int, str]:
    text = str(resource.get("id"))
    return (int(text), text) if text.isdigit() else (2**63, text)


def _action(fields: Sequence[str]) -> Action:
    return "update" if fields else "no-op"


# -- Datadog -------------------------------------------------------------------------------------


class MonitorsClient(Protocol):
    def list_managed(self) -> list[dict[str, Any]]: ...
    def validate(self, body: Mapping[str, Any]) -> None: ...
    def create(self, body: Mapping[str, Any]) -> dict[str, Any]: ...
    def update(self, monitor_id: int, body: Mapping[str, Any]) -> dict[str, Any]: ...


def _tags(monitor: Mapping[str, Any]) -> list[str]:
    return [str(tag) for tag in monitor.get("tags") or []]


def _comparable_monitor(monitor: Mapping[str, Any]) -> dict[str, Any]:
    return {**monitor, "tags": sorted(_tags(monitor))}  # Datadog does not keep tag order


def plan_datadog(options: AlertOptions, existing: Sequence[Mapping[str, Any]], target: str) -> Plan:
    """``existing``: every monitor tagged ``managed-by:ecs-stop-forwarder`` (any env)."""
    desired = datadog_monitors(options)
    rules = {definition.key: definition.rule for definition in definitions(options)}
    scope = {f"env:{options.env}"} if options.env else set()
    by_key: dict[str, list[Mapping[str, Any]]] = {}
    for monitor in sorted(existing, key=_numeric_id):
        if {tag for tag in _tags(monitor) if tag.startswith("env:")} != scope:
            continue  # another environment's monitors
        for tag in _tags(monitor):
            if tag.startswith(f"{ALERT_TAG}:"):
                by_key.setdefault(tag.partition(":")[2], []).append(monitor)
    changes: list[Change] = []
    notes: list[str] = []
    for key, body in desired.items():
        found = by_key.get(key, [])
        shown = {"query": body["query"], "rule": rules[key]}
        if not found:
            changes.append(Change("create", "monitor", key, body["name"], body, **shown))
            continue
        current, fields = found[0], differences(_comparable_monitor(body), _comparable_monitor(found[0]))
        changes.append(
            Change(
                _action(fields),
                "monitor",
                key,
                body["name"],
                body,
                str(current["id"]),
                tuple(fields),
                **shown,
            )
        )
        for extra in found[1:]:
            notes.append(f"monitor {extra['id']} ({extra.get('name')}) duplicates {key}: left alone")
    for key, monitors in by_key.items():
        if key not in desired:
            ids = ", ".join(str(monitor["id"]) for monitor in monitors)
            notes.append(f"monitor {ids} ({key}) is ours but not in this run's definitions: left alone")
    return Plan("datadog", target, tuple(changes), tuple(notes))


def apply_datadog(plan: Plan, client: MonitorsClient) -> Plan:
    pending = [change for change in plan.changes if change.action != "no-op"]
    for change in pending:  # Datadog's own check, for all of them before the first write
        client.validate(change.desired)
    done: list[Change] = []
    for change in plan.changes:
        result = change
        if change.action == "create":
            result = replace(change, result_id=str(client.create(change.desired)["id"]))
        elif change.action == "update" and change.existing_id is not None:
            client.update(int(change.existing_id), change.desired)
        done.append(result)
    return replace(plan, changes=tuple(done))


# -- New Relic -----------------------------------------------------------------------------------


class NerdGraphClient(Protocol):
    def find_policies(self, name: str) -> list[dict[str, Any]]: ...
    def list_conditions(self, policy_id: str) -> list[dict[str, Any]]: ...
    def find_workflows(self, **filters: str) -> list[dict[str, Any]]: ...
    def find_channel(self, channel_id: str) -> dict[str, Any] | None: ...
    def create_policy(self, policy: Mapping[str, Any]) -> dict[str, Any]: ...
    def update_policy(self, policy_id: str, policy: Mapping[str, Any]) -> dict[str, Any]: ...
    def create_condition(self, policy_id: str, condition: Mapping[str, Any]) -> dict[str, Any]: ...
    def update_condition(self, condition_id: str, condition: Mapping[str, Any]) -> dict[str, Any]: ...
    def create_workflow(self, workflow: Mapping[str, Any]) -> dict[str, Any]: ...
    def update_workflow(
        self, workflow_id: str, filter_id: str, workflow: Mapping[str, Any]
    ) -> dict[str, Any]: ...


@dataclass(frozen=True)
class NewRelicState:
    policies: tuple[dict[str, Any], ...]  # named exactly like ours, lowest id first
    conditions: tuple[dict[str, Any], ...]  # of the first of them
    workflows: tuple[dict[str, Any], ...]  # named exactly like ours


def read_newrelic(client: NerdGraphClient, options: AlertOptions) -> NewRelicState:
    """What exists, and whether each ``--notify`` channel can be used; reads only."""
    name = newrelic_policy_name(options)
    policies = tuple(sorted(client.find_policies(name), key=_numeric_id))
    conditions = tuple(client.list_conditions(str(policies[0]["id"]))) if policies else ()
    workflows = tuple(client.find_workflows(name=name))
    ours = {str(workflow.get("id")) for workflow in workflows}
    for channel in options.notify:
        if client.find_channel(channel) is None:
            raise ConfigError(f"--notify: New Relic has no notification channel {channel!r} in this account")
        taken = [w for w in client.find_workflows(channelId=channel) if str(w.get("id")) not in ours]
        if taken:  # New Relic: a channel serves a single workflow
            raise ConfigError(
                f"--notify: channel {channel!r} already belongs to workflow {taken[0].get('name')!r}; "
                "give ecs-stop-forwarder a channel of its own"
            )
    return NewRelicState(policies, conditions, workflows)


def _comparable_workflow(workflow: Mapping[str, Any]) -> dict[str, Any]:
    configs = sorted(workflow.get("destinationConfigurations") or [], key=lambda c: str(c.get("channelId")))
    configs = [{**c, "notificationTriggers": sorted(c.get("notificationTriggers") or [])} for c in configs]
    return {**workflow, "destinationConfigurations": configs}


def plan_newrelic(options: AlertOptions, state: NewRelicState, target: str) -> Plan:
    changes: list[Change] = []
    notes: list[str] = []
    policy = newrelic_policy(options)
    if not state.policies:
        changes.append(Change("create", "policy", "policy", policy["name"], policy))
        policy_id = NEW_POLICY
    else:
        current = state.policies[0]
        policy_id = str(current["id"])
        fields = differences(policy, current)
        changes.append(
            Change(_action(fields), "policy", "policy", policy["name"], policy, policy_id, tuple(fields))
        )
        notes += [f"policy {extra['id']} has the same name: left alone" for extra in state.policies[1:]]
    existing = {str(c.get("name")): c for c in sorted(state.conditions, key=_numeric_id, reverse=True)}
    desired = newrelic_conditions(options)
    rules = {definition.key: definition.rule for definition in definitions(options)}
    for key, condition in desired.items():
        name = condition["name"]
        shown = {"query": condition["nrql"]["query"], "rule": rules[key]}
        found = existing.get(name)
        if found is None:
            changes.append(Change("create", "condition", key, name, condition, **shown))
            continue
        fields = differences(condition, found)
        changes.append(
            Change(
                _action(fields), "condition", key, name, condition, str(found["id"]), tuple(fields), **shown
            )
        )
    wanted = {condition["name"] for condition in desired.values()}
    for name, found in existing.items():
        if name.startswith(NAME_PREFIX) and name not in wanted:
            notes.append(
                f"condition {found['id']} ({name}) is ours but not in this run's definitions: left alone"
            )
    workflow = newrelic_workflow(options, policy_id)
    if workflow is not None:
        current_workflow = state.workflows[0] if state.workflows else None
        if current_workflow is None:
            changes.append(Change("create", "workflow", "workflow", workflow["name"], workflow))
        else:
            fields = differences(_comparable_workflow(workflow), _comparable_workflow(current_workflow))
            changes.append(
                Change(
                    _action(fields),
                    "workflow",
                    "workflow",
                    workflow["name"],
                    workflow,
                    str(current_workflow["id"]),
                    tuple(fields),
                    existing=current_workflow,
                )
            )
    elif state.workflows:
        notes.append(f"workflow {state.workflows[0]['id']} exists but no --notify was given: left alone")
    return Plan("newrelic", target, tuple(changes), tuple(notes))


def apply_newrelic(plan: Plan, client: NerdGraphClient, options: AlertOptions) -> Plan:
    done: list[Change] = []
    policy_id = ""
    for change in plan.changes:
        result = change
        if change.kind == "policy":
            if change.action == "create":
                policy_id = str(client.create_policy(change.desired)["id"])
                result = replace(change, result_id=policy_id)
            else:
                policy_id = str(change.existing_id)
                if change.action == "update":
                    client.update_policy(policy_id, change.desired)
        elif change.kind == "condition":
            if change.action == "create":
                made = client.create_condition(policy_id, change.desired)
                result = replace(change, result_id=str(made["id"]))
            elif change.action == "update":
                client.update_condition(str(change.existing_id), change.desired)
        elif change.kind == "workflow" and change.action != "no-op":
            workflow = newrelic_workflow(options, policy_id) or {}
            if change.action == "create":
                made = client.create_workflow(workflow)
            else:
                filter_id = str(((change.existing or {}).get("issuesFilter") or {}).get("id"))
                made = client.update_workflow(str(change.existing_id), filter_id, workflow)
            result = replace(change, desired=workflow, result_id=str(made.get("id")))
        done.append(result)
    return replace(plan, changes=tuple(done))
