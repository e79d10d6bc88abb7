"""docs/stop-reasons.md is the taxonomy's contract; forwarder/classify.py implements it as data."""

from __future__ import annotations

import re
from pathlib import Path

from forwarder.classify import CATEGORIES, RULES, SEVERITY_OF

DOC = Path(__file__).resolve().parent.parent / "docs" / "stop-reasons.md"


def test_the_doc_and_the_rules_have_the_same_ids_order_and_severities() -> None:
    rows = re.findall(r"^\| (\d+) \| ([a-z-]+) \| (error|warning|info) \|", DOC.read_text(), re.MULTILINE)
    assert [int(n) for n, _, _ in rows] == list(range(1, len(CATEGORIES) + 1))
    assert tuple(category for _, category, _ in rows) == CATEGORIES
    assert {category: severity for _, category, severity in rows} == SEVERITY_OF


def test_every_rule_with_log_evidence_says_so_in_the_doc() -> None:
    rows = {m[0]: m[1] for m in re.findall(r"^\| \d+ \| ([a-z-]+) \|[^|]*\|[^|]*\| ([^|]*) \|", DOC.read_text(), re.M)}
    for rule in RULES:
        assert (rows[rule.category].strip() not in ("—", "")) == bool(rule.logs) or rule.category == "app-crashed"
