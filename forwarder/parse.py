"""EventBridge ECS Task State Change event (or a bare DescribeTasks ``Task``) -> StopRecord. Pure.

Missing optional fields become ``None``. A field of the wrong type is an ``InvalidEvent`` naming the
field's path, so bad input is reported precisely instead of half-parsed.
"""

from __future__ import annotations

import dataclasses
import uuid
from datetime import UTC, datetime
from typing import Any

from forwarder.classify import classify, classify_event, summarize
from forwarder.errors import InvalidEvent, NotStopped, NotTaskEvent
from forwarder.model import Container, Enrichment, Facts, Findings, StopRecord

ECS_SOURCE = "aws.ecs"
TASK_STATE_CHANGE = "ECS Task State Change"
_ARCH_ATTRIBUTE = "ecs.cpu-architecture"
# Deterministic ids for bare Task objects (which carry none), so replay can dedup them.
_TASK_ID_NAMESPACE = uuid.UUID("6f1c1b9e-3f57-4a55-9f0e-0d3c2f0e7a11")


def _type_name(value: object) -> str:
    return {dict: "object", list: "array", str: "string", bool: "boolean", type(None): "null"}.get(
        type(value), "number"
    )


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _str(obj: dict[str, Any], key: str, path: str) -> str | None:
    value = obj.get(key)
    if value is None or isinstance(value, str):
        return value
    raise InvalidEvent(f"expected a string, got {_type_name(value)}", _join(path, key))


def _strs(obj: dict[str, Any], keys: tuple[str, ...], path: str) -> list[str | None]:
    """``_str`` for many keys at once (this is the hot path: one call instead of a dozen)."""
    values: list[str | None] = []
    for key in keys:
        value = obj.get(key)
        if value is not None and not isinstance(value, str):
            raise InvalidEvent(f"expected a string, got {_type_name(value)}", _join(path, key))
        values.append(value)
    return values


def _int(obj: dict[str, Any], key: str, path: str) -> int | None:
    value = obj.get(key)
    if value is None or (isinstance(value, int) and not isinstance(value, bool)):
        return value
    raise InvalidEvent(f"expected an integer, got {_type_name(value)}", _join(path, key))


_NO_TIME: tuple[None, None] = (None, None)


def _time(obj: dict[str, Any], key: str, path: str) -> tuple[datetime, str] | tuple[None, None]:
    """(moment, canonical ISO string) of an ISO 8601 string (events) or epoch seconds (DescribeTasks
    through boto3's JSON); (None, None) when absent."""
    value = obj.get(key)
    if value is None:
        return _NO_TIME
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
            size = len(value)
            if size in (24, 20) and value[-1] == "Z" and value[10] == "T" and value[7] == "-":
                if size == 20:  # whole seconds, as EventBridge writes an event's ``time``
                    return parsed, value[:19] + ".000Z"
                if value[19] == ".":  # canonical already (a calendar date, UTC, milliseconds)
                    return parsed, value
            moment = parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
        except (ValueError, OverflowError):  # OverflowError: an offset pushing it past year 1 or 9999
            raise InvalidEvent(f"not an ISO 8601 timestamp: {value[:40]!r}", _join(path, key)) from None
        return moment, iso(moment)
    if isinstance(value, int | float) and not isinstance(value, bool):
        try:
            moment = datetime.fromtimestamp(value, tz=UTC)
        except (OverflowError, OSError, ValueError):
            raise InvalidEvent(f"epoch timestamp out of range: {value!r}", _join(path, key)) from None
        return moment, iso(moment)
    raise InvalidEvent(f"expected a timestamp, got {_type_name(value)}", _join(path, key))


def iso(moment: datetime) -> str:
    """Canonical form: UTC, milliseconds, ``Z``."""
    return moment.replace(tzinfo=None).isoformat(timespec="milliseconds") + "Z"


def _list_of_objects(obj: dict[str, Any], key: str, path: str) -> list[dict[str, Any]]:
    value = obj.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise InvalidEvent(f"expected an array, got {_type_name(value)}", _join(path, key))
    for index, item in enumerate(value):
        if not isinstance(item, dict):
            raise InvalidEvent(f"expected an object, got {_type_name(item)}", f"{path}.{key}[{index}]")
    return value


def _arn_parts(arn: str | None) -> tuple[str | None, str | None, str | None]:
    """(region, account, resource) of an ARN, Nones when it is not one."""
    if not arn:
        return None, None, None
    parts = arn.split(":", 5)
    if len(parts) != 6 or parts[0] != "arn":
        return None, None, None
    return parts[3] or None, parts[4] or None, parts[5]


def _after(resource: str | None, prefix: str) -> str | None:
    if resource and resource.startswith(prefix):
        return resource[len(prefix) :] or None
    return None


def _family_revision(task_definition_arn: str | None) -> tuple[str | None, int | None]:
    name = _after(_arn_parts(task_definition_arn)[2], "task-definition/")
    if not name:
        return None, None
    family, _, revision = name.rpartition(":")
    if family and revision.isdigit():
        return family, int(revision)
    return name, None


_CONTAINER_STRINGS = ("name", "image", "imageDigest", "reason", "lastStatus")
_TASK_STRINGS = (
    "taskArn", "clusterArn", "taskDefinitionArn", "group", "startedBy", "launchType",
    "capacityProviderName", "platformVersion", "availabilityZone", "desiredStatus", "stopCode",
    "stoppedReason",
)  # fmt: skip


