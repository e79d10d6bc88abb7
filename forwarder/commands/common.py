"""What every command shares: exit codes, bad-input reporting, reading records from paths."""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable, Iterable, Iterator
from itertools import islice
from typing import Generic, TextIO, TypeVar

from forwarder.codec import STDLIB, Codec
from forwarder.config import Settings, parse_destinations
from forwarder.errors import ForwarderError, InputError, InvalidEvent
from forwarder.inputs import Item, iter_items, read_paths
from forwarder.model import StopRecord
from forwarder.parse import parse_event

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
T = TypeVar("T")


S = TypeVar("S")


class Progress(Generic[S]):
    """One self-rewriting line on a terminal, at most five times a second; silent otherwise.
    ``line`` says what the run's counters (``S``) amount to so far."""

    def __init__(
        self, stream: TextIO, line: Callable[[S], str], clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.stream = stream
        self.line = line
        self.clock = clock
        self.enabled = stream.isatty()
        self._last = -1.0

    def __call__(self, stats: S) -> None:
        now = self.clock()
        if not self.enabled or now - self._last < 0.2:
            return
        self._last = now
        self.stream.write(f"\r{self.line(stats)} ")
        self.stream.flush()

    def done(self) -> None:
        if self.enabled:
            self.stream.write("\n")


def chunks(values: Iterable[T], size: int) -> Iterator[list[T]]:
    """``itertools.batched`` (Python 3.12+) for 3.11."""
    iterator = iter(values)
    while chunk := list(islice(iterator, size)):
        yield chunk


class Problems:
    """Counts and reports bad input on stderr: ``error: <where>: <kind>: <what>``."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.count = 0

    def report(self, where: str, error: ForwarderError) -> None:
        self.count += 1
        if isinstance(error, InputError):
            where = where if error.offset is None else f"{where} at offset {error.offset}"
            kind, detail = "unreadable", error.detail
        else:
            kind, detail = getattr(error, "kind", "error"), str(error)
        print(f"error: {where}: {kind}: {detail}", file=self.stream)


def items_from(paths: Iterable[str], problems: Problems, codec: Codec = STDLIB) -> Iterator[Item]:
    """Every JSON item under ``paths``; unreadable files and broken JSON go to ``problems``."""
    for entry in read_paths(paths):
        if isinstance(entry, InputError):
            problems.report(entry.source, entry)
            continue
        source, data = entry
        for item in iter_items(data, source, codec):
            if isinstance(item, InputError):
                problems.report(item.source, item)
            else:
                yield item


def records_from(
    paths: Iterable[str], problems: Problems, codec: Codec = STDLIB
) -> Iterator[tuple[Item, StopRecord]]:
    """Every stop record under ``paths``; everything else is reported to ``problems``."""
    for item in items_from(paths, problems, codec):
        try:
            yield item, parse_event(item.value)
        except InvalidEvent as exc:
            problems.report(item.where, exc)


def destinations_for(args: argparse.Namespace, settings: Settings) -> tuple[str, ...]:
    """``--to`` when given, else the configured destinations (what send, replay and check share)."""
    return parse_destinations(args.to, "--to") if args.to else settings.destinations


def settings_from_env() -> Settings:
    return Settings.from_env(os.environ)
