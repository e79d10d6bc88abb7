"""Bytes -> JSON items, for every input shape the tool reads, and paths -> bytes.

One file or S3 object may hold: one JSON document, a JSON array of documents, JSON lines, or JSON
documents concatenated with no delimiter (what Firehose writes to S3), optionally gzip-compressed
(detected by magic bytes, not by name). Bad bytes never raise: they come out as ``InputError`` items
that say where (source and offset), and reading goes on with what can still be read.
"""

from __future__ import annotations

import json
import re
import sys
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from forwarder import fastjson
from forwarder.errors import InputError

GZIP_MAGIC = b"\x1f\x8b"
_DECODER = json.JSONDecoder()
# Where a document may start after a broken one: an object opening with a key.
_OBJECT_START = re.compile(r'\{\s*"')
_RESYNC_ATTEMPTS = 10_000
_ARCHIVE_SCHEMAS = ("ecs-stop-forwarder/archive/v1", "ecs-stop-forwarder/rejected/v1")
_DIGITS_AS_ZERO = bytes.maketrans(b"123456789", b"000000000")
_19_DIGITS = b"0" * 19


@dataclass(frozen=True, slots=True)
class Item:
    """One JSON value read from ``source``; ``index`` counts items in the source from 1."""

    source: str
    index: int
    offset: int
    value: Any
    raw: str

    @property
    def where(self) -> str:
        return f"{self.source} item {self.index} (offset {self.offset})"


def gunzip(data: bytes) -> tuple[bytes, str | None]:
    """Decompress every gzip member; on damage return what was recovered and what went wrong."""
    out: list[bytes] = []
    rest = data
    while rest:
        stream = zlib.decompressobj(wbits=31)
        try:
            out.append(stream.decompress(rest))
        except zlib.error as exc:
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
    """Whether ``data`` holds an integer literal of 19+ digits: orjson reads those past 64 bits as
    floats, the standard library as ints, so they are left to the latter. Digits inside strings
    (``ecs-svc/1234567890123456789``) do not count, or most service tasks would miss the fast path.
    (A byte table and ``find`` scan a megabyte in about a millisecond; a regular expression took 40.)"""
    zeros = data.translate(_DIGITS_AS_ZERO)
    at = zeros.find(_19_DIGITS)
    while at >= 0:
        before = at - 1
        while before >= 0 and data[before] in b" \t\r\n-":
            before -= 1
        if before >= 0 and data[before] in b":,[":
            return True
        end = at
        while end < len(zeros) and zeros[end] == 0x30:  # skip the rest of this run of digits
            end += 1
        at = zeros.find(_19_DIGITS, end)
    return False


def _fast_items(text: str, source: str) -> tuple[list[Item], int]:
    """With orjson: the items at the start of ``text`` that split cleanly at ``}{`` boundaries, and
    where the careful reader must take over (``len(text)`` when all were read).

    Safe because a cut inside a string leaves an unterminated string, which never parses: a piece
    that parses was cut at a real document boundary.
    """
    if not fastjson.ACCELERATED:
        return [], 0
    items: list[Item] = []
    start = _skip_ws(text, 0)
    cuts = [match.end() for match in _BOUNDARY.finditer(text)] + [len(text)]
    for end in cuts:
        if end <= start:
            continue
        try:
            value = fastjson.loads_strict(text[start:end])
        except ValueError:
            return items, start
        if isinstance(value, list):  # an array of documents: each element is an item
            items.extend(
                Item(source, len(items) + 1, start, element, fastjson.dumps(element).decode())
                for element in value
            )
        else:
            items.append(Item(source, len(items) + 1, start, value, text[start:end].rstrip()))
        start = _skip_ws(text, end)
    return items, start


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
    fast, pos = _fast_items(text, source) if fast_path else ([], 0)
    yield from fast
    index = len(fast)
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
                yield Item(source, index, pos, element, json.dumps(element))
        else:
            index += 1
            yield Item(source, index, pos, value, text[pos:next_pos])
        pos = _skip_ws(text, next_pos)


def iter_items(data: bytes, source: str) -> Iterator[Item | InputError]:
    """Every JSON item in ``data``, and an ``InputError`` for each part that could not be read."""
    gzip_error: str | None = None
    if data.startswith(GZIP_MAGIC):
        data, gzip_error = gunzip(data)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        yield InputError(f"not UTF-8 text ({exc.reason})", source, exc.start)
        return
    if not text.strip() and gzip_error is None:
        yield InputError("empty input: no JSON document in it", source)
        return
    for item in _json_items(text, source, fast_path=fastjson.ACCELERATED and not _has_long_integer(data)):
        if isinstance(item, InputError) and gzip_error is not None:
            break  # the JSON broke where the damaged gzip stream ended; report the cause once
        yield item
    if gzip_error is not None:
        yield InputError(gzip_error, source, len(data))


def _files(path: Path) -> list[Path]:
    if path.is_dir():
        return sorted(p for p in path.rglob("*") if p.is_file() and not p.name.startswith("."))
    return [path]


def read_paths(paths: Iterable[str]) -> Iterator[tuple[str, bytes] | InputError]:
    """(source name, bytes) for each file under ``paths`` (``-`` is stdin); unreadable ones as errors."""
    for name in paths:
        if name == "-":
            yield "<stdin>", sys.stdin.buffer.read()
            continue
        path = Path(name)
        if not path.exists():
            yield InputError("no such file or directory", name)
            continue
        for file in _files(path):
            try:
                yield str(file), file.read_bytes()
            except OSError as exc:
                yield InputError(f"cannot read: {exc.strerror}", str(file))
