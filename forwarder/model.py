"""The stop record: a frozen, typed view of one stopped ECS task and why it stopped.

The JSON field names are a contract (monitors, archives and replay read them): add fields, never
rename them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Generic, Literal, NamedTuple, Protocol, TypeVar, overload

Severity = Literal["error", "warning", "info"]
T = TypeVar("T")
SEVERITIES: tuple[Severity, ...] = ("info", "warning", "error")


def severity_rank(severity: str) -> int:
    """0 for info, 1 for warning, 2 for error; unknown values rank as error so nothing is hidden."""
    return SEVERITIES.index(severity) if severity in SEVERITIES else len(SEVERITIES) - 1


class Container(NamedTuple):
    """One container of a stopped task, as the record carries it. A tuple: every event has a few,
    and one is cheaper to make, hash and compare than a frozen dataclass (a verdict is cached on
    the containers)."""

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


class Evidence(NamedTuple):
    """One piece of evidence behind a category: where it was read (``event``, ``logs`` or
    ``image``) and what it says, quoted."""

    source: str
    text: str

    def to_dict(self) -> dict[str, str]:
        return {"source": self.source, "text": self.text}


class Enrichment(NamedTuple):
    """What reading beyond the event gave, per source: ``ok``, ``skipped: <why>`` or
    ``unavailable: <why>``."""

    logs: str
    image: str

    def to_dict(self) -> dict[str, str]:
        return {"logs": self.logs, "image": self.image}


class Findings(NamedTuple):
    """What enrichment read beyond the event, handed to ``classify`` as plain data."""

    container: str | None = None  # the container whose log and image were read
    log_lines: tuple[str, ...] = ()  # its last log lines, oldest first, redacted
    image: str | None = None  # what the image's manifest says of its platforms, quotable
    image_mismatch: bool = False  # the image has no build for the task's platform
    essential: frozenset[str] | None = None  # the essential containers, from the task definition


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


class Classification(NamedTuple):
    """What ``classify`` decides: one per event, so a tuple (cheaper to make than a frozen dataclass).
    ``found`` is the record's evidence list: what decided the category first."""

    category: str
    severity: Severity
    hint: str
    culprit_container: str | None = None
    exit_code: int | None = None
    evidence: str | None = None
    found: tuple[Evidence, ...] = ()


@dataclass(frozen=True)
class StopRecord:
    """Everything the product carries about one stop. Timestamps are ISO 8601 UTC strings.

    Not slotted: ``of_fields`` sets all 38 fields at once through the instance's dict, where a
    frozen dataclass's ``__init__`` sets them one ``object.__setattr__`` at a time."""

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
    # Added by diagnosis (#18): what decided the category, first; what enrichment gave (None when
    # it was off); the culprit's last log lines read, redacted (None when none were read).
    evidence: tuple[Evidence, ...] = ()
    enrichment: Enrichment | None = None
    log_tail: tuple[str, ...] | None = None

    def to_dict(self) -> dict[str, Any]:
        """The JSON form, with the contract's field names in the contract's order: the instance's
        dict, which every way of building a record fills in field order (``__init__``,
        ``of_fields`` from the parser and ``from_dict``, pickle, ``dataclasses.replace``): a copy
        of it, rather than 35 attribute reads."""
        data = dict(self.__dict__)
        data["containers"] = [c.to_dict() for c in self.containers]
        data["evidence"] = [e.to_dict() for e in self.evidence]
        if self.enrichment is not None:
            data["enrichment"] = self.enrichment.to_dict()
        if self.log_tail is not None:
            data["log_tail"] = list(self.log_tail)
        return data

    @property
    def group_name(self) -> str | None:
        """The ECS service name, else the task family: what alerts and vendors group by."""
        return self.service or self.family

    @classmethod
    def of_fields(cls, values: dict[str, Any]) -> StopRecord:
        """The record with these values: every field's, in field order (``to_dict`` copies them
        as they are), and nothing else; the callers build them so, and a test holds them to it.
        No defaults, no copy: ``values`` becomes the record's."""
        record = object.__new__(cls)
        object.__setattr__(record, "__dict__", values)
        return record

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> StopRecord:
        """The record ``to_dict`` wrote (an archive document's ``record``). Raises ``KeyError`` or
        ``TypeError`` when ``data`` is not one."""
        values: dict[str, Any] = {name: data.get(name) for name in _DICT_FIELDS}  # in field order
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
        # Fields added later are absent from older archive documents.
        values["evidence"] = tuple(Evidence(e["source"], e["text"]) for e in data.get("evidence") or ())
        enrichment = data.get("enrichment")
        values["enrichment"] = (
            None if enrichment is None else Enrichment(enrichment["logs"], enrichment["image"])
        )
        tail = data.get("log_tail")
        values["log_tail"] = None if tail is None else tuple(tail)
        if not _has_record_texts(data):
            raise TypeError("event_id, category, severity, hint or message: not a stop record")
        return cls.of_fields(values)


