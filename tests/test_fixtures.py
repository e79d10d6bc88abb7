"""Every fixture classified as fixtures/expected.csv says; golden records for a handful."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from forwarder.classify import CATEGORIES
from forwarder.errors import NotStopped, NotTaskEvent
from forwarder.parse import parse_event
from tests.fixtures import ROOT, Expected, expected_rows
from tests.golden import check_golden

ROWS = expected_rows()
GOLDEN = Path(__file__).parent / "golden" / "records"
GOLDEN_FIXTURES = [
    "events/seed-arm64-on-x86-scheduled.json",
    "events/out-of-memory--log-router-sidecar-killed.json",
    "events/app-crashed--short-run-1s-scheduled.json",
    "events/network-unreachable--ecr-auth-dial-tcp-timeout.json",
    "events/user-stopped--stoptask-exit137.json",
    "tasks/spot-interrupted--describe-tasks-fargate-spot.json",
]


def test_table_covers_every_fixture_and_every_category() -> None:
    listed = {row.path for row in ROWS}
    on_disk = {p for p in ROOT.rglob("*.json") if p.relative_to(ROOT).parts[0] != "real"}  # its own table
    assert listed == on_disk
    assert set(CATEGORIES) <= {row.expected for row in ROWS}
    assert sum(1 for row in ROWS if row.path.parent.name == "events") >= 30


@pytest.mark.parametrize("row", ROWS, ids=lambda row: str(row.path.relative_to(ROOT)))
def test_fixture_is_classified_as_the_table_says(row: Expected) -> None:
    if row.expected == "not-stopped":
        with pytest.raises(NotStopped):
            parse_event(row.load())
        return
    if row.expected == "not-task-event":
        with pytest.raises(NotTaskEvent):
            parse_event(row.load())
        return
    record = parse_event(row.load())
    assert (record.category, record.culprit_container, record.exit_code) == (
        row.expected,
        row.culprit_container,
        row.exit_code,
    )
    assert record.hint and record.message


def test_the_seed_incident_is_a_platform_mismatch_on_the_scheduled_family() -> None:
    record = parse_event(json.loads((ROOT / "events/seed-arm64-on-x86-scheduled.json").read_text()))
    assert record.category == "image-platform-mismatch"
    assert record.group == "family:newarrivals-batch" and record.service is None
    assert record.started_by and record.started_by.startswith("events-rule/")
    assert "x86_64" in record.hint


@pytest.mark.parametrize("name", GOLDEN_FIXTURES)
def test_golden_record(name: str) -> None:
    """``explain --json`` output, approved. Regenerate with UPDATE_GOLDEN=1 and review the diff."""
    record = parse_event(json.loads((ROOT / name).read_text())).to_dict()
    check_golden(GOLDEN / (Path(name).stem + ".json"), record)


#: The stop record's JSON fields as the README first published them, in order. Written out here, not
#: read from the code or the goldens: fields are added after these, never renamed or dropped.
PUBLISHED_FIELDS = (
    "event_id", "time", "account", "region", "cluster", "cluster_arn", "task_arn", "task_id",
    "task_definition_arn", "family", "revision", "group", "service", "started_by", "launch_type",
    "capacity_provider", "platform_version", "cpu_architecture", "availability_zone", "last_status",
    "desired_status", "stop_code", "stopped_reason", "created_at", "started_at", "stopping_at", "stopped_at",
    "run_seconds", "containers", "category", "severity", "hint", "culprit_container", "exit_code", "message",
)  # fmt: skip
PUBLISHED_CONTAINER_FIELDS = ("name", "image", "image_digest", "exit_code", "reason", "last_status")


def test_the_record_keeps_every_published_field_in_order() -> None:
    import re

    for path in sorted((ROOT / "events").glob("*.json"))[:20]:
        record = parse_event(json.loads(path.read_text())).to_dict()
        assert tuple(record)[: len(PUBLISHED_FIELDS)] == PUBLISHED_FIELDS
        for container in record["containers"]:
            assert tuple(container)[: len(PUBLISHED_CONTAINER_FIELDS)] == PUBLISHED_CONTAINER_FIELDS
    readme = " ".join((ROOT.parent / "README.md").read_text().split())
    listed = re.search(r"Its field names are a contract \(add, never rename\): `([^`]+)`", readme)
    assert listed is not None
    names = [re.sub(r"\[\].*|\s*\(.*", "", name).strip() for name in re.split(r",\s*(?![^()]*\))", listed[1])]
    assert names == list(record)  # the README lists every field, in order


def test_a_golden_update_refuses_to_drop_a_field(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    golden = tmp_path / "record.json"
    golden.write_text(json.dumps({"category": "x", "containers": [{"name": "a", "reason": None}]}))
    monkeypatch.setenv("UPDATE_GOLDEN", "1")
    with pytest.raises(pytest.fail.Exception, match=r"would drop containers\[\]\.reason"):
        check_golden(golden, {"category": "x", "containers": [{"name": "a"}]})
    check_golden(golden, {"category": "x", "containers": [{"name": "a", "reason": None}], "evidence": []})
    assert "evidence" in golden.read_text()  # adding is allowed
