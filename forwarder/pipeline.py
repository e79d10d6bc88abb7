"""Records -> every destination, with per-record, per-destination outcomes."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from forwarder.destinations.base import Destination, Outcome
from forwarder.model import StopRecord
from forwarder.payloads import Replay

ReplayFor = Callable[[StopRecord, str], Replay | None]


def deliver(
    records: Sequence[StopRecord],
    destinations: Sequence[Destination],
    deadline: float,
    replay_for: ReplayFor | None = None,
) -> list[dict[str, Outcome]]:
    """Send ``records`` to each destination; for each record, its outcome per destination name."""
    results: list[dict[str, Outcome]] = [{} for _ in records]
    for destination in destinations:
        items: list[dict[str, Any]] = [
            destination.build(record, replay_for(record, destination.name) if replay_for else None)
            for record in records
        ]
        for result, outcome in zip(results, destination.deliver(items, deadline), strict=True):
            result[destination.name] = outcome
    return results
