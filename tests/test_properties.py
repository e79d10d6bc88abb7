"""Properties of the pure core, over arbitrary JSON and mutations of the real fixtures.

- ``parse_event``: a stop record or ``InvalidEvent`` (or a subclass), nothing else;
- ``classify``: one of ``CATEGORIES``, its severity from ``SEVERITY_OF``, a non-empty hint;
- ``redact``: never raises, idempotent, removes every override environment value and every
  secret-looking key's value, never mutates its input;
- ``datadog_log`` / ``newrelic_log``: never raise, encodable; New Relic within 255 attributes
  (counting the 3 common ones, message and timestamp) with no list values; Datadog within 1 MB after
  ``fit``.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from forwarder.classify import CATEGORIES, SEVERITY_OF, classify, classify_event, decided_by
from forwarder.codec import STDLIB
from forwarder.errors import InvalidEvent
from forwarder.fastcodec import FastCodec
from forwarder.model import Container, Facts, StopRecord
from forwarder.parse import parse_event
from forwarder.payloads import (
    DD_MAX_LOG_BYTES,
    NR_COMMON,
    NR_MAX_ATTRIBUTES,
    TRUNCATION_MARKER,
    DatadogEncoder,
    NewRelicEncoder,
    RecordEncoder,
    Replay,
    datadog_log,
    encode,
    fit,
    newrelic_log,
)
from forwarder.redact import REDACTED, looks_secret, redact
from tests.events import make_event
from tests.examples import examples
from tests.fixtures import ROOT

FAST = FastCodec()

FIXTURES: list[Any] = [json.loads(p.read_text()) for p in sorted(ROOT.glob("*/*.json"))]
STOPPED: list[Any] = [json.loads(p.read_text()) for p in sorted((ROOT / "events").glob("*.json"))]
PROPERTY = settings(
    deadline=None, max_examples=examples(200), suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)
QUICK = settings(
    deadline=None, max_examples=examples(60), suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)

# --- strategies -------------------------------------------------------------------------------------

ODD = "\x00\u202e\u200f\ufeff\U0001f4a5\U0001f40d\u00e9\u0130\u212a\ufb03\u0345"  # NUL, bidi, BOM, emoji, case-changers
texts = st.text(alphabet=st.characters(exclude_categories=("Cs",)) | st.sampled_from(ODD), max_size=30)
long_texts = st.tuples(st.text(min_size=1, max_size=12), st.integers(1, 150_000)).map(lambda t: t[0] * t[1])
integers = st.integers() | st.sampled_from([0, 1, -1, 137, 2**31, 2**63, 2**64, 10**30, -(10**30)])
scalars = st.none() | st.booleans() | integers | st.floats() | texts
json_values = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=5) | st.dictionaries(texts, children, max_size=5),
    max_leaves=25,
)
PARSED_KEYS = ["source", "detail-type", "detail", "id", "time", "account", "region", "taskArn", "clusterArn",
               "taskDefinitionArn", "group", "startedBy", "launchType", "lastStatus", "desiredStatus", "stopCode",
               "stoppedReason", "createdAt", "startedAt", "stoppingAt", "stoppedAt", "containers", "attributes",
               "name", "value", "exitCode", "reason", "image", "imageDigest"]  # fmt: skip
keys = st.sampled_from(PARSED_KEYS) | texts


def paths(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield path
    if isinstance(value, dict):
        for key, item in value.items():
            yield from paths(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from paths(item, (*path, index))


def retyped(value: Any) -> Any:
    """The same information in another JSON type."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, str):
        return len(value)
    if isinstance(value, list):
        return {str(i): item for i, item in enumerate(value)}
    if isinstance(value, dict):
        return list(value.values())
    return ""


@st.composite
def mutated(draw: st.DrawFn, base: list[Any] = FIXTURES) -> Any:
    """A real fixture with 1-4 random edits: replace, delete, insert, change type, long string, unicode."""
    value = copy.deepcopy(draw(st.sampled_from(base)))
    for _ in range(draw(st.integers(1, 4))):
        path = draw(st.sampled_from(list(paths(value))))
        op = draw(st.sampled_from(["replace", "delete", "insert", "retype", "long", "unicode"]))
        parent, last = (None, None) if not path else (_at(value, path[:-1]), path[-1])
        target = _at(value, path)
        if op == "insert" and isinstance(target, dict):
            target[draw(keys)] = draw(json_values)
            continue
        if op == "insert" and isinstance(target, list):
            target.insert(draw(st.integers(0, len(target))), draw(json_values))
            continue
        if op == "delete" and parent is not None:
            del parent[last]
            continue
        new = {"replace": lambda: draw(json_values), "retype": lambda target=target: retyped(target), "long": lambda: draw(long_texts),
               "unicode": lambda: draw(texts), "insert": lambda: draw(json_values), "delete": lambda: None}[op]()  # fmt: skip
        if parent is None:
            value = new
        else:
            parent[last] = new
    return value


