"""Picklable encoders for replay tests that run worker processes (the tests' collecting
destination encodes with a lambda, which cannot be sent to a worker).

A module of its own: a spawned worker imports it to unpickle the plan, and must not import the
test modules (and their AWS emulator helpers) to do so.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import time
from typing import Any


class IdEncoder:
    """Encodes ``{"id": ...}``, as the tests' collecting destination does."""

    def __call__(self, record: Any, replay: Any = None) -> bytes:
        return json.dumps({"id": record.event_id}).encode()


class DieOn(IdEncoder):
    """In a worker process, the record ``event_id`` ends the process at once, as a crash or the
    OOM killer would."""

    def __init__(self, event_id: str) -> None:
        self.event_id = event_id

    def __call__(self, record: Any, replay: Any = None) -> bytes:
        if record.event_id == self.event_id and multiprocessing.parent_process() is not None:
            os._exit(1)
        return super().__call__(record, replay)


#: A test sets it in the replaying process: a forked worker has that value, a spawned one this.
ORIGIN = "imported"


class PidEncoder(IdEncoder):
    """Encodes the id, the process that digested the record, and its ``ORIGIN``."""

    def __call__(self, record: Any, replay: Any = None) -> bytes:
        return json.dumps({"id": record.event_id, "pid": os.getpid(), "origin": ORIGIN}).encode()


def slow_ready() -> bool:
    """A worker-ready probe that answers late, as a worker on a slow machine starts."""
    time.sleep(2)
    return True
