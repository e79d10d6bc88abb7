"""The fixture table (fixtures/expected.csv) as data for tests and benchmarks."""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent / "fixtures"


@dataclass(frozen=True)
class Expected:
    path: Path
    expected: str
    culprit_container: str | None
    exit_code: int | None

    def load(self) -> Any:
        return json.loads(self.path.read_text())


def expected_rows() -> list[Expected]:
    with (ROOT / "expected.csv").open(newline="") as handle:
        return [
            Expected(
                path=ROOT / row["path"],
                expected=row["expected"],
                culprit_container=row["culprit_container"] or None,
                exit_code=int(row["exit_code"]) if row["exit_code"] else None,
            )
            for row in csv.DictReader(handle)
        ]


def stopped_events() -> list[Any]:
    """Every STOPPED fixture event, sorted by file name."""
    return [json.loads(p.read_text()) for p in sorted((ROOT / "events").glob("*.json"))]