def _at(value: Any, path: tuple[Any, ...]) -> Any:
    for key in path:
        value = value[key]
    return value


optional_texts = st.none() | texts | long_texts
containers = st.builds(
    Container,
    optional_texts,
    optional_texts,
    optional_texts,
    st.none() | integers,
    optional_texts,
    optional_texts,
)
iso_times = st.none() | st.datetimes(min_value=datetime(1971, 1, 1), max_value=datetime(2200, 1, 1)).map(
    lambda moment: moment.isoformat(timespec="milliseconds") + "Z"
)
# As parse writes it: seconds to the millisecond (a float; negative when a task stopped before it started).
run_seconds = st.none() | st.integers(min_value=-(10**10), max_value=10**10).map(lambda ms: round(ms / 1000, 3))
facts = st.builds(
    Facts, optional_texts, optional_texts, optional_texts, optional_texts, optional_texts, optional_texts,
    st.none() | st.sampled_from(["EssentialContainerExited", "UserInitiated", "ServiceSchedulerInitiated",
                                 "SpotInterruption", "TaskFailedToStart", "InfrastructureHealth"]) | texts,
    optional_texts | st.sampled_from(["Essential container in task exited", "CannotPullContainerError: manifest unknown"]),
    iso_times, run_seconds, st.lists(containers, max_size=6).map(tuple),
)  # fmt: skip


@st.composite
def records(draw: st.DrawFn) -> StopRecord:
    """Stop records: parsed from mutated fixtures, or built field by field (any strings, any ints)."""
    if draw(st.booleans()):
        try:
            return parse_event(draw(mutated(STOPPED)))
        except InvalidEvent:
            pass
    facts_ = draw(facts)
    verdict = classify(facts_)
    record = StopRecord(
        event_id=draw(texts), time=draw(iso_times), account=draw(optional_texts), region=facts_.region,
        cluster=facts_.cluster, cluster_arn=draw(optional_texts), task_arn=draw(optional_texts), task_id=facts_.task_id,
        task_definition_arn=draw(optional_texts), family=draw(optional_texts), revision=draw(st.none() | integers),
        group=draw(optional_texts), service=facts_.group_name, started_by=facts_.started_by,
        launch_type=draw(optional_texts), capacity_provider=draw(optional_texts), platform_version=draw(optional_texts),
        cpu_architecture=facts_.cpu_architecture, availability_zone=draw(optional_texts), last_status="STOPPED",
        desired_status=draw(optional_texts), stop_code=facts_.stop_code, stopped_reason=facts_.stopped_reason,
        created_at=draw(iso_times), started_at=facts_.started_at, stopping_at=draw(iso_times), stopped_at=draw(iso_times),
        run_seconds=facts_.run_seconds, containers=facts_.containers, category=verdict.category, severity=verdict.severity,
        hint=verdict.hint, culprit_container=verdict.culprit_container, exit_code=verdict.exit_code, message=draw(texts),
    )  # fmt: skip
    return record


# --- parse_event ---------------------------------------------------------------------------------------


def parse_or_invalid(value: Any) -> StopRecord | None:
    try:
        record = parse_event(value)
    except InvalidEvent as exc:
        assert str(exc) and exc.kind in ("invalid-event", "not-stopped", "not-task-event")
        return None
    assert isinstance(record, StopRecord) and record.last_status == "STOPPED"
    assert record.category in CATEGORIES
    return record


# --- well-shaped ECS events: the structure right, the values anything a field of that type can hold

