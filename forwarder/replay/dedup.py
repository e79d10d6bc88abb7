"""Dedup by event id across every source of a run, in little memory.

An id is kept as a 64-bit hash in one array rather than as a string, so no Python object per id
stays alive.
"""

from __future__ import annotations

from array import array
from collections.abc import Sequence


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
