"""The pipeline's promises, with destinations the test controls (no timing, no network)."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from forwarder.archive import LocalArchive
from forwarder.destinations.base import DELIVERED, Outcome
from forwarder.pipeline import Forwarder
from tests.fixtures import stopped_events


class Gate:
    """A destination that records the deadline it was given and waits, at a barrier, for the
    other destination to be sending too: sent one after the other, the first would wait alone."""

    def __init__(self, name: str, barrier: threading.Barrier) -> None:
        self.name = name
        self.barrier = barrier
        self.deadlines: list[float] = []

    @property
    def encoder(self) -> Any:
        return lambda record, replay: record.event_id.encode()

    def send(self, parts: Sequence[bytes], deadline: float) -> list[Outcome]:
        self.deadlines.append(deadline)
        self.barrier.wait()  # both in flight at once, or BrokenBarrierError after its timeout
        return [Outcome(self.name, DELIVERED, 1) for _ in parts]

    def close(self) -> None:
        pass


def test_destinations_are_in_flight_at_once_each_with_the_whole_deadline(tmp_path: Path) -> None:
    barrier = threading.Barrier(2, timeout=5)
    gates = [Gate("datadog", barrier), Gate("newrelic", barrier)]
    forwarder = Forwarder(LocalArchive(tmp_path), ("datadog", "newrelic"), lambda: gates)
    deadline = 1_000_000.0  # far off, and exactly what each destination must be handed
    [result] = forwarder.forward([stopped_events()[0]], deadline)
    assert {name: outcome["status"] for name, outcome in result.deliveries.items()} == {
        "datadog": "delivered", "newrelic": "delivered"
    }
    assert [gate.deadlines for gate in gates] == [[deadline], [deadline]]
    assert not barrier.broken
