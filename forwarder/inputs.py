"""Bytes -> JSON items, for every input shape the tool reads, and paths -> bytes.

One file or S3 object may hold: one JSON document, a JSON array of documents, JSON lines, or JSON
documents concatenated with no delimiter (what Firehose writes to S3), optionally gzip-compressed
(detected by magic bytes, not by name). Bad bytes never raise: they come out as ``InputError`` items
that say where (source and offset), and reading goes on with what can still be read.
"""

from __future__ import annotations

import json
import os
import re
import sys
import zlib
from collections.abc import Callable, Generator, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from forwarder import fastjson
from forwarder.errors import InputError

try:
    from isal import isal_zlib as _fast_inflate
except ImportError:  # pragma: no cover - the Lambda zip is pure Python
    _fast_inflate = None  # type: ignore[assignment]

GZIP_MAGIC = b"\x1f\x8b"
_DECODER = json.JSONDecoder()
# Where a document may start after a broken one: an object opening with a key.
_OBJECT_START = re.compile(r'\{\s*"')
_RESYNC_ATTEMPTS = 10_000
_ARCHIVE_SCHEMAS = ("ecs-stop-forwarder/archive/v1", "ecs-stop-forwarder/rejected/v1")
_DIGITS_AS_ZERO = bytes.maketrans(b"123456789", b"000000000")
_20_DIGITS = b"0" * 20
_MINUS_19_DIGITS = b"-" + b"0" * 19
_NOT_A_DIGIT = re.compile(rb"[^0]")


@dataclass(frozen=True, slots=True)
class Item:
    """One JSON value read from ``source``; ``index`` counts items in the source from 1."""

    source: str
    index: int
    offset: int
    value: Any

    @property
    def where(self) -> str:
        return f"{self.source} item {self.index} (offset {self.offset})"


def gunzip(data: bytes) -> tuple[bytes, str | None]:
    """Decompress every gzip member; on damage return what was recovered and what went wrong.
    With isal installed it inflates at about twice zlib's speed; damaged data is read again by
    zlib, whose messages say what is wrong."""
    if _fast_inflate is not None:
        out, error = _gunzip(_fast_inflate.decompressobj, (_fast_inflate.error, zlib.error), data)
        if error is None:
            return out, None
    return _gunzip(zlib.decompressobj, (zlib.error,), data)


def _gunzip(
    decompressobj: Callable[..., Any], errors: tuple[Any, ...], data: bytes
) -> tuple[bytes, str | None]:
    out: list[bytes] = []
    rest = data
    while rest:
        stream = decompressobj(wbits=31)
        try:
            out.append(stream.decompress(rest))
        except errors as exc:
            return b"".join(out), f"corrupt gzip data ({exc})"
        if not stream.eof:
            return b"".join(out), "truncated gzip: the stream ends before its end marker"
        rest = stream.unused_data
        if rest and not rest.startswith(GZIP_MAGIC):
            return b"".join(out), "trailing bytes after the gzip stream"
    return b"".join(out), None


def _skip_ws(text: str, pos: int) -> int:
    while pos < len(text) and text[pos] in " \t\r\n":
        pos += 1
    return pos


_BOUNDARY = re.compile(r"\}\s*(?=\{)")


def _has_long_integer(data: bytes) -> bool:
    """Whether ``data`` holds an integer literal orjson cannot read exactly (over 2**64 - 1: 20+
    digits; under -2**63: a minus and 19+ digits): it reads those as floats, the standard library
    as ints, so such data is left to the latter. Digits inside strings do not count: a service
    task's ``startedBy`` (``ecs-svc/1234567890123456789``) must not cost every task the fast path.
    (A byte table and ``find`` scan a megabyte in about a millisecond; a regular expression took 40.)"""
    zeros = data.translate(_DIGITS_AS_ZERO)
    for needle in (_20_DIGITS, _MINUS_19_DIGITS):
        at = zeros.find(needle)  # the leftmost match is where a run of digits (or its minus) starts
        while at >= 0:
            before = at - 1
            while before >= 0 and data[before] in b" \t\r\n-":
                before -= 1
            if before >= 0 and data[before] in b":,[":
                return True
            end = _NOT_A_DIGIT.search(zeros, at + 1)  # past the rest of this run of digits
            if end is None:
                break
            at = zeros.find(needle, end.start())
    return False


def reads_inexactly(data: bytes) -> bool:
    """Whether ``iter_items(data, exact=False)`` may read an integer as a float."""
    if not fastjson.ACCELERATED:
        return False
    return _has_long_integer(gunzip(data)[0] if data.startswith(GZIP_MAGIC) else data)


def _fast_items(text: str, source: str) -> Generator[Item, None, tuple[int, int]]:
    """With orjson: the items at the start of ``text`` that split cleanly at ``}{`` boundaries,
    one document parsed at a time (a Firehose object holds thousands: they are never all parsed at
    once); returns how many were yielded and where the careful reader must take over
    (``len(text)`` when all were read).

    Safe because a cut inside a string leaves an unterminated string, which never parses: a piece
    that parses was cut at a real document boundary.
    """
    if not fastjson.ACCELERATED:
        return 0, 0
    count = 0
    start = _skip_ws(text, 0)
    cuts = [match.end() for match in _BOUNDARY.finditer(text)] + [len(text)]
    for end in cuts:
        if end <= start:
            continue
        try:
            value = fastjson.loads_strict(text[start:end])
        except ValueError:
            return count, start
        for element in value if isinstance(value, list) else (value,):  # an array: each element is an item
            count += 1
            yield Item(source, count, start, element)
        start = _skip_ws(text, end)
    return count, start


