"""``make bench``: run every benchmark and print one Markdown table (pasted into the README)."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import classify, coldstart, enrich, handler, replay, report
from bench.common import Row, machine

BENCHMARKS = [classify, handler, enrich, replay, report, coldstart]


def main() -> int:
    rows: list[Row] = []
    for module in BENCHMARKS:
        rows.extend(module.run())
    print(f"Machine: {machine()}\n")
    print("| metric | value | target | how |")
    print("|---|---|---|---|")
    for row in rows:
        print(f"| {row.metric} | {row.value} | {row.target} | {row.note} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
