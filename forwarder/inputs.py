"""Bytes -> JSON items, for every input shape the tool reads, and paths -> bytes.

One file or S3 object may hold: one JSON document, a JSON array of documents, JSON lines, or JSON
documents concatenated with no delimiter (what Firehose writes to S3), optionally gzip-compressed
(detected by magic bytes, not by name). Bad bytes never raise: they come out as ``InputError`` items
that say where (source and offset), and reading goes on with what can still be read. JSON and gzip
are the caller's codec (``forwarder.codec``): the standard library unless told otherwise.
"""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Generator, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, AnyStr

from forwarder.codec import GZIP_MAGIC, STDLIB, Codec
from forwarder.errors import InputError

_DECODER = json.JSONDecoder()
# Where a document may start after a broken one: an object opening with a key.
_OBJECT_START = re.compile(r'\{\s*"')
_RESYNC_ATTEMPTS = 10_000
_ARCHIVE_SCHEMAS = ("ecs-stop-forwarder/archive/v1", "ecs-stop-forwarder/rejected/v1")


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


def _skip_ws(text: str, pos: int) -> int:
    while pos < len(text) and text[pos] in " \t\r\n":
        pos += 1
    return pos


_BOUNDARY = re.compile(r"\}\s*(?=\{)")
_WHITESPACE = re.compile(r"[ \t\r\n]*")
_BYTES_BOUNDARY = re.compile(rb"\}\s*(?=\{)")
_BYTES_WHITESPACE = re.compile(rb"[ \t\r\n]*")


def _fast_items(
    text: AnyStr, source: str, codec: Codec, boundary: re.Pattern[AnyStr], whitespace: re.Pattern[AnyStr]
) -> Generator[Item, None, tuple[int, int]]:
    """The items at the start of ``text`` that split cleanly at ``}{`` boundaries, one document
    parsed at a time (a Firehose object holds thousands: they are never all parsed at once);
    returns how many were yielded and where the careful reader must take over (``len(text)`` when
    all were read). ``text`` is bytes when they are ASCII (an offset in them is one in the text:
    the text is never made), else the decoded text.

    Safe because a cut inside a string leaves an unterminated string, which never parses: a piece
    that parses was cut at a real document boundary.
    """
    count = 0
    view = memoryview(text) if isinstance(text, bytes) else text  # slices of bytes: not copied
    start = _after_whitespace(text, 0, whitespace)
    cuts = [match.end() for match in boundary.finditer(text)] + [len(text)]
    for end in cuts:
        if end <= start:
            continue
        try:
            value = codec.read(view[start:end])
        except (ValueError, RecursionError):
            return count, start
        for element in value if isinstance(value, list) else (value,):  # an array: each element is an item
            count += 1
            yield Item(source, count, start, element)
        start = _after_whitespace(text, end, whitespace)
    return count, start


def _after_whitespace(text: AnyStr, pos: int, whitespace: re.Pattern[AnyStr]) -> int:
    found = whitespace.match(text, pos)
    return pos if found is None else found.end()


def _whole_document(data: bytes, source: str, codec: Codec) -> list[Item] | None:
    """``data`` as one JSON document (an array: its elements), else None (several documents, or
    not JSON: the careful reader takes over and says what is wrong)."""
    try:
        value = codec.read(data)
    except (ValueError, RecursionError):
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


def _careful_items(text: str, source: str, index: int, pos: int) -> Iterator[Item | InputError]:
    """The items of ``text`` from ``pos`` on (``index`` read before it), one at a time with the
    standard library, which says where a document is broken; reading goes on after it."""
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


def iter_items(data: bytes, source: str, codec: Codec = STDLIB) -> Iterator[Item | InputError]:
    """Every JSON item in ``data``, and an ``InputError`` for each part that could not be read."""
    gzip_error: str | None = None
    if data.startswith(GZIP_MAGIC):
        data, gzip_error = codec.gunzip(data)
    read_ahead: tuple[int, int] | None = None  # (items, offset) read from the bytes themselves
    if gzip_error is None:
        whole = _whole_document(data, source, codec)  # the common case: one document (an archive's)
        if whole is not None:
            yield from whole
            return
        if data.isascii():  # documents concatenated (Firehose): read from the bytes
            read_ahead = yield from _fast_items(data, source, codec, _BYTES_BOUNDARY, _BYTES_WHITESPACE)
            if read_ahead[0] and read_ahead[1] >= len(data):
                return
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        yield InputError(f"not UTF-8 text ({exc.reason})", source, exc.start)
        return
    if not text.strip() and gzip_error is None:
        yield InputError("empty input: no JSON document in it", source)
        return
    if read_ahead is None:
        read_ahead = yield from _fast_items(text, source, codec, _BOUNDARY, _WHITESPACE)
    for item in _careful_items(text, source, *read_ahead):
        if isinstance(item, InputError) and gzip_error is not None:
            break  # the JSON broke where the damaged gzip stream ended; report the cause once
        yield item
    if gzip_error is not None:
        yield InputError(gzip_error, source, len(data))


def read_file(path: str) -> bytes:
    """A whole file; ``InputError`` naming it when it cannot be read. Plain ``os`` calls: cheaper
    than ``open().read()`` for the small files an archive is made of."""
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
    symbolic links to directories are not followed. Plain strings: pathlib costs more a file."""
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
