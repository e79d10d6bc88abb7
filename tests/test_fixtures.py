"""Every fixture classified as fixtures/expected.csv says; golden records for a handful."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from forwarder.classify import CATEGORIES
from forwarder.errors import NotStopped, NotTaskEvent
from forwarder.parse import parse_event
from tests.fixtures import ROOT, Expected, expected_rows

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
    golden = GOLDEN / (Path(name).stem + ".json")
    if os.environ.get("UPDATE_GOLDEN"):
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_text(json.dumps(record, indent=2, ensure_ascii=False) + "\n")
    assert record == json.loads(golden.read_text())