def _container(item: dict[str, Any], path: str) -> Container:
    name, image, image_digest, reason, last_status = _strs(item, _CONTAINER_STRINGS, path)
    return Container(name, image, image_digest, _int(item, "exitCode", path), reason, last_status)


def _cpu_architecture(task: dict[str, Any], path: str) -> str | None:
    for index, attribute in enumerate(_list_of_objects(task, "attributes", path)):
        if attribute.get("name") == _ARCH_ATTRIBUTE:
            return _str(attribute, "value", f"{path}.attributes[{index}]")
    return None


def _envelope(obj: object) -> tuple[dict[str, Any], dict[str, Any], str]:
    """(envelope, task, path of the task) — the envelope is empty for a bare Task object."""
    if not isinstance(obj, dict):
        raise InvalidEvent(f"expected a JSON object, got {_type_name(obj)}")
    if "detail-type" in obj or "source" in obj or "detail" in obj:
        source, detail_type = obj.get("source"), obj.get("detail-type")
        if source != ECS_SOURCE or detail_type != TASK_STATE_CHANGE:
            raise NotTaskEvent(
                f"not an ECS task state change (source={str(source)[:60]!r}, "
                f"detail-type={str(detail_type)[:60]!r})"
            )
        detail = obj.get("detail")
        if not isinstance(detail, dict):
            raise InvalidEvent(f"expected an object, got {_type_name(detail)}", "detail")
        return obj, detail, "detail"
    if "taskArn" in obj:
        return {}, obj, "task"
    raise NotTaskEvent("neither an EventBridge event nor an ECS Task object (no source, detail or taskArn)")


def parse_event(obj: object) -> StopRecord:
    """Parse and classify one input. Raises ``InvalidEvent`` (or a subclass) and nothing else."""
    envelope, task, path = _envelope(obj)
    last_status = _str(task, "lastStatus", path)
    if last_status is None:
        raise InvalidEvent("missing: an ECS task always has a lastStatus", f"{path}.lastStatus")
    if last_status != "STOPPED":
        raise NotStopped(f"task lastStatus is {last_status[:40]!r}, not 'STOPPED'")

    (
        task_arn, cluster_arn, task_definition_arn, group, started_by, launch_type, capacity_provider,
        platform_version, availability_zone, desired_status, stop_code, stopped_reason,
    ) = _strs(task, _TASK_STRINGS, path)  # fmt: skip
    region, account, task_resource = _arn_parts(task_arn)
    family, revision = _family_revision(task_definition_arn)
    created_at = _time(task, "createdAt", path)[1]
    started, started_at = _time(task, "startedAt", path)
    stopping_at = _time(task, "stoppingAt", path)[1]
    stopped, stopped_at = _time(task, "stoppedAt", path)
    containers = tuple(
        _container(item, f"{path}.containers[{index}]")
        for index, item in enumerate(_list_of_objects(task, "containers", path))
    )

    event_id, event_account, event_region = _strs(envelope, ("id", "account", "region"), "")
    if not event_id:
        event_id = str(uuid.uuid5(_TASK_ID_NAMESPACE, f"{task_arn}|{stopped_at}"))
    event_time = _time(envelope, "time", "")[1]

    cluster = _after(_arn_parts(cluster_arn)[2], "cluster/")
    task_id = task_resource.rsplit("/", 1)[-1] if task_resource else None
    service = _after(group, "service:")
    cpu_architecture = _cpu_architecture(task, path)
    run_seconds = round((stopped - started).total_seconds(), 3) if started and stopped else None
    region = event_region or region
    facts = Facts(
        cluster, service or family, task_id, region, started_by, cpu_architecture, stop_code,
        stopped_reason, started_at, run_seconds, containers,
    )  # fmt: skip
    verdict = classify_event(facts)
    return StopRecord.of_fields(
        {
            "event_id": event_id,
            "time": event_time or stopped_at,
            "account": event_account or account,
            "region": region,
            "cluster": cluster,
            "cluster_arn": cluster_arn,
            "task_arn": task_arn,
            "task_id": task_id,
            "task_definition_arn": task_definition_arn,
            "family": family,
            "revision": revision,
            "group": group,
            "service": service,
            "started_by": started_by,
            "launch_type": launch_type,
            "capacity_provider": capacity_provider,
            "platform_version": platform_version,
            "cpu_architecture": cpu_architecture,
            "availability_zone": availability_zone,
            "last_status": last_status,
            "desired_status": desired_status,
            "stop_code": stop_code,
            "stopped_reason": stopped_reason,
            "created_at": created_at,
            "started_at": started_at,
            "stopping_at": stopping_at,
            "stopped_at": stopped_at,
            "run_seconds": run_seconds,
            "containers": containers,
            "category": verdict.category,
            "severity": verdict.severity,
            "hint": verdict.hint,
            "culprit_container": verdict.culprit_container,
            "exit_code": verdict.exit_code,
            "message": summarize(facts, verdict),
            "evidence": verdict.found,
            "enrichment": None,
            "log_tail": None,
        }
    )


def with_findings(record: StopRecord, findings: Findings, enrichment: Enrichment) -> StopRecord:
    """``record`` classified again with what enrichment read beyond its event (pure)."""
    verdict = classify(record, findings)
    return dataclasses.replace(
        record,
        category=verdict.category,
        severity=verdict.severity,
        hint=verdict.hint,
        culprit_container=verdict.culprit_container,
        exit_code=verdict.exit_code,
        message=summarize(record, verdict),
        evidence=verdict.found,
        enrichment=enrichment,
        log_tail=findings.log_lines or None,
    )