def _has_record_texts(data: dict[str, Any]) -> bool:
    """What a record's dict must hold beyond its keys: its texts are strings (a known severity is
    one), checked for every archive document replay reads."""
    get = data.get
    return (
        get("severity") in SEVERITIES
        and isinstance(get("event_id"), str)
        and isinstance(get("category"), str)
        and isinstance(get("hint"), str)
        and isinstance(get("message"), str)
    )


_DICT_FIELDS = tuple(StopRecord.__dataclass_fields__)  # to_dict's keys, in order
_CONTAINER_FIELDS = Container._fields


class Record(Protocol):
    """What filtering and the vendor encoders read of a record: a ``StopRecord``, or an archived
    record's ``ArchivedRecord`` view."""

    @property
    def event_id(self) -> str: ...
    @property
    def time(self) -> str | None: ...
    @property
    def account(self) -> str | None: ...
    @property
    def region(self) -> str | None: ...
    @property
    def cluster(self) -> str | None: ...
    @property
    def cluster_arn(self) -> str | None: ...
    @property
    def task_arn(self) -> str | None: ...
    @property
    def family(self) -> str | None: ...
    @property
    def revision(self) -> int | None: ...
    @property
    def service(self) -> str | None: ...
    @property
    def launch_type(self) -> str | None: ...
    @property
    def availability_zone(self) -> str | None: ...
    @property
    def stop_code(self) -> str | None: ...
    @property
    def stopped_at(self) -> str | None: ...
    @property
    def category(self) -> str: ...
    @property
    def severity(self) -> str: ...
    @property
    def message(self) -> str: ...
    @property
    def hint(self) -> str: ...
    @property
    def group_name(self) -> str | None: ...

    def to_dict(self) -> dict[str, Any]: ...


class _Field(Generic[T]):
    """One key of an ``ArchivedRecord``'s dict, read as the attribute of the same name, typed."""

    def __set_name__(self, owner: type, name: str) -> None:
        self.key = name

    @overload
    def __get__(self, view: None, owner: type) -> _Field[T]: ...
    @overload
    def __get__(self, view: ArchivedRecord, owner: type) -> T: ...
    def __get__(self, view: ArchivedRecord | None, owner: type) -> T | _Field[T]:
        if view is None:
            return self
        value: T = view.data[self.key]
        return value


@dataclass(frozen=True, slots=True)
class ArchivedRecord:
    """A thin typed view over a record as ``StopRecord.to_dict`` wrote it into an archive
    document: replay re-sends it as archived without rebuilding a ``StopRecord`` and its dict
    again. ``of`` gives one only for a dict with
    exactly the record's fields in order (each container's too) and the types ``from_dict``
    checks, so ``to_dict`` equals ``StopRecord.from_dict(data).to_dict()``."""

    data: dict[str, Any]

    # what filtering and the encoders read (``Record``)
    event_id = _Field[str]()
    time = _Field[str | None]()
    account = _Field[str | None]()
    region = _Field[str | None]()
    cluster = _Field[str | None]()
    cluster_arn = _Field[str | None]()
    task_arn = _Field[str | None]()
    family = _Field[str | None]()
    revision = _Field[int | None]()
    service = _Field[str | None]()
    launch_type = _Field[str | None]()
    availability_zone = _Field[str | None]()
    stop_code = _Field[str | None]()
    stopped_at = _Field[str | None]()
    category = _Field[str]()
    severity = _Field[str]()
    message = _Field[str]()
    hint = _Field[str]()

    @classmethod
    def of(cls, data: dict[str, Any]) -> ArchivedRecord | None:
        """The view, or None when ``data`` is not exactly a record (the caller rebuilds)."""
        if tuple(data) != _DICT_FIELDS or not isinstance(data["containers"], list):
            return None
        for container in data["containers"]:
            if not isinstance(container, dict) or tuple(container) != _CONTAINER_FIELDS:
                return None
        return cls(data) if _has_record_texts(data) else None

    def to_dict(self) -> dict[str, Any]:
        """A new dict (callers change it); nested values are shared, and never changed."""
        return dict(self.data)

    def record(self) -> StopRecord:
        return StopRecord.from_dict(self.data)

    @property
    def group_name(self) -> str | None:
        """As ``StopRecord.group_name``: the ECS service name, else the task family."""
        return self.service or self.family
