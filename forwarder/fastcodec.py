"""The console script's codec: msgspec for JSON, ISA-L (isal) for gzip. The only module of the
package that imports either; the Lambda handler never imports it (``forwarder.codec.STDLIB``).

It writes what ``STDLIB`` writes for what a stop record holds, and reads integers beyond 64 bits
exactly, as the standard library does. What msgspec refuses and the standard library takes (NaN,
an escaped lone surrogate, a lone surrogate to write) goes to the standard library.
"""

from __future__ import annotations

import threading
import zlib
from typing import Any

import msgspec
from isal import isal_zlib

from forwarder.archive_layout import ArchiveDocument
from forwarder.codec import STDLIB, Compressor, gunzip_with

_BLOCK = 1 << 16  # bytes inflated at a time


class _ArchiveDocument(msgspec.Struct):
    """What replay reads of an archive document: the raw ``event`` is only checked to be JSON,
    never built, and no other field is."""

    schema: str
    record: dict[str, Any]
    deliveries: dict[str, Any] = {}


class FastCodec:
    """msgspec and ISA-L. Picklable (replay's worker processes get it with the encoders)."""

    def __init__(self) -> None:
        self._encoder = msgspec.json.Encoder()
        self._decoder = msgspec.json.Decoder()
        self._archived = msgspec.json.Decoder(_ArchiveDocument)
        self._local = threading.local()

    def __reduce__(self) -> tuple[type[FastCodec], tuple[()]]:
        return FastCodec, ()

    def __eq__(self, other: object) -> bool:
        return isinstance(other, FastCodec)

    def __hash__(self) -> int:
        return hash(FastCodec)

    def encode(self, value: Any) -> bytes:
        # Into a buffer of this thread's, then copied: msgspec's own bytes keep the room they grew
        # in, and replay holds thousands of encoded logs at once.
        buffer: bytearray | None = getattr(self._local, "buffer", None)
        if buffer is None:
            buffer = self._local.buffer = bytearray()
        try:
            self._encoder.encode_into(value, buffer)
        except (UnicodeEncodeError, RecursionError, TypeError):  # a lone surrogate, deep nesting
            return STDLIB.encode(value)
        return bytes(buffer)

    def decode(self, data: bytes | memoryview | str) -> Any:
        try:
            return self._decoder.decode(data)
        except msgspec.DecodeError:  # NaN, a lone surrogate, 1e400: the standard library reads those
            return STDLIB.decode(data)

    def read(self, data: bytes | memoryview | str) -> Any:
        return self._decoder.decode(data)  # msgspec.DecodeError is a ValueError

    def gzip(self) -> Compressor:
        compressor: Compressor = isal_zlib.compressobj(1, zlib.DEFLATED, 31)
        return compressor

    def gunzip(self, data: bytes) -> tuple[bytes, str | None]:
        # A block at a time: ISA-L's output buffer for a whole large object is mapped afresh for
        # every object (page faults, system time). Damaged data is inflated again by zlib, whose
        # messages say what is wrong.
        out, error = gunzip_with(isal_zlib.decompressobj, (isal_zlib.error, zlib.error), data, _BLOCK)
        return (out, None) if error is None else STDLIB.gunzip(data)

    def archived(self, data: bytes) -> ArchiveDocument | None:
        # msgspec does not check the UTF-8 of what it skips: bytes that are not UTF-8 inside the
        # raw event would pass here and fail the general reader, so they are looked for first.
        if not (data.isascii() or _is_utf8(data)):
            return None
        try:
            document = self._archived.decode(data)
        except (msgspec.DecodeError, RecursionError):
            return None
        fields = {"schema": document.schema, "record": document.record, "deliveries": document.deliveries}
        return ArchiveDocument.of(fields)


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode()
    except UnicodeDecodeError:
        return False
    return True