PHRASES = (
    "CannotPullContainerError:", "exec format error", "AccessDenied", "not authorized to perform: ecr:BatchGetImage",
    "pull access denied", "repository does not exist", "manifest unknown", "API error (404)", "EFS", "dial tcp",
    "i/o timeout", "unable to retrieve secret from asm", "CannotStartContainerError:", "OutOfMemoryError",
    "failed ELB health checks", "Spot Task was interrupted", "Host EC2 (instance i-1) terminated", "insufficient",
    "Essential container in task exited", "Scaling activity initiated by", "Could not transition to",
    "DockerStateError", "ResourceInitializationError:",
)  # fmt: skip
reasons = st.lists(st.sampled_from(PHRASES) | texts, max_size=4).map(" ".join)
iso_times = st.datetimes(datetime(1971, 1, 1), datetime(2999, 1, 1)).map(
    lambda d: d.isoformat(timespec="milliseconds") + "Z"
)
arns = st.sampled_from(["arn:aws:ecs:us-east-1:123456789012:task/c/0123", "arn:aws:ecs::1:task-definition/f:7",
                        "arn:aws:ecs:eu-west-1:210987654321:cluster/prod", "arn:", "not-an-arn"]) | texts  # fmt: skip
CONTAINER_FIELDS = {"name": texts, "image": texts, "imageDigest": texts, "reason": reasons,
                    "lastStatus": st.sampled_from(["STOPPED", "RUNNING", ""]) | texts,
                    "exitCode": st.integers(-(2**63), 2**63) | st.sampled_from([0, 1, 137, 139, 143, 255])}  # fmt: skip
DETAIL_FIELDS = {
    "taskArn": arns, "clusterArn": arns, "taskDefinitionArn": arns,
    "group": st.sampled_from(["service:web", "family:batch", "service:", ""]) | texts,
    "startedBy": texts, "launchType": st.sampled_from(["FARGATE", "EC2", "EXTERNAL"]), "capacityProviderName": texts,
    "platformVersion": texts, "availabilityZone": texts, "desiredStatus": st.sampled_from(["STOPPED", "RUNNING"]),
    "stopCode": st.sampled_from(["TaskFailedToStart", "EssentialContainerExited", "UserInitiated",
                                 "ServiceSchedulerInitiated", "SpotInterruption", "TerminationNotice",
                                 "InfrastructureHealth"]) | texts,
    "stoppedReason": reasons, "createdAt": iso_times, "startedAt": iso_times, "stoppingAt": iso_times,
    "stoppedAt": iso_times,
    "containers": st.lists(st.fixed_dictionaries({}, optional=CONTAINER_FIELDS), max_size=6),
    "attributes": st.lists(st.fixed_dictionaries({"name": st.just("ecs.cpu-architecture") | texts},
                                                 optional={"value": st.sampled_from(["x86_64", "arm64"]) | texts}),
                           max_size=3),
}  # fmt: skip


@st.composite
def ecs_events(draw: st.DrawFn, odd: bool = False) -> Any:
    """An EventBridge STOPPED event with every field of the right type, present or absent, each
    with any value that type allows; with ``odd``, a few values deep inside of another type."""
    detail = draw(st.fixed_dictionaries({"lastStatus": st.just("STOPPED")}, optional=DETAIL_FIELDS))
    event = {"version": "0", "id": draw(texts), "detail-type": "ECS Task State Change", "source": "aws.ecs",
             "account": draw(texts), "time": draw(iso_times), "region": draw(texts), "detail": detail}  # fmt: skip
    if odd:
        leaves = [p for p in paths(detail) if p and p != ("lastStatus",)]
        for path in draw(st.lists(st.sampled_from(leaves), min_size=1, max_size=3)) if leaves else []:
            try:
                _at(detail, path[:-1])[path[-1]] = draw(json_values)
            except (KeyError, IndexError, TypeError):  # an earlier edit replaced the parent
                continue
    return event


@PROPERTY
@given(ecs_events())
def test_a_well_shaped_event_always_yields_a_record(event: Any) -> None:
    """Every field of the right type: the parser reaches every branch and must never fail."""
    record = parse_event(event)
    assert record.category in CATEGORIES and record.hint and record.message
    assert record.evidence and record.evidence[0].source == "event"
    json.dumps(record.to_dict())


@PROPERTY
@given(ecs_events(odd=True))
def test_odd_values_deep_inside_yield_a_record_or_an_error_naming_where(event: Any) -> None:
    try:
        record = parse_event(event)
    except InvalidEvent as exc:
        assert exc.path is not None and exc.path.startswith("detail."), exc  # it says which field
        return
    assert record.category in CATEGORIES