def _whole_document(data: bytes, source: str) -> list[Item] | None:
    """With orjson: ``data`` as one JSON document (an array: its elements), else None (several
    documents, or not JSON: the careful reader takes over and says what is wrong)."""
    try:
        value = fastjson.loads_strict(data)
    except ValueError:
        return None
    offset = len(data) - len(data.lstrip())
    if isinstance(value, list):
        return [Item(source, index, offset, element) for index, element in enumerate(value, 1)]
    return [Item(source, 1, offset, value)]


def _looks_like_document(value: Any) -> bool:
    """A top-level document of a kind this tool reads (not an object nested inside one)."""
    if not isinstance(value, dict):
        return False
    return (
        ("source" in value and "detail-type" in value)
        or value.get("schema") in _ARCHIVE_SCHEMAS
        or (
            "taskArn" in value and "clusterArn" in value
        )  # a DescribeTasks Task (its containers lack clusterArn)
    )


def _resync(text: str, broken: int) -> int | None:
    """Where the next whole document starts after the broken one at ``broken`` (a record cut short
    in a Firehose object is followed directly by the next one, with no ``}`` between), or None."""
    for attempt, match in enumerate(_OBJECT_START.finditer(text, broken + 1)):
        if attempt >= _RESYNC_ATTEMPTS:
            return None
        try:
            value, _ = _DECODER.raw_decode(text, match.start())
        except (json.JSONDecodeError, RecursionError):
            continue
        if _looks_like_document(value):
            return match.start()
    return None


def _json_items(text: str, source: str, fast_path: bool = True) -> Iterator[Item | InputError]:
    index, pos = (yield from _fast_items(text, source)) if fast_path else (0, 0)
    pos = _skip_ws(text, pos)
    while pos < len(text):
        try:
            value, next_pos = _DECODER.raw_decode(text, pos)
        except json.JSONDecodeError as exc:
            where = f"line {exc.lineno}, column {exc.colno}"
            yield InputError(f"invalid JSON: {exc.msg} ({where})", source, exc.pos)
            resumed = _resync(text, pos)
            if resumed is None:
                return
            pos = resumed
            continue
        except RecursionError:
            yield InputError("JSON nested too deeply to read", source, pos)
            return
        if isinstance(value, list):  # an array of documents: each element is an item
            for element in value:
                index += 1
                yield Item(source, index, pos, element)
        else:
            index += 1
            yield Item(source, index, pos, value)
        pos = _skip_ws(text, next_pos)


def iter_items(data: bytes, source: str, exact: bool = True) -> Iterator[Item | InputError]:
    """Every JSON item in ``data``, and an ``InputError`` for each part that could not be read.

    ``exact=False`` skips the scan for integers beyond 64 bits (~2.6 µs a 2.5 KB event), which
    orjson reads as floats: for a caller that can tell when such a value would change its result
    (``reads_inexactly`` then says whether it could have), and reads the data again exactly. The
    items are the same either way, in the same order; only such integers differ."""
    gzip_error: str | None = None
    if data.startswith(GZIP_MAGIC):
        data, gzip_error = gunzip(data)
    fast = fastjson.ACCELERATED and not (exact and _has_long_integer(data))
    if fast and gzip_error is None:
        whole = _whole_document(data, source)  # the common case: one document (an archive's)
        if whole is not None:
            yield from whole
            return
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        yield InputError(f"not UTF-8 text ({exc.reason})", source, exc.start)
        return
    if not text.strip() and gzip_error is None:
        yield InputError("empty input: no JSON document in it", source)
        return
    for item in _json_items(text, source, fast_path=fast):
        if isinstance(item, InputError) and gzip_error is not None:
            break  # the JSON broke where the damaged gzip stream ended; report the cause once
        yield item
    if gzip_error is not None:
        yield InputError(gzip_error, source, len(data))


def read_file(path: str) -> bytes:
    """A whole file; ``InputError`` naming it when it cannot be read. Plain ``os`` calls: half the
    cost of ``open().read()`` for the small files an archive is made of (~5 µs against ~10)."""
    try:
        handle = os.open(path, os.O_RDONLY | getattr(os, "O_BINARY", 0))
        try:
            parts: list[bytes] = []
            while chunk := os.read(handle, 1 << 20 if parts else 1 << 16):
                parts.append(chunk)
        finally:
            os.close(handle)
    except OSError as exc:
        raise InputError(f"cannot read ({exc.strerror or type(exc).__name__})", path) from None
    return parts[0] if len(parts) == 1 else b"".join(parts)


def walk(folder: str) -> Iterator[str]:
    """Files under ``folder`` in sorted order, one directory listed at a time (memory stays flat);
    symbolic links to directories are not followed. Plain strings: pathlib costs ~10 µs a file."""
    with os.scandir(folder) as scan:
        entries = sorted(scan, key=lambda entry: entry.name)
    for entry in entries:
        if entry.is_dir(follow_symlinks=False):
            yield from walk(entry.path)
        elif entry.is_file():
            yield entry.path


def read_paths(paths: Iterable[str]) -> Iterator[tuple[str, bytes] | InputError]:
    """(source name, bytes) for each file under ``paths`` (``-`` is stdin; dot-files are skipped);
    unreadable ones as errors."""
    for name in paths:
        if name == "-":
            yield "<stdin>", sys.stdin.buffer.read()
            continue
        if not os.path.exists(name):
            yield InputError("no such file or directory", name)
            continue
        root = str(Path(name))  # as pathlib spells it: ./a/ -> a
        files = walk(root) if os.path.isdir(root) else [root]
        for file in files:
            if os.path.basename(file).startswith(".") and file != root:
                continue
            try:
                yield file, read_file(file)
            except InputError as exc:
                yield exc
