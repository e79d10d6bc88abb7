"""The checkpoint ledger: which objects of a run are finished, written to ``--checkpoint``.

An object is finished once every record queued from it is settled (its batch answered), if all
were delivered and it was wholly read; it is then appended to the checkpoint, which a re-run
skips. Records are queued and settled many objects at a time, from the replaying thread and the
sender threads: the ledger alone changes what it tracks, under its own lock.
"""

from __future__ import annotations

import threading
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from forwarder.errors import ConfigError
from forwarder.replay.digest import Digest


class Checkpoint:
    """Finished objects, one name a line, appended as they finish: a re-run skips them. The file
    stays open while a run marks; each line is flushed as it is written."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        try:
            data = self.path.read_bytes() if self.path.exists() else b""
        except OSError as exc:
            raise ConfigError(f"checkpoint {self.path}: cannot read it ({exc.strerror})") from None
        if b"\0" in data:  # no name holds one: a gzip object or other binary, not to be appended to
            raise ConfigError(f"checkpoint {self.path}: cannot read it (binary, not a list of names)")
        # A local file's name may hold bytes that are not UTF-8: they are written and read back as
        # they are, so the name still matches.
        text = data.decode("utf-8", "surrogateescape")
        self.done = set(text.splitlines())
        # A last line without its newline (the disk filled, the machine died mid-write) is ended
        # before the first mark: else the two names run together and neither matches again.
        self._unended = bool(text) and not text.endswith("\n")
        self._lock = threading.Lock()
        self._handle: TextIO | None = None

    def open(self) -> None:
        """Open it to append (creating it), before ``mark``: a run that marks calls this before it
        sends anything, so a checkpoint it cannot write stops the run before the first event."""
        with self._lock:
            if self._handle is not None:
                return
            try:
                self._handle = self.path.open("a", encoding="utf-8", errors="surrogateescape")
            except OSError as exc:
                raise ConfigError(f"checkpoint {self.path}: cannot write it ({exc.strerror})") from None
            if self._unended:
                self._handle.write("\n")

    def mark(self, name: str) -> None:
        with self._lock:
            assert self._handle is not None, "open() before mark()"
            self._handle.write(name + "\n")
            self._handle.flush()
        self.done.add(name)

    def close(self) -> None:
        with self._lock:
            if self._handle is not None:
                self._handle.close()
                self._handle = None


@dataclass
class Owner:
    """The objects of one digest, as the ledger tracks them. It does not hold the digest: each
    record's encoded log is freed as soon as its own batch is sent. Only ``Ledger`` changes it,
    under its lock."""

    names: list[str]
    ends: list[int]  # per object: where its records end in the digest's columns
    failed: set[int]  # objects (indices) not to checkpoint
    left: list[int]  # per object: records queued and not yet settled (counted only with a checkpoint)

    def owner_of(self, position: int) -> int:
        """The object (its index) the record at ``position`` in the digest's columns came from."""
        return bisect_right(self.ends, position)

    def runs(self, positions: Sequence[int]) -> Iterator[tuple[int, int]]:
        """(object, how many of ``positions`` came from it), for positions in ascending order: a
        step per object, not per record."""
        at = 0
        while at < len(positions):
            index = self.owner_of(positions[at])
            end = bisect_left(positions, self.ends[index], at)
            yield index, end - at
            at = end


class Ledger:
    """Finished objects, for ``checkpoint``: those it lists are skipped; those that finish are
    added when ``marks`` (a dry run reads the checkpoint but sends nothing, so it never adds to
    it: a real run with the same file would then skip everything the dry run showed)."""

    def __init__(self, checkpoint: Checkpoint | None, *, marks: bool = True) -> None:
        self._checkpoint = checkpoint
        self._marks = checkpoint if marks else None
        self._lock = threading.Lock()

    def finished(self, name: str) -> bool:
        """Whether ``name`` was finished by an earlier run (the checkpoint lists it)."""
        return self._checkpoint is not None and name in self._checkpoint.done

    def open(self) -> None:
        """Ready to mark: a checkpoint that cannot be written stops the run here, before anything
        is sent."""
        if self._marks is not None:
            self._marks.open()

    def close(self) -> None:
        if self._checkpoint is not None:
            self._checkpoint.close()

    def track(self, digest: Digest, queued: Iterable[Sequence[int]]) -> Owner:
        """The objects of ``digest``, whose records at ``queued`` (positions in it, one sequence
        per destination) are about to be queued; called before any of them is, for a sender may
        settle them at once. Its objects with nothing to wait for are finished now."""
        owner = Owner(digest.names, digest.ends, set(digest.unreadable), [0] * len(digest.names))
        if self._marks is None:
            return owner
        with self._lock:
            for positions in queued:
                for index, count in owner.runs(positions):
                    owner.left[index] += count
            for index, left in enumerate(owner.left):
                if left == 0:
                    self._finish(owner, index)
        return owner

    def settled(self, owner: Owner, positions: Sequence[int], failed: Iterable[int]) -> None:
        """A batch answered for the records of ``owner`` at ``positions``; those at ``failed``
        were not delivered, and keep their objects out of the checkpoint."""
        with self._lock:
            owner.failed.update(owner.owner_of(position) for position in failed)
            if self._marks is None:
                return
            for index, count in owner.runs(positions):
                owner.left[index] -= count
                if owner.left[index] == 0:
                    self._finish(owner, index)

    def _finish(self, owner: Owner, index: int) -> None:
        """Object ``index`` of ``owner`` is settled (the caller holds the lock)."""
        if index not in owner.failed and self._marks is not None:
            self._marks.mark(owner.names[index])
