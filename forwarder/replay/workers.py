"""The worker pool: processes that digest chunks of objects, for a replay large enough to pay for them.

One owner: the ``with`` block that holds the pool; leaving it stops the processes (at once when it
is left by an error or Ctrl-C: a chunk's digest is worth nothing once the run stops). The start
method is the caller's choice: ``fork`` (Linux, a process that runs no other thread yet: ready in
milliseconds, sharing the parent's imports) or ``spawn`` (anywhere; each imports afresh).

Chunks go through one queue that any idle worker takes from; each worker hands its results back
through a pipe of its own, which the pool widens where the system allows (a result is a few MB of
encoded logs). Results are taken by ticket, so the caller reads them in the order it wants. A
result crosses the pipe as its pickle's size then the pickle, read straight into one buffer
(``Connection.recv_bytes`` copies a message three times on its way; at a few MB a result, that
was most of what receiving cost).
"""

from __future__ import annotations

import multiprocessing
import os
import pickle
import selectors
import signal
import struct
from contextlib import suppress
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from types import TracebackType
from typing import Any, Literal

from forwarder.errors import ForwarderError
from forwarder.replay.digest import Digest, Plan, digest

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

StartMethod = Literal["fork", "spawn"]
#: One worker task: the plan, the objects (name, bytes or a local file's path), the time to
#: encode with, and the budget of input bytes and events after which the worker hands it back.
Task = tuple[Plan, list[tuple[str, bytes | str]], int, int, int]

_READY = "ready"
BROKEN = (
    "a replay worker process stopped unexpectedly; objects not yet checkpointed are resent by a "
    "re-run with --checkpoint (add --workers 0 to digest in one process)"
)


class WorkerPool:
    """``size`` worker processes started by ``method`` (at ``start``, or at the first ``submit``)."""

    def __init__(self, size: int, method: StartMethod, pipe_bytes: int = 1 << 20) -> None:
        self.size = size
        self.method = method
        self.pipe_bytes = pipe_bytes
        fork = method == "fork"
        self._context = multiprocessing.get_context("fork") if fork else multiprocessing.get_context("spawn")
        self._tasks: Any = None  # the context's Queue, made at start
        self._processes: list[BaseProcess] = []
        self._results: list[Connection] = []
        self._tickets = 0
        self._arrived: dict[int, Digest | BaseException] = {}
        self._answered = 0
        self._plan: tuple[Plan, bytes] | None = None  # the last plan sent, pickled once
        self._selector: selectors.BaseSelector | None = None  # the result pipes, made at start

    def __enter__(self) -> WorkerPool:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.stop(at_once=error is not None)

    @property
    def started(self) -> bool:
        return bool(self._processes)

    def start(self) -> None:
        """Start the processes (once)."""
        if self._processes:
            return
        self._tasks = self._context.Queue()
        self._selector = selectors.DefaultSelector()
        for _ in range(self.size):
            results, writer = self._context.Pipe(duplex=False)
            widen(results, self.pipe_bytes)
            process = self._context.Process(target=serve, args=(self._tasks, writer), daemon=True)
            process.start()
            writer.close()  # the worker's end: its pipe reads as ended once the worker is gone
            self._processes.append(process)
            self._results.append(results)
            self._selector.register(results, selectors.EVENT_READ, results)  # watched for the whole run

    def ready(self) -> bool:
        """Whether a worker has answered that it is up (a forked one at once)."""
        self._receive(timeout=0)
        return self._answered > 0

    def submit(self, task: Task) -> int:
        """Queue ``task``; its ticket, for ``result``."""
        self.start()
        ticket = self._tickets
        self._tickets += 1
        plan, *rest = task
        if self._plan is None or self._plan[0] is not plan:
            self._plan = plan, pickle.dumps(plan, pickle.HIGHEST_PROTOCOL)
        self._tasks.put((ticket, self._plan[1], *rest))
        return ticket

    def result(self, ticket: int) -> Digest:
        """The digest of the task ``ticket``, waiting for it; ``ForwarderError`` when a worker died."""
        while ticket not in self._arrived:
            self._receive(timeout=None)
        found = self._arrived.pop(ticket)
        if isinstance(found, BaseException):
            raise found
        return found

    def pipe_sizes(self) -> list[int]:
        """The size of each worker's result pipe, where the system says (Linux)."""
        get_size = getattr(fcntl, "F_GETPIPE_SZ", None) if fcntl is not None else None
        if get_size is None:
            return []
        return [fcntl.fcntl(results.fileno(), get_size) for results in self._results]

    def stop(self, *, at_once: bool = False) -> None:
        """Stop the processes: after their current task, or ``at_once``."""
        if not self._processes:
            return
        if not at_once:
            for _ in self._processes:
                self._tasks.put(None)
            for process in self._processes:
                process.join(timeout=5)
        for process in self._processes:
            if process.is_alive():
                process.terminate()
            process.join()
        self._tasks.cancel_join_thread()  # tasks no worker will take: not flushed to anyone
        self._tasks.close()
        if self._selector is not None:
            self._selector.close()
        for results in self._results:
            results.close()
        self._processes, self._results = [], []

    def _receive(self, timeout: float | None) -> None:
        if self._selector is None:  # not started: nothing to receive
            return
        for key, _ in self._selector.select(timeout):
            results: Connection = key.data
            try:
                message = pickle.loads(receive(results))
            except (EOFError, OSError):  # the worker is gone (killed, or out of memory)
                raise ForwarderError(BROKEN) from None
            if message == _READY:
                self._answered += 1
            else:
                ticket, outcome = message
                self._arrived[ticket] = outcome


