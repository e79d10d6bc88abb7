"""``redrive``: take what Lambda gave up on out of the on-failure queue, through the handler's pipeline.

The queue holds Lambda's invocation records for events whose every retry failed (``requestContext``,
``requestPayload``, ``responseContext``, ``responsePayload``) and, from EventBridge, bare events it
could not hand to Lambda. Each message's event goes through ``Forwarder`` as the handler's does:
archived first (redacted), claimed per destination, sent only where the archive does not say
delivered, outcomes recorded. A message is deleted only once its outcome is archived and there is
nothing left to do for it: every destination delivered (or skipped by a filter), or the message is
not an ECS STOPPED event and is kept under ``rejected/`` with the reason. Everything else stays in
the queue (visible again when the run ends) for the next run; its archive document says why.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from forwarder.claims import FINAL
from forwarder.destinations.base import DELIVERED
from forwarder.errors import ArchiveError, InvalidEvent
from forwarder.parse import parse_event
from forwarder.pipeline import RECORD_SECONDS, EventResult, Forwarder
from forwarder.queue import BATCH, Message

#: Seconds a received message stays hidden beyond what a batch may take.
VISIBILITY_SPARE = 30


class Queue(Protocol):
    def receive(self, limit: int, visibility: int) -> list[Message]: ...

    def delete(self, messages: Sequence[Message]) -> list[Message]: ...

    def release(self, messages: Sequence[Message]) -> None: ...


def carried(message: Message) -> tuple[Any, InvalidEvent | None]:
    """(the event ``message`` carries, None): a Lambda invocation record's ``requestPayload``, or
    the body itself (EventBridge's dead letters, a bare event). Or (what to keep of the message,
    why it carries no event): a body that is not JSON, a record without its payload."""
    try:
        body = json.loads(message.body)
    except ValueError as exc:
        return unreadable(message), InvalidEvent(f"the message body is not JSON ({exc})")
    if (
        isinstance(body, dict)
        and "requestContext" in body
        and ("requestPayload" in body or "responseContext" in body)
    ):
        if "requestPayload" not in body:
            return body, InvalidEvent("a Lambda invocation record without its requestPayload")
        return body["requestPayload"], None
    return body, None


def unreadable(message: Message) -> dict[str, Any]:
    """What is kept of a body that is not JSON: its size and hash. Unparsed text cannot be
    redacted (an environment value has no telling name), so it is not archived."""
    data = message.body.encode("utf-8", "surrogatepass")
    return {
        "sqs_message_id": message.id,
        "body_bytes": len(data),
        "body_sha256": hashlib.sha256(data).hexdigest(),
    }


@dataclass
class RedriveStats:
    messages: int = 0
    events: int = 0
    rejected: int = 0
    deleted: int = 0
    kept: int = 0
    delivered: Counter[str] = field(default_factory=Counter)  # by this run
    already: Counter[str] = field(default_factory=Counter)  # before this run, or by another invocation
    failed: Counter[str] = field(default_factory=Counter)  # not delivered (failed, or still in flight)
    errors: Counter[tuple[str, str]] = field(default_factory=Counter)
    stopped: str | None = None  # why the run stopped early
    elapsed: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {"messages": self.messages, "events": self.events, "rejected": self.rejected,
                "deleted": self.deleted, "kept": self.kept, "delivered": dict(self.delivered),
                "already_delivered": dict(self.already), "failed": dict(self.failed),
                "errors": [{"destination": n, "error": e, "count": c} for (n, e), c in self.errors.items()],
                "stopped": self.stopped, "elapsed_s": round(self.elapsed, 3)}  # fmt: skip


class Redriver:
    """Drains ``queue`` through ``forwarder`` (``dry_run``: only shows what each message is)."""

    def __init__(
        self,
        queue: Queue,
        forwarder: Forwarder | None,
        names: Sequence[str],
        *,
        timeout: float,
        maximum: int | None = None,
        progress: Callable[[RedriveStats], None] = lambda stats: None,
        dry_run: Callable[[Message, Any], None] | None = None,
    ) -> None:
        self.queue = queue
        self.forwarder = forwarder
        self.names = tuple(names)
        self.timeout = timeout
        self.maximum = maximum
        self.progress = progress
        self.dry_run = dry_run

    def run(self) -> RedriveStats:
        stats = RedriveStats()
        started = time.monotonic()
        held: list[Message] = []  # received and not deleted: visible again once the run ends
        visibility = int(self.timeout + RECORD_SECONDS + VISIBILITY_SPARE)
        try:
            while self.maximum is None or stats.messages < self.maximum:
                left = BATCH if self.maximum is None else min(BATCH, self.maximum - stats.messages)
                batch = self.queue.receive(left, visibility)
                if not batch:
                    break
                stats.messages += len(batch)
                if self.dry_run is not None or self.forwarder is None:
                    self._show(batch, stats)
                    held.extend(batch)
                    continue
                try:
                    done = self._forward(self.forwarder, batch, stats)
                except ArchiveError as exc:  # nothing of this batch is deleted; the run cannot go on
                    stats.stopped = f"ArchiveError: {exc}"
                    held.extend(batch)
                    break
                kept = [m for m in batch if m not in done]
                left_over = self.queue.delete(done)
                stats.deleted += len(done) - len(left_over)
                held.extend(kept + left_over)
                stats.elapsed = time.monotonic() - started
                self.progress(stats)
        finally:
            stats.kept = len(held)
            self.queue.release(held)
            stats.elapsed = time.monotonic() - started
        return stats

    def _forward(self, forwarder: Forwarder, batch: list[Message], stats: RedriveStats) -> list[Message]:
        """Archive and deliver ``batch``; the messages whose outcome is archived and final."""
        deadline = time.monotonic() + self.timeout
        events: list[tuple[Message, Any]] = []
        done: list[Message] = []
        for message in batch:
            value, error = carried(message)
            if error is None:
                events.append((message, value))
                continue
            forwarder.reject(value, error, deadline)
            stats.rejected += 1
            done.append(message)
        results = forwarder.forward([payload for _, payload in events], deadline)
        for (message, _), result in zip(events, results, strict=True):
            if result.rejected is not None:
                stats.rejected += 1
                done.append(message)
                continue
            stats.events += 1
            if self._tally(result, stats):
                done.append(message)
        return done

    def _tally(self, result: EventResult, stats: RedriveStats) -> bool:
        """Count ``result``'s outcomes; True when every destination is delivered or skipped."""
        final = True
        for name in self.names:
            outcome = result.deliveries.get(name, {})
            status = outcome.get("status")
            if status == DELIVERED:
                (stats.delivered if name in result.attempted else stats.already)[name] += 1
            elif status not in FINAL:
                final = False
                stats.failed[name] += 1
                stats.errors[name, f"{status}: {outcome.get('error') or 'held by another invocation'}"] += 1
        return final

    def _show(self, batch: list[Message], stats: RedriveStats) -> None:
        for message in batch:
            value, error = carried(message)
            shown: Any = error
            if error is None:
                try:
                    shown = parse_event(value)
                except InvalidEvent as exc:
                    shown = exc
            if isinstance(shown, InvalidEvent):
                stats.rejected += 1
            else:
                stats.events += 1
            if self.dry_run is not None:
                self.dry_run(message, shown)
