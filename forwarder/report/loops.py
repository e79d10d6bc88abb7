"""Crash loops: a service or task family whose tasks stop with an ``error`` category again and again.

Pure: error stops of one group go in, in time order; loops come out. The rule: a stop is *hot*
when it and the ``threshold - 1`` error stops before it fall within ``window`` (by default 3 within
15 minutes: the once-a-minute scheduled task that never starts is hot from its third failure). A
loop runs from the first stop of its first hot window to its last hot stop; a hot window that
starts within ``window`` of a loop's last stop continues that loop (a pause shorter than the window
does not split it), and then the error stops in the pause count too. So a loop's ``count`` is every
error stop of the group from ``first`` to ``last``. A loop is ``ongoing`` when its last stop is
within ``window`` of the end of the report's window: it has not been quiet for a window yet.

Memory per group: the last ``threshold - 1`` stops, one open loop (at most one count and one hint
per category), and the loops closed so far (each needs ``threshold`` stops and a quiet window
before the next, so they are bounded by the hours reported, not by the stops).
"""

from __future__ import annotations

from collections import Counter, deque
from dataclasses import dataclass, field, replace

from forwarder.errors import ConfigError

DEFAULT_THRESHOLD = 3
DEFAULT_WINDOW_MS = 15 * 60_000


@dataclass(frozen=True)
class LoopRule:
    """``threshold`` error stops within ``window_ms`` make a crash loop."""

    threshold: int = DEFAULT_THRESHOLD
    window_ms: int = DEFAULT_WINDOW_MS

    def __post_init__(self) -> None:
        if self.threshold < 2:
            raise ConfigError(f"--loop-threshold must be 2 or more, got {self.threshold}")
        if self.window_ms < 60_000:
            raise ConfigError("--loop-window must be at least 1m")


@dataclass(frozen=True)
class Loop:
    """One crash loop of one group: its first and last stop (epoch ms), how many error stops it
    holds, the category most of them had (ties: the one seen first) with that category's latest
    hint, and the count per category."""

    first: int
    last: int
    count: int
    category: str
    hint: str
    categories: dict[str, int]
    ongoing: bool = False


@dataclass
class _Episode:
    first: int
    last: int
    count: int = 0
    categories: Counter[str] = field(default_factory=Counter)
    hints: dict[str, str] = field(default_factory=dict)  # the latest hint per category

    def take(self, at: int, category: str, hint: str) -> None:
        self.count += 1
        self.categories[category] += 1
        self.hints[category] = hint
        self.last = max(self.last, at)

    def absorb(self, other: _Episode) -> None:
        self.count += other.count
        self.categories.update(other.categories)
        self.hints.update(other.hints)

    def loop(self) -> Loop:
        category = self.categories.most_common(1)[0][0]
        return Loop(self.first, self.last, self.count, category, self.hints[category], dict(self.categories))


class LoopTracker:
    """The loops of one group, from its error stops fed in time order (``add``); ``loops(end)``
    closes the open one and says which are still going at ``end``."""

    def __init__(self, rule: LoopRule) -> None:
        self.rule = rule
        self._recent: deque[tuple[int, str, str]] = deque(maxlen=rule.threshold - 1)
        self._open: _Episode | None = None
        self._pause: _Episode | None = None  # error stops after the open loop's last, not hot (yet)
        self._closed: list[Loop] = []

    def add(self, at: int, category: str, hint: str) -> None:
        window = self.rule.window_ms
        recent = self._recent
        hot = len(recent) == recent.maxlen and at - recent[0][0] <= window
        episode = self._open
        if hot and episode is not None and recent[0][0] - episode.last <= window:
            if self._pause is not None:  # the stops of a short pause belong to the loop
                episode.absorb(self._pause)
                self._pause = None
            episode.take(at, category, hint)
        elif hot:
            self._close()
            episode = self._open = _Episode(recent[0][0], at)
            for earlier in recent:
                episode.take(*earlier)
            episode.take(at, category, hint)
        elif episode is not None:
            if at - episode.last > 2 * window:
                # no later hot window can start within ``window`` of this loop's last stop: any
                # starts at or after ``at - window``
                self._close()
            else:
                self._pause = self._pause or _Episode(at, at)
                self._pause.take(at, category, hint)
        recent.append((at, category, hint))

    def _close(self) -> None:
        if self._open is not None:
            self._closed.append(self._open.loop())
        self._open, self._pause = None, None

    def loops(self, end: int | None) -> list[Loop]:
        """Every loop, oldest first; ``ongoing`` when its last stop is within the window of ``end``
        (None: no end known, none is ongoing). Closes the open loop: call it once, at the end."""
        self._close()
        window = self.rule.window_ms
        return [replace(loop, ongoing=end is not None and end - loop.last <= window) for loop in self._closed]
