"""Picklable encoders for replay tests that run worker processes (the tests' collecting
destination encodes with a lambda, which cannot be sent to a worker).

A module of its own: a spawned worker imports it to unpickle the plan, and must not import the
test modules (and their AWS emulator helpers) to do so.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import signal
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


class SigintEncoder(IdEncoder):
    """Encodes the id and what the process that digested the record does on SIGINT (Ctrl-C)."""

    def __call__(self, record: Any, replay: Any = None) -> bytes:
        return json.dumps({"id": record.event_id, "sigint": repr(signal.getsignal(signal.SIGINT))}).encode()


class SlowHere(PidEncoder):
    """``PidEncoder``, taking ``seconds`` a record in the replaying process (not in a worker): a
    machine where digesting here is slow, so that workers answer before it is done."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds

    def __call__(self, record: Any, replay: Any = None) -> bytes:
        if multiprocessing.parent_process() is None:
            time.sleep(self.seconds)
        return super().__call__(record, replay)
