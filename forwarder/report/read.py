"""The stop records a report reads: replay's readers, not a copy of them.

``forwarder.replay.sources`` lists the objects (S3 prefixes, folders, files; only the hour
folders of a ``--since``/``--until`` window) and fetches S3 objects a few ahead (a GET is a round
trip, and the archive holds one event per object), at most ``AHEAD`` of them at once;
``forwarder.replay.read.entries`` reads each object's records (this tool's archive documents,
Firehose backup objects, anything ``explain`` reads) and ``Selection.keeps`` applies replay's
filters. Objects are read one at a time, in listing order; a local file when its turn comes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

from forwarder.codec import STDLIB, Codec
from forwarder.errors import ForwarderError, InputError
from forwarder.inputs import read_file
from forwarder.model import Record
from forwarder.replay.read import entries
from forwarder.replay.selection import Selection
from forwarder.replay.sources import SourceObject, fetched, list_sources

AHEAD = 16  # S3 objects fetched ahead ...
AHEAD_BYTES = 64_000_000  # ... and at most this many bytes of them

Report = Callable[[str, ForwarderError], None]


def records(
    sources: list[str],
    selection: Selection,
    client_factory: Callable[[str], Any],
    report: Report,
    codec: Codec = STDLIB,
) -> Iterator[Record]:
    """The records under ``sources`` that ``selection`` keeps, in listing order; every object that
    cannot be listed or read, and every entry that is not a stop, goes to ``report``."""
    listed = _listed(list_sources(sources, selection.window, client_factory), report)
    for source, data in fetched(listed, AHEAD, AHEAD_BYTES):
        try:
            if isinstance(data, InputError):
                raise data
            raw = read_file(data) if isinstance(data, str) else data
        except InputError as exc:
            report(source.name, exc)
            continue
        for entry in entries(raw, source.name, codec):
            if isinstance(entry, ForwarderError):
                report(source.name, entry)
                continue
            record = entry[0]
            if selection.keeps(record):
                yield record


def _listed(listed: Iterable[SourceObject | InputError], report: Report) -> Iterator[SourceObject]:
    for source in listed:
        if isinstance(source, InputError):
            report(source.source, source)
        else:
            yield source
