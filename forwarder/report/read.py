"""The stop records a report reads: replay's readers, not a copy of them.

``forwarder.sources.list_sources`` lists the objects (S3 prefixes, folders, files; only the hour
folders of a ``--since``/``--until`` window), ``SourceObject.read`` fetches each,
``forwarder.digest.entries`` reads its records (this tool's archive documents, Firehose backup
objects, anything ``explain`` reads) and ``Selection.keeps`` applies replay's filters. Objects are
read one at a time, in listing order; S3 objects are fetched a few ahead, in threads (a GET is a
round trip, and the archive holds one event per object), at most ``AHEAD`` of them at once.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from forwarder.digest import Selection, entries
from forwarder.errors import ForwarderError, InputError
from forwarder.model import Record
from forwarder.sources import SourceObject, list_sources

AHEAD = 16  # S3 objects fetched ahead (a local file is read when its turn comes)

Report = Callable[[str, ForwarderError], None]


def records(
    sources: list[str], selection: Selection, client_factory: Callable[[str], Any], report: Report
) -> Iterator[Record]:
    """The records under ``sources`` that ``selection`` keeps, in listing order; every object that
    cannot be listed or read, and every entry that is not a stop, goes to ``report``."""
    for name, data in _fetched(list_sources(sources, selection.window, client_factory), report):
        for entry in entries(data, name):
            if isinstance(entry, ForwarderError):
                report(name, entry)
                continue
            record = entry[0]
            if selection.keeps(record):
                yield record


def _fetched(listed: Iterable[SourceObject | InputError], report: Report) -> Iterator[tuple[str, bytes]]:
    """(name, bytes) of each object listed, in order; listing and fetch errors go to ``report``."""
    window: deque[tuple[str, Future[bytes] | None, SourceObject]] = deque()
    pool: ThreadPoolExecutor | None = None
    try:
        for source in listed:
            if isinstance(source, InputError):
                report(source.source, source)
                continue
            if source.path is None:
                pool = pool or ThreadPoolExecutor(AHEAD, thread_name_prefix="report-fetch")
                window.append((source.name, pool.submit(source.read), source))
            else:
                window.append((source.name, None, source))
            while len(window) > AHEAD or (window and window[0][1] is None):
                yield from _take(*window.popleft(), report)
        while window:
            yield from _take(*window.popleft(), report)
    finally:
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)


def _take(
    name: str, pending: Future[bytes] | None, source: SourceObject, report: Report
) -> Iterator[tuple[str, bytes]]:
    try:
        data = source.read() if pending is None else pending.result()
    except InputError as exc:
        report(name, exc)
        return
    yield name, data
