"""EventBridge ECS Task State Change event (or a bare DescribeTasks ``Task``) -> StopRecord. Pure.

Missing optional fields become ``None``. A field of the wrong type is an ``InvalidEvent`` naming the
field's path, so bad input is reported precisely instead of half-parsed.
"""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from forwarder.classify import classify, summarize
from forwarder.errors import InvalidEvent, NotStopped, NotTaskEvent
from forwarder.model import Container, StopRecord

ECS_SOURCE = "aws.ecs"
TASK_STATE_CHANGE = "ECS Task State Change"
_ARCH_ATTRIBUTE = "ecs.cpu-architecture"
# Deterministic ids for bare Task objects (which carry none), so replay can dedup them.
_TASK_ID_NAMESPACE = uuid.UUID("6f1c1b9e-3f57-4a55-9f0e-0d3c2f0e7a11")


def _type_name(value: object) -> str:
    return {dict: "object", list: "array", str: "string", bool: "boolean", type(None): "null"}.get(
        type(value), "number"
    )


def _str(obj: dict[str, Any], key: str, path: str) -> str | None:
    value = obj.get(key)
    if value is None or isinstance(value, str):
        return value
    raise InvalidEvent(f"expected a string, got {_type_name(value)}", f"{path}.{key}")


def _int(obj: dict[str, Any], key: str, path: str) -> int | None:
    value = obj.get(key)
    if value is None or (isinstance(value, int) and not isinstance(value, bool)):
        return value
    raise InvalidEvent(f"expected an integer, got {_type_name(value)}", f"{path}.{key}")


def _time(obj: dict[str, Any], key: str, path: str) -> datetime | None:
    """ISO 8601 strings (events) or epoch seconds (DescribeTasks through boto3's JSON)."""
    value = obj.get(key)
    if value is None:
        return None
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            raise InvalidEvent(f"not an ISO 8601 timestamp: {value[:40]!r}", f"{path}.{key}") from None
        return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
    if isinstance(value, int | float) and not isinstance(value, bool):
        try:
            return datetime.fromtimestamp(value, tz=UTC)
        except (OverflowError, OSError, ValueError):
            raise InvalidEvent(f"epoch timestamp out of range: {value!r}", f"{path}.{key}") from None
    raise InvalidEvent(f"expected a timestamp, got {_type_name(value)}", f"{path}.{key}")


def iso(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _list_of_objects(obj: dict[str, Any], key: str, path: str) -> list[dict[str, Any]]:
    value = obj.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise InvalidEvent(f"expected an array, got {_type_name(value)}", f"{path}.{key}")
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


def _container(item: dict[str, Any], path: str) -> Container:
    return Container(
        name=_str(item, "name", path),
        image=_str(item, "image", path),
        image_digest=_str(item, "imageDigest", path),
        exit_code=_int(item, "exitCode", path),
        reason=_str(item, "reason", path),
        last_status=_str(item, "lastStatus", path),
    )


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

    task_arn = _str(task, "taskArn", path)
    cluster_arn = _str(task, "clusterArn", path)
    task_definition_arn = _str(task, "taskDefinitionArn", path)
    group = _str(task, "group", path)
    region, account, task_resource = _arn_parts(task_arn)
    family, revision = _family_revision(task_definition_arn)
    created, started = _time(task, "createdAt", path), _time(task, "startedAt", path)
    stopping, stopped = _time(task, "stoppingAt", path), _time(task, "stoppedAt", path)
    containers = tuple(
        _container(item, f"{path}.containers[{index}]")
        for index, item in enumerate(_list_of_objects(task, "containers", path))
    )

    event_id = _str(envelope, "id", "") if envelope else None
    if not event_id:
        event_id = str(uuid.uuid5(_TASK_ID_NAMESPACE, f"{task_arn}|{iso(stopped)}"))
    event_time = _time(envelope, "time", "") if envelope else None

    record = StopRecord(
        event_id=event_id,
        time=iso(event_time or stopped),
        account=_str(envelope, "account", "") or account,
        region=_str(envelope, "region", "") or region,
        cluster=_after(_arn_parts(cluster_arn)[2], "cluster/"),
        cluster_arn=cluster_arn,
        task_arn=task_arn,
        task_id=task_resource.rsplit("/", 1)[-1] if task_resource else None,
        task_definition_arn=task_definition_arn,
        family=family,
        revision=revision,
        group=group,
        service=_after(group, "service:"),
        started_by=_str(task, "startedBy", path),
        launch_type=_str(task, "launchType", path),
        capacity_provider=_str(task, "capacityProviderName", path),
        platform_version=_str(task, "platformVersion", path),
        cpu_architecture=_cpu_architecture(task, path),
        availability_zone=_str(task, "availabilityZone", path),
        last_status=last_status,
        desired_status=_str(task, "desiredStatus", path),
        stop_code=_str(task, "stopCode", path),
        stopped_reason=_str(task, "stoppedReason", path),
        created_at=iso(created),
        started_at=iso(started),
        stopping_at=iso(stopping),
        stopped_at=iso(stopped),
        run_seconds=round((stopped - started).total_seconds(), 3) if started and stopped else None,
        containers=containers,
    )
    verdict = classify(record)
    return replace(
        record,
        category=verdict.category,
        severity=verdict.severity,
        hint=verdict.hint,
        culprit_container=verdict.culprit_container,
        exit_code=verdict.exit_code,
        evidence=verdict.evidence,
        message=summarize(record, verdict),
    )