_SIZE = struct.Struct("!Q")
_RAW = hasattr(os, "readv")


def send(pipe: Connection, message: bytes) -> None:
    """``message`` through ``pipe``: its size, then itself."""
    if not _RAW:  # pragma: no cover - Windows: a pipe is a handle there, not a file descriptor
        pipe.send_bytes(message)
        return
    _write_all(pipe.fileno(), memoryview(_SIZE.pack(len(message))))  # apart: a result is not copied
    _write_all(pipe.fileno(), memoryview(message))


def receive(pipe: Connection) -> bytearray:
    """The next message ``send`` put into ``pipe``; ``EOFError`` when the pipe ended first."""
    if not _RAW:  # pragma: no cover - Windows
        return bytearray(pipe.recv_bytes())
    (size,) = _SIZE.unpack(_read_exact(pipe.fileno(), _SIZE.size))
    return _read_exact(pipe.fileno(), size)


def _write_all(fd: int, data: memoryview) -> None:
    while data:
        data = data[os.write(fd, data) :]


def _read_exact(fd: int, size: int) -> bytearray:
    buffer = bytearray(size)
    view, got = memoryview(buffer), 0
    while got < size:
        count = os.readv(fd, [view[got:]])
        if count == 0:
            raise EOFError("the pipe ended inside a message")
        got += count
    return buffer


def widen(results: Connection, size: int) -> None:
    """Give a result pipe ``size`` bytes (Linux); where the system refuses (over
    ``/proc/sys/fs/pipe-max-size`` unprivileged) or cannot, the default stays."""
    set_size = getattr(fcntl, "F_SETPIPE_SZ", None) if fcntl is not None else None
    if set_size is None:
        return
    with suppress(OSError):
        fcntl.fcntl(results.fileno(), set_size, size)


def serve(tasks: Any, results: Connection) -> None:
    """A worker process: digest each task from ``tasks`` until told to stop (None), handing each
    digest back through ``results``. Ctrl-C on a terminal reaches the whole process group: the
    replaying process handles it and stops the workers."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    send(results, pickle.dumps(_READY))
    known: tuple[bytes, Plan] | None = None  # a run's plan is the same for every task: read once
    while (item := tasks.get()) is not None:
        ticket, pickled, work, now_ms, budget, events = item
        if known is None or known[0] != pickled:
            known = pickled, pickle.loads(pickled)
        plan = known[1]
        try:
            outcome: Digest | BaseException = digest(plan, work, now_ms, budget, events)
        except Exception as exc:  # noqa: BLE001 - handed to the replaying process, which raises it
            outcome = exc
        # Pickled to bytes of its exact size (Connection.send's buffer grows to twice a result).
        send(results, pickle.dumps((ticket, outcome), pickle.HIGHEST_PROTOCOL))
