"""An encoder that kills the replay worker process it runs in, for test_replay's worker-crash test.

A module of its own: a spawned worker imports it to unpickle the plan, and must not import the
test modules (and their AWS emulator helpers) to do so.
"""

from __future__ import annotations

import json
import multiprocessing
import os
from typing import Any


class DieOn:
    """Encodes ``{"id": ...}`` like the tests' collecting destination; in a worker process, the
    record ``event_id`` ends the process at once, as a crash or the OOM killer would."""

    def __init__(self, event_id: str) -> None:
        self.event_id = event_id

    def __call__(self, record: Any, replay: Any = None) -> bytes:
        if record.event_id == self.event_id and multiprocessing.parent_process() is not None:
            os._exit(1)
        return json.dumps({"id": record.event_id}).encode()