@PROPERTY
@given(json_values)
def test_parse_event_on_arbitrary_json(value: Any) -> None:
    parse_or_invalid(value)


@PROPERTY
@given(mutated())
def test_parse_event_on_mutated_fixtures(value: Any) -> None:
    before = json.dumps(value, sort_keys=True)
    record = parse_or_invalid(value)
    assert json.dumps(value, sort_keys=True) == before  # parsing never changes its input
    if record is not None:
        json.dumps(record.to_dict())  # always serialisable


@QUICK
@example("9999-12-31T23:59:59-01:00")
@given(
    st.datetimes(
        timezones=st.builds(
            timezone, st.timedeltas(min_value=-timedelta(hours=23), max_value=timedelta(hours=23))
        )
    ).map(datetime.isoformat)
)
def test_parse_event_on_any_iso_8601_time(moment: str) -> None:
    for field in ("createdAt", "startedAt", "stoppingAt", "stoppedAt"):
        parse_or_invalid(make_event(event_id="iso", **{field: moment}))


# --- classify ------------------------------------------------------------------------------------------


@PROPERTY
@given(facts)
def test_classify_always_answers_from_the_taxonomy(facts_: Facts) -> None:
    verdict = classify(facts_)
    assert verdict.category in CATEGORIES
    assert verdict.severity == SEVERITY_OF[verdict.category]
    assert isinstance(verdict.hint, str) and verdict.hint.strip()
    names = {c.name for c in facts_.containers}
    assert verdict.culprit_container is None or verdict.culprit_container in names


@PROPERTY
@given(facts, facts)
def test_a_cached_verdict_is_the_verdict(facts_: Facts, other: Facts) -> None:
    """An event's verdict is cached on ``decided_by(facts)``: the verdict of what it keeps is the
    whole facts' verdict, and another task of the same stop (other cluster, group, task, start
    time) gets that verdict from the cache."""
    assert classify(decided_by(facts_)) == classify(facts_)
    assert classify_event(facts_) == classify(facts_)
    twin = facts_._replace(cluster=other.cluster, group_name=other.group_name, task_id=other.task_id,
                           started_at=other.started_at)  # fmt: skip
    assert classify_event(twin) == classify(twin)


@PROPERTY
@given(mutated(STOPPED))
def test_classify_through_parse(value: Any) -> None:
    record = parse_or_invalid(value)
    if record is not None:
        assert record.severity == SEVERITY_OF[record.category] and record.hint.strip()


# --- redact --------------------------------------------------------------------------------------------

SECRET_NAMES = ["password", "apiKey", "client_secret", "DB_PASSWORD", "privateKey", "x-api-key", "GITHUB_TOKEN",
                "AWS_SECRET_ACCESS_KEY", "credentials", "Passwd", "private_key"]  # fmt: skip
markers = st.uuids().map(lambda u: f"secret-{u.hex}")


def dict_spots(value: Any) -> list[tuple[Any, ...]]:
    """Paths of the objects in ``value`` (entries of an ``environment`` list included)."""
    return [p for p in paths(value) if isinstance(_at(value, p), dict)]


@st.composite
def with_secrets(draw: st.DrawFn) -> tuple[Any, list[str]]:
    """A mutated fixture (or arbitrary JSON) with secrets planted at random places; and the secrets."""
    value = draw(mutated() | json_values)
    if not isinstance(value, dict):
        value = {"detail": value}
    planted: list[str] = []
    containers_ = []
    for _ in range(draw(st.integers(0, 3))):
        values = draw(st.lists(markers, max_size=3))
        planted += values
        containers_.append(
            {"name": draw(texts), "environment": [{"name": draw(texts), "value": v} for v in values]}
        )
    if containers_:
        _at(value, draw(st.sampled_from(dict_spots(value))))["overrides"] = {
            "containerOverrides": containers_
        }
    for _ in range(draw(st.integers(0, 4))):
        secret = draw(markers)
        planted.append(secret)
        holder = _at(value, draw(st.sampled_from(dict_spots(value))))
        if draw(st.booleans()):
            holder[draw(st.sampled_from(SECRET_NAMES))] = draw(
                st.sampled_from([secret, {"nested": secret}, [secret, 1]])
            )
        else:
            holder[draw(texts)] = {"name": draw(st.sampled_from(SECRET_NAMES)), "value": secret}
    return value, planted


