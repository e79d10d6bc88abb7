"""Dedup by event id across every source of a run, in little memory: what of a digest is new.

An id is kept as a 64-bit hash in one array rather than as a string, so no Python object per id
stays alive.
"""

from __future__ import annotations

from array import array
from collections.abc import Sequence
from dataclasses import dataclass

from forwarder.replay.digest import Digest

#: A digest's new records for one destination: its name, their encoded logs, their positions.
Column = tuple[str, list[bytes], Sequence[int]]


@dataclass(frozen=True, slots=True)
class Fresh:
    """What of a digest was not seen before: its records' positions, and their logs for each
    destination that gets some (``--only-undelivered`` leaves out where one was delivered)."""

    positions: Sequence[int]
    columns: list[Column]


class Dedup:
    """The events of a run seen so far, whatever source they came from."""

    def __init__(self, names: Sequence[str], seen: SeenIds | None = None) -> None:
        self.names = names
        self.seen = seen or SeenIds()

    def fresh(self, digest: Digest) -> Fresh:
        """``digest``'s records not seen before (now seen), and their logs per destination."""
        positions = self.seen.fresh(digest.ids)
        if not positions or not digest.lines:  # nothing new, or a dry run (records, no logs)
            return Fresh(positions, [])
        everything = len(positions) == len(digest.ids)
        where: Sequence[int] = range(len(digest.ids)) if everything else positions
        found: list[Column] = []
        for name, column in zip(self.names, digest.lines, strict=True):
            lines = column if everything else [column[index] for index in positions]
            kept = where
            if None in lines:  # not every record goes everywhere
                at = [index for index, line in enumerate(lines) if line is not None]
                lines, kept = [lines[index] for index in at], [where[index] for index in at]
            if lines:
                found.append((name, lines, kept))  # type: ignore[arg-type]  # no None left
        return Fresh(positions, found)


class SeenIds:
    """Event ids seen in this run: a 64-bit hash of each in an open-addressing table (linear
    probing). The table doubles before it would be 5/8 full: 13 to 26 bytes an id (while it
    doubles, the old and the new table are both held). A false "seen" needs two ids with the
    same 64-bit hash. A probe usually is one step."""

    #: Slots to start with: 2 MB, room for ~160k ids before the first doubling, so the memory of a
    #: run up to that size does not depend on how many events it has.
    SIZE = 1 << 18

    def __init__(self, size: int = SIZE) -> None:
        self._slots = array("q", [0]) * size  # 0: an empty slot (a hash of 0 is kept as 1)
        self._count = 0

    def __len__(self) -> int:
        return self._count

    @property
    def capacity(self) -> int:
        """Slots in the table: it grows before it is 5/8 full."""
        return len(self._slots)

    def fingerprints(self) -> list[int]:
        """The 64-bit hashes held, in slot order (what the table stands for)."""
        return [fingerprint for fingerprint in self._slots if fingerprint]

    def add(self, event_id: str) -> bool:
        """True when ``event_id`` is new (and remember it), False when it was seen before."""
        return bool(self.fresh([event_id]))

    def fresh(self, event_ids: Sequence[str]) -> list[int]:
        """The positions of the ids not seen before (an id twice in ``event_ids`` counts at its
        first), remembering them. One call a digest: the loop is this method's alone."""
        if (self._count + len(event_ids)) * 8 > len(self._slots) * 5:
            self._grow(self._count + len(event_ids))  # room first: a full table would never end a probe
        slots = self._slots
        mask = len(slots) - 1
        new: list[int] = []
        for position, event_id in enumerate(event_ids):
            fingerprint = hash(event_id) or 1
            slot = fingerprint & mask
            while held := slots[slot]:
                if held == fingerprint:
                    break
                slot = (slot + 1) & mask
            else:
                slots[slot] = fingerprint
                new.append(position)
        self._count += len(new)
        return new

    def _grow(self, count: int) -> None:
        size = len(self._slots)
        while count * 8 > size * 5:
            size *= 2
        slots, mask = array("q", [0]) * size, size - 1
        for fingerprint in self._slots:
            if fingerprint:
                slot = fingerprint & mask
                while slots[slot]:
                    slot = (slot + 1) & mask
                slots[slot] = fingerprint
        self._slots = slots
