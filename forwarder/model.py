"""The stop record: a frozen, typed view of one stopped ECS task and why it stopped.

The JSON field names are a contract (monitors, archives and replay read them): add fields, never
rename them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, NamedTuple, Protocol

Severity = Literal["error", "warning", "info"]
SEVERITIES: tuple[Severity, ...] = ("info", "warning", "error")


def severity_rank(severity: str) -> int:
    """0 for info, 1 for warning, 2 for error; unknown values rank as error so nothing is hidden."""
    return SEVERITIES.index(severity) if severity in SEVERITIES else len(SEVERITIES) - 1


@dataclass(frozen=True, slots=True)
class Container:
    name: str | None
    image: str | None
    image_digest: str | None
    exit_code: int | None
    reason: str | None
    last_status: str | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "image": self.image,
            "image_digest": self.image_digest,
            "exit_code": self.exit_code,
            "reason": self.reason,
            "last_status": self.last_status,
        }


class StopFacts(Protocol):
    """What classification reads: a ``StopRecord``, or the parser's ``Facts`` before the record exists."""

    @property
    def cluster(self) -> str | None: ...
    @property
    def group_name(self) -> str | None: ...
    @property
    def task_id(self) -> str | None: ...
    @property
    def region(self) -> str | None: ...
    @property
    def started_by(self) -> str | None: ...
    @property
    def cpu_architecture(self) -> str | None: ...
    @property
    def stop_code(self) -> str | None: ...
    @property
    def stopped_reason(self) -> str | None: ...
    @property
    def started_at(self) -> str | None: ...
    @property
    def run_seconds(self) -> float | None: ...
    @property
    def containers(self) -> tuple[Container, ...]: ...


class Facts(NamedTuple):
    """The parser's evidence for classification, cheap to build (the record is built once, after)."""

    cluster: str | None
    group_name: str | None
    task_id: str | None
    region: str | None
    started_by: str | None
    cpu_architecture: str | None
    stop_code: str | None
    stopped_reason: str | None
    started_at: str | None
    run_seconds: float | None
    containers: tuple[Container, ...]


@dataclass(frozen=True, slots=True)
class Classification:
    category: str
    severity: Severity
    hint: str
    culprit_container: str | None = None
    exit_code: int | None = None
    evidence: str | None = None


@dataclass(frozen=True, slots=True)
class StopRecord:
    """Everything the product carries about one stop. Timestamps are ISO 8601 UTC strings."""

    event_id: str
    time: str | None
    account: str | None
    region: str | None
    cluster: str | None
    cluster_arn: str | None
    task_arn: str | None
    task_id: str | None
    task_definition_arn: str | None
    family: str | None
    revision: int | None
    group: str | None
    service: str | None
    started_by: str | None
    launch_type: str | None
    capacity_provider: str | None
    platform_version: str | None
    cpu_architecture: str | None
    availability_zone: str | None
    last_status: str | None
    desired_status: str | None
    stop_code: str | None
    stopped_reason: str | None
    created_at: str | None
    started_at: str | None
    stopping_at: str | None
    stopped_at: str | None
    run_seconds: float | None
    containers: tuple[Container, ...] = field(default_factory=tuple)
    category: str = "unknown"
    severity: Severity = "warning"
    hint: str = ""
    culprit_container: str | None = None
    exit_code: int | None = None
    message: str = ""

    def to_dict(self) -> dict[str, Any]:
        """The JSON form, with the contract's field names in the contract's order."""
        return {
            "event_id": self.event_id,
            "time": self.time,
            "account": self.account,
            "region": self.region,
            "cluster": self.cluster,
            "cluster_arn": self.cluster_arn,
            "task_arn": self.task_arn,
            "task_id": self.task_id,
            "task_definition_arn": self.task_definition_arn,
            "family": self.family,
            "revision": self.revision,
            "group": self.group,
            "service": self.service,
            "started_by": self.started_by,
            "launch_type": self.launch_type,
            "capacity_provider": self.capacity_provider,
            "platform_version": self.platform_version,
            "cpu_architecture": self.cpu_architecture,
            "availability_zone": self.availability_zone,
            "last_status": self.last_status,
            "desired_status": self.desired_status,
            "stop_code": self.stop_code,
            "stopped_reason": self.stopped_reason,
            "created_at": self.created_at,
            "started_at": self.started_at,
            "stopping_at": self.stopping_at,
            "stopped_at": self.stopped_at,
            "run_seconds": self.run_seconds,
            "containers": [c.to_dict() for c in self.containers],
            "category": self.category,
            "severity": self.severity,
            "hint": self.hint,
            "culprit_container": self.culprit_container,
            "exit_code": self.exit_code,
            "message": self.message,
        }

    @property
    def group_name(self) -> str | None:
        """The ECS service name, else the task family: what alerts and vendors group by."""
        return self.service or self.family

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> StopRecord:
        """The record ``to_dict`` wrote (an archive document's ``record``). Raises ``KeyError`` or
        ``TypeError`` when ``data`` is not one."""
        values: dict[str, Any] = {name: data.get(name) for name in _RECORD_FIELDS}
        values["containers"] = tuple(
            Container(
                c.get("name"),
                c.get("image"),
                c.get("image_digest"),
                c.get("exit_code"),
                c.get("reason"),
                c.get("last_status"),
            )
            for c in data["containers"]
        )
        for name in ("category", "severity", "hint", "message"):
            if not isinstance(values[name], str):
                raise TypeError(f"{name}: expected a string")
        if not isinstance(values["event_id"], str) or values["severity"] not in SEVERITIES:
            raise TypeError("event_id or severity: not a stop record")
        return cls(**values)


_RECORD_FIELDS = tuple(name for name in StopRecord.__dataclass_fields__ if name != "containers")