@PROPERTY
@given(with_secrets())
def test_redact(case: tuple[Any, list[str]]) -> None:
    value, planted = case
    before = json.dumps(value, sort_keys=True)
    once = redact(value)
    assert json.dumps(value, sort_keys=True) == before  # never mutates its input
    text = json.dumps(once, ensure_ascii=False)
    assert [secret for secret in planted if secret in text] == []
    assert json.dumps(redact(once), sort_keys=True) == json.dumps(once, sort_keys=True)  # idempotent
    for path in paths(once):  # every secret-looking key's value is gone, every environment value too
        if path and isinstance(path[-1], str) and looks_secret(path[-1]) and _at(once, path) is not None:
            assert _at(once, path) == REDACTED, path
        if len(path) >= 3 and path[-3] == "environment" and path[-1] == "value":
            assert _at(once, path) == REDACTED, path


@QUICK
@example("apiKey", "s3cr3t-canary")
@given(st.sampled_from(SECRET_NAMES), markers)
def test_redact_secret_looking_keys_inside_environment_entries(name: str, secret: str) -> None:
    value = {
        "overrides": {"containerOverrides": [{"environment": [{"name": "MODE", "value": "x", name: secret}]}]}
    }
    assert secret not in json.dumps(redact(value))


@PROPERTY
@given(json_values)
def test_redact_arbitrary_json(value: Any) -> None:
    before = json.dumps(value, sort_keys=True)
    once = redact(value)
    assert json.dumps(value, sort_keys=True) == before
    assert json.dumps(redact(once), sort_keys=True) == json.dumps(once, sort_keys=True)


# --- vendor payloads -----------------------------------------------------------------------------------


def check_newrelic(log: dict[str, Any]) -> None:
    attributes = log["attributes"]
    own = [name for name in ("message", "timestamp") if name in log]
    assert len(attributes) + len(NR_COMMON) + len(own) <= NR_MAX_ATTRIBUTES
    assert "message" in own and isinstance(log["message"], str)
    assert not any(isinstance(v, list | dict) for v in attributes.values())
    assert all(len(name) <= 255 for name in attributes)
    json.loads(encode(log))


def check_datadog(record: StopRecord, log: dict[str, Any]) -> None:
    json.loads(encode(log))
    cut = fit(log, DD_MAX_LOG_BYTES)
    data = encode(cut)
    assert len(data) <= DD_MAX_LOG_BYTES
    assert cut["ecs_stop"]["category"] == record.category and cut["status"] == record.severity
    if cut is not log:
        assert TRUNCATION_MARKER in data.decode()


@settings(PROPERTY, max_examples=examples(120))
@given(records())
def test_vendor_logs(record: StopRecord) -> None:
    check_newrelic(newrelic_log(record))
    check_datadog(record, datadog_log(record, tags=("env:test",)))


def check_codecs(record: StopRecord) -> None:
    """The CLI's codec (msgspec) writes every vendor's log byte for byte as the standard library
    (the Lambda's) does, replayed or not."""
    for replay in (None, Replay(1_700_000_000_000, 1_600_000_000_000)):
        for make in (DatadogEncoder, NewRelicEncoder, RecordEncoder):
            assert make(codec=FAST)(record, replay) == make(codec=STDLIB)(record, replay)  # type: ignore[operator]


@settings(PROPERTY, max_examples=examples(120))
@given(records())
def test_both_codecs_write_the_same_logs(record: StopRecord) -> None:
    check_codecs(record)


@QUICK
@example("Task failed \ud800 to start")
@given(st.text(alphabet=st.characters(categories=("Cs",)), min_size=1).map(lambda s: f"reason {s}"))
def test_vendor_logs_with_a_lone_surrogate(reason: str) -> None:
    record = parse_event(make_event(event_id="surrogate", reason=reason))
    check_newrelic(newrelic_log(record))
    check_datadog(record, datadog_log(record))
    check_codecs(record)


@QUICK
@example(10_000)
@given(st.integers(6_000, 12_000))
def test_datadog_log_fits_however_many_containers(count: int) -> None:
    event = make_event(event_id="many", containers=[
        {"name": f"container-{i}", "image": f"example/sidecar-{i}:1", "lastStatus": "STOPPED", "exitCode": 0} for i in range(count)])  # fmt: skip
    record = parse_event(event)
    check_newrelic(newrelic_log(record))
    check_datadog(record, datadog_log(record))
