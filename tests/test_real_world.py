"""The taxonomy against the real world: stop reasons users posted, with the cause their thread
settled (fixtures/real/). Every case the classifier misses is listed in misses.csv with why the
message does not allow the real cause; a new miss, or a listed one that is now right, fails."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

from forwarder.classify import CATEGORIES
from forwarder.parse import parse_event
from tests.real_world import REAL, cases, figures

README = Path(__file__).resolve().parent.parent / "README.md"


def test_the_corpus_is_sourced_and_whole() -> None:
    with (REAL / "cases.csv").open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) >= 80
    assert {row["file"] for row in rows} == {p.name for p in REAL.glob("*.json")}
    assert len({row["source_url"] for row in rows}) == len(rows)  # one thread, one case
    for row in rows:
        assert row["real_category"] in CATEGORIES, row["file"]
        assert row["source_url"].startswith("https://") and row["settled_cause"], row["file"]
        event = json.loads((REAL / row["file"]).read_text())
        task_id = event["detail"]["taskArn"].rsplit("/", 1)[1]
        assert re.fullmatch(r"[0-9a-f]{32}", task_id) and event["resources"] == [event["detail"]["taskArn"]]
        assert parse_event(event).task_id == task_id


def test_every_miss_is_listed_with_why_and_no_listed_miss_is_right_now() -> None:
    with (REAL / "misses.csv").open(newline="") as handle:
        listed = {row["file"]: row for row in csv.DictReader(handle)}
    missed = {case.file: case.enriched for case in cases() if case.enriched != case.real}
    assert missed == {file: row["classified"] for file, row in listed.items()}
    assert all(len(row["why"]) > 20 for row in listed.values())


def test_the_families_of_the_issue_are_covered() -> None:
    """The families the first trial missed: arch mismatch only in the log, registry answers of
    denial for images that do not exist, AWS's newer wording, a sidecar killed after the app
    finished, API error (404) from a missing executable, DockerStateError."""
    with (REAL / "cases.csv").open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    texts = {row["file"]: (REAL / row["file"]).read_text() for row in rows}

    def count(real: str, *words: str) -> int:
        return sum(1 for row in rows if row["real_category"] == real
                   and all(w in texts[row["file"]] + row["log_evidence"] for w in words))  # fmt: skip

    assert count("image-platform-mismatch", "Essential container in task exited", "exec format error") >= 6
    assert count("image-not-found", "repository does not exist") >= 3
    assert count("network-unreachable", "There is a connection issue between the task and") >= 2
    assert count("app-completed", '"exitCode": 137') >= 2
    assert count("container-start-failed", "CannotStartContainerError", "API error (404)") >= 1
    assert count("container-start-failed", "DockerStateError") >= 1
    assert len({row["real_category"] for row in rows}) >= 14


def test_the_readme_quotes_these_figures() -> None:
    assert figures(cases()) in " ".join(README.read_text().split())
