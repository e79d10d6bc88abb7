"""Event -> StopRecord: fields, nulls for what is missing, precise errors for what is wrong."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from forwarder.errors import InvalidEvent, NotStopped, NotTaskEvent
from forwarder.model import Enrichment, Findings
from forwarder.parse import parse_event, with_findings
from tests.events import container, make_event
from tests.examples import examples


def test_fields_are_derived_from_the_event() -> None:
    record = parse_event(
        make_event(
            event_id="e-1",
            stop_code="EssentialContainerExited",
            containers=[container("app", 1)],
            startedAt="2026-11-28T09:00:00Z",
            capacityProviderName="FARGATE_SPOT",
        )
    )
    assert record.event_id == "e-1"
    assert (record.account, record.region, record.cluster) == ("111122223333", "eu-west-1", "prod")
    assert (record.family, record.revision, record.service) == ("web", 7, "web")
    assert record.task_id == "0123456789abcdef0123456789abcdef"
    assert record.cpu_architecture == "x86_64"
    assert record.capacity_provider == "FARGATE_SPOT"
    assert record.started_at == "2026-11-28T09:00:00.000Z"
    assert record.run_seconds == 3900.0
    assert record.time == "2026-11-28T10:05:01.000Z"
    assert (
        record.message == "prod/web task 01234567… stopped: app-crashed in container app (exit 1) after 1h5m"
    )


def test_scheduled_task_has_no_service_and_groups_by_family() -> None:
    record = parse_event(make_event(group="family:newarrivals-batch", startedBy="events-rule/every-minute"))
    assert record.service is None
    assert record.group_name == "web"  # the task definition family
    assert record.started_by == "events-rule/every-minute"


def test_missing_optional_fields_are_null() -> None:
    event = {
        "id": "min",
        "source": "aws.ecs",
        "detail-type": "ECS Task State Change",
        "detail": {"lastStatus": "STOPPED"},
    }
    record = parse_event(event)
    as_json = record.to_dict()
    assert as_json["cluster"] is None and as_json["family"] is None and as_json["run_seconds"] is None
    assert as_json["containers"] == []
    assert record.category == "unknown"
    assert record.message == "ECS task stopped: unknown before it started"


def test_bare_describe_tasks_task_with_epoch_times() -> None:
    task = make_event()["detail"]
    task.update(createdAt=1795860000.5, startedAt=1795860060.25, stoppedAt=1795860300.0)
    first, second = parse_event(task), parse_event(copy.deepcopy(task))
    assert first.started_at == "2026-11-28T10:01:00.250Z"
    assert first.run_seconds == 239.75
    assert first.account == "111122223333" and first.region == "eu-west-1"
    assert first.time == first.stopped_at
    assert first.event_id == second.event_id  # deterministic: replay dedups bare tasks too


@pytest.mark.parametrize(
    ("mutate", "path", "error"),
    [
        (lambda d: d.update(containers={"name": "app"}), "detail.containers", InvalidEvent),
        (lambda d: d["containers"][0].update(exitCode="1"), "detail.containers[0].exitCode", InvalidEvent),
        (lambda d: d["containers"][0].update(exitCode=True), "detail.containers[0].exitCode", InvalidEvent),
        (lambda d: d.update(containers=["app"]), "detail.containers[0]", InvalidEvent),
        (lambda d: d.update(stoppedAt="yesterday"), "detail.stoppedAt", InvalidEvent),
        (lambda d: d.update(startedAt=[]), "detail.startedAt", InvalidEvent),
        (lambda d: d.update(stoppedReason=42), "detail.stoppedReason", InvalidEvent),
        (lambda d: d.update(attributes="x86_64"), "detail.attributes", InvalidEvent),
        (lambda d: d.update(lastStatus=None), "detail.lastStatus", InvalidEvent),
    ],
)
def test_wrong_types_name_the_field(mutate: Any, path: str, error: type[Exception]) -> None:
    event = make_event()
    mutate(event["detail"])
    with pytest.raises(error) as raised:
        parse_event(event)
    assert raised.value.path == path  # type: ignore[attr-defined]
    assert path in str(raised.value)


def test_not_stopped_and_not_task_events_are_told_apart() -> None:
    running = make_event(lastStatus="RUNNING")
    with pytest.raises(NotStopped, match="RUNNING"):
        parse_event(running)
    other = make_event()
    other["detail-type"] = "ECS Container Instance State Change"
    with pytest.raises(NotTaskEvent, match="Container Instance"):
        parse_event(other)
    with pytest.raises(NotTaskEvent):
        parse_event({"source": "aws.ec2", "detail-type": "EC2 Instance State-change Notification"})
    with pytest.raises(NotTaskEvent):
        parse_event({"hello": "world"})
    with pytest.raises(InvalidEvent, match="expected a JSON object, got array"):
        parse_event([1, 2])
    no_detail = make_event()
    del no_detail["detail"]
    with pytest.raises(InvalidEvent, match="detail: expected an object, got null"):
        parse_event(no_detail)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=6)
    ),
    max_leaves=30,
)


@settings(max_examples=examples(300), deadline=None)
@given(json_values)
def test_any_json_yields_a_record_or_invalid_event(value: object) -> None:
    try:
        parse_event(value)
    except InvalidEvent:
        pass


_FIELDS = ["stoppedReason", "stopCode", "containers", "startedAt", "stoppedAt", "createdAt", "attributes",
           "group", "taskArn", "taskDefinitionArn", "clusterArn", "lastStatus"]  # fmt: skip


@settings(max_examples=examples(300), deadline=None)
@given(st.sampled_from(_FIELDS), json_values)
def test_any_field_replaced_by_any_json_yields_a_record_or_invalid_event(field: str, value: object) -> None:
    event = make_event(stop_code="EssentialContainerExited", containers=[container("app", 1, "boom")])
    event["detail"][field] = value
    try:
        record = parse_event(event)
    except InvalidEvent:
        return
    assert record.category and record.severity in ("error", "warning", "info") and record.message


def test_records_round_trip_through_their_json_form() -> None:
    from forwarder.model import StopRecord
    from tests.fixtures import stopped_events

    for event in stopped_events():
        record = parse_event(event)
        assert StopRecord.from_dict(record.to_dict()) == record
    with pytest.raises((KeyError, TypeError)):
        StopRecord.from_dict({"event_id": "x"})


def test_records_built_at_once_hold_every_field_and_nothing_else() -> None:
    """The parser and from_dict build records through ``of_fields`` (no dataclass ``__init__``):
    each holds exactly the dataclass's fields, equals the record ``__init__`` builds from the same
    values, and stays frozen."""
    import dataclasses

    from forwarder.model import StopRecord
    from tests.fixtures import stopped_events

    names = [f.name for f in dataclasses.fields(StopRecord)]
    for event in stopped_events():
        for record in (parse_event(event), StopRecord.from_dict(parse_event(event).to_dict())):
            assert sorted(vars(record)) == sorted(names)
            assert record == StopRecord(**{name: getattr(record, name) for name in names})
            assert hash(record) == hash(StopRecord(**vars(record)))
            with pytest.raises(dataclasses.FrozenInstanceError):
                record.category = "changed"  # type: ignore[misc]


def test_every_way_of_building_a_record_keeps_the_json_form_in_the_contracts_order() -> None:
    """``to_dict`` copies the instance's dict: each way a record comes to be fills it in field
    order, so the JSON form's keys are always the contract's, in its order."""
    import dataclasses
    import pickle

    from forwarder.model import StopRecord
    from tests.fixtures import stopped_events

    names = [f.name for f in dataclasses.fields(StopRecord)]
    for event in stopped_events()[:10]:
        parsed = parse_event(event)
        shuffled = dict(reversed(list(parsed.to_dict().items())))
        built = [
            parsed,
            StopRecord.from_dict(shuffled),
            StopRecord(**dict(reversed(list(vars(parsed).items())))),
            pickle.loads(pickle.dumps(parsed)),
            dataclasses.replace(parsed, category="changed"),
        ]
        for record in built:
            assert list(record.to_dict()) == names
            assert record.to_dict()["containers"] == [c.to_dict() for c in parsed.containers]


@pytest.mark.parametrize(
    ("written", "canonical"),
    [
        ("2026-11-28T09:00:00Z", "2026-11-28T09:00:00.000Z"),  # EventBridge's event time
        ("2026-11-28T09:00:00.123Z", "2026-11-28T09:00:00.123Z"),  # ECS's task times
        ("2026-11-28T09:00:00.5Z", "2026-11-28T09:00:00.500Z"),
        ("2026-11-28T10:00:00+01:00", "2026-11-28T09:00:00.000Z"),
        ("2026-11-28 09:00:00Z", "2026-11-28T09:00:00.000Z"),
        # ISO week dates have the same length and letters in the same places as the canonical form
        ("2026-W48-6T09:00:00Z", "2026-11-28T09:00:00.000Z"),
        ("2026-W48-6T09:00:00.000Z", "2026-11-28T09:00:00.000Z"),
    ],
)
def test_times_are_written_in_one_canonical_form(written: str, canonical: str) -> None:
    record = parse_event(make_event(startedAt=written))
    assert record.started_at == canonical


def test_with_findings_reclassifies_and_carries_what_enrichment_read() -> None:
    from forwarder.model import Enrichment, Evidence, Findings
    from forwarder.parse import with_findings
    from tests.events import container

    record = parse_event(make_event(stop_code="EssentialContainerExited", reason="Essential container in task exited",
                                    containers=[container("app", 1)]))  # fmt: skip
    lines = ("booting", "exec /app/run: exec format error")
    enrichment = Enrichment("ok", "unavailable: ecr:BatchGetImage: ImageNotFound")
    found = with_findings(record, Findings(container="app", log_lines=lines), enrichment)
    assert (found.category, found.severity) == ("image-platform-mismatch", "error")
    assert (found.culprit_container, found.exit_code) == ("app", 1)
    assert "exec format error" in found.hint and found.hint != record.hint
    assert found.message.endswith("stopped: image-platform-mismatch in container app (exit 1)") or \
        "image-platform-mismatch in container app (exit 1)" in found.message
    assert found.evidence[0] == Evidence("logs", "exec /app/run: exec format error")
    assert found.evidence[1].source == "event"
    assert found.enrichment == enrichment and found.log_tail == lines
    assert with_findings(record, Findings(container="app"), enrichment).log_tail is None  # none read
    assert (found.event_id, found.task_arn, found.containers) == (record.event_id, record.task_arn, record.containers)


def test_findings_reclassify_every_derived_field() -> None:
    """What enrichment read decides the category, and with it every field derived from the
    verdict: severity, hint, culprit, exit code and the one-line message (not the event's)."""
    event = make_event(stop_code="EssentialContainerExited", reason="Essential container in task exited",
                       containers=[container("log-router", 1), container("app", 137)])  # fmt: skip
    record = parse_event(event)
    assert (record.category, record.culprit_container, record.exit_code) == ("app-crashed", "log-router", 1)
    enriched = with_findings(record, Findings(container="app", log_lines=("java.lang.OutOfMemoryError: Java heap space",)),
                             Enrichment("ok", "skipped: no image read"))  # fmt: skip
    assert (enriched.category, enriched.severity) == ("out-of-memory", "error")
    assert (enriched.culprit_container, enriched.exit_code) == ("app", 137)
    assert "out-of-memory in container app (exit 137)" in enriched.message
    assert enriched.hint != record.hint and enriched.log_tail == ("java.lang.OutOfMemoryError: Java heap space",)
    quiet = parse_event(make_event(stop_code="EssentialContainerExited", reason="Essential container in task exited",
                                   containers=[container("app", 0)]))  # fmt: skip
    assert quiet.severity == "info"
    assert with_findings(quiet, Findings(container="app", log_lines=("exec /app: exec format error",)),
                         Enrichment("ok", "ok")).severity == "error"  # fmt: skip


def test_an_envelope_field_is_named_without_a_leading_dot() -> None:
    event = make_event()
    event["id"] = 42
    with pytest.raises(InvalidEvent) as raised:
        parse_event(event)
    assert raised.value.path == "id" and str(raised.value) == "id: expected a string, got number"
