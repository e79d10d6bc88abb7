"""The real-world corpus (fixtures/real/): stop reasons users posted in public threads, each with
the cause its thread settled. Classified from the event alone, and with the evidence enrichment
would read (the thread's log line, the image's platforms) where the event leaves the cause open.

``python -m tests.real_world`` prints the figures the README quotes and every case still missed.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path

from forwarder.config import ENRICH_KINDS
from forwarder.enrich import culprit_of, image_evidence, wanted
from forwarder.model import Enrichment, Findings
from forwarder.parse import parse_event, with_findings

REAL = Path(__file__).resolve().parent.parent / "fixtures" / "real"


@dataclass(frozen=True)
class Case:
    file: str
    real: str  # the category of the cause the thread settled
    url: str
    alone: str  # what the event alone says
    enriched: str  # with the thread's log line / image platforms, where enrichment would read them
    needs_enrichment: bool  # the thread shows a log line or the image's platforms


def cases() -> list[Case]:
    out = []
    with (REAL / "cases.csv").open(newline="") as handle:
        for row in csv.DictReader(handle):
            record = parse_event(json.loads((REAL / row["file"]).read_text()))
            enriched = record
            logs_on, image_on = wanted(record, frozenset(ENRICH_KINDS))
            platforms = tuple(row["image_platforms"].split())
            needs = bool(row["log_evidence"] or platforms)
            if needs and (logs_on or image_on):
                container = culprit_of(record)
                image, mismatch = None, False
                if platforms and image_on:
                    reference = container.image if container and container.image else "(image)"
                    image, mismatch = image_evidence(reference, platforms, record.cpu_architecture or "x86_64")
                lines = (row["log_evidence"],) if row["log_evidence"] and logs_on else ()
                findings = Findings(container and container.name, lines, image, mismatch)
                enriched = with_findings(record, findings, Enrichment("ok", "ok"))
            out.append(Case(row["file"], row["real_category"], row["source_url"], record.category,
                            enriched.category, needs))  # fmt: skip
    return out


def figures(all_cases: list[Case]) -> str:
    alone = sum(c.alone == c.real for c in all_cases)
    enriched = sum(c.enriched == c.real for c in all_cases)
    needing = [c for c in all_cases if c.needs_enrichment]
    return (
        f"{len(all_cases)} cases: the category is the real cause in {alone} from the event alone "
        f"and {enriched} with enrichment ({sum(c.enriched == c.real for c in needing)} of the "
        f"{len(needing)} whose thread shows the container's log line or the image's platforms)"
    )


if __name__ == "__main__":
    found = cases()
    print(figures(found))
    for case in found:
        if case.enriched != case.real:
            print(f"  miss: {case.file}: real {case.real}, classified {case.enriched}")
