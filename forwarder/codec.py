"""JSON and gzip, as one choice each entry point makes once and passes down.

``STDLIB`` is the standard library's json and zlib: the Lambda handler's (its zip is pure Python)
and the default of every function that takes a codec. The console script passes
``forwarder.fastcodec.FastCodec`` (msgspec and ISA-L: replay is CPU-bound) instead. Both write
the same bytes for what a stop record holds (compact, UTF-8, text UTF-8 cannot carry escaped; its
one float, ``run_seconds``, to the millisecond as parsing writes it) and read the same values,
integers beyond 64 bits exactly; where msgspec refuses what the standard library reads (NaN, an
escaped lone surrogate), the fast codec reads it with the standard library. A float only an
edited archive could hold is the same number written differently: ``1e-8`` and ``1e16`` where the
standard library writes ``1e-08`` and ``1e+16``, ``null`` for NaN.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from forwarder.archive_layout import ArchiveDocument

GZIP_MAGIC = b"\x1f\x8b"


class Compressor(Protocol):
    def compress(self, data: bytes, /) -> bytes: ...

    def flush(self) -> bytes: ...


class Codec(Protocol):
    def encode(self, value: Any) -> bytes:
        """Compact UTF-8 JSON; text UTF-8 cannot carry (a lone surrogate) is written escaped."""
        ...

    def decode(self, data: bytes | memoryview | str) -> Any:
        """One JSON document; ``ValueError`` (or ``RecursionError``) when it is not one."""
        ...

    def read(self, data: bytes | memoryview | str) -> Any:
        """``decode`` without a second try: ``ValueError`` (or ``RecursionError``) for anything
        this codec refuses, which the caller then reads with the standard library's careful
        reader (it says where a document is broken)."""
        ...

    def gzip(self) -> Compressor:
        """A compressor writing one gzip member at level 1 (replay is CPU-bound: higher levels cost
        several times the CPU for a body not much smaller)."""
        ...

    def gunzip(self, data: bytes) -> tuple[bytes, str | None]:
        """Every gzip member decompressed; on damage, what was recovered and what went wrong."""
        ...

    def archived(self, data: bytes) -> ArchiveDocument | None:
        """An archive document read without building its raw event (over half of it): its
        schema, record and deliveries; None when this codec cannot, or ``data`` is not one JSON
        object whose record and deliveries are objects: the caller then reads it whole."""
        ...


class StdlibCodec:
    """The standard library's json and zlib."""

    def encode(self, value: Any) -> bytes:
        try:
            return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()
        except UnicodeEncodeError:  # a lone surrogate: escaped, as it came in
            return json.dumps(value, ensure_ascii=True, separators=(",", ":")).encode()

    def decode(self, data: bytes | memoryview | str) -> Any:
        # UTF-8 only (json.loads would take UTF-16 and UTF-32 bytes too); not UTF-8: a ValueError
        return json.loads(data if isinstance(data, str) else bytes(data).decode())

    def read(self, data: bytes | memoryview | str) -> Any:
        return self.decode(data)

    def gzip(self) -> Compressor:
        return zlib.compressobj(1, zlib.DEFLATED, 31)  # wbits 31: gzip header and trailer

    def gunzip(self, data: bytes) -> tuple[bytes, str | None]:
        return gunzip_with(zlib.decompressobj, (zlib.error,), data)

    def archived(self, data: bytes) -> ArchiveDocument | None:
        return None  # the standard library builds all of a document it reads: read it whole


STDLIB = StdlibCodec()


def gunzip_with(
    decompressobj: Callable[..., Any], errors: tuple[Any, ...], data: bytes, block: int = 0
) -> tuple[bytes, str | None]:
    """Every gzip member of ``data`` inflated by ``decompressobj`` (zlib's, or a library's with
    the same interface), ``block`` bytes at a time (0: all at once); on damage, what was
    recovered and what went wrong."""
    out: list[bytes] = []
    rest = data
    while rest:
        stream = decompressobj(wbits=31)
        pending = rest
        try:
            while True:
                piece = stream.decompress(pending, block)
                out.append(piece)
                pending = stream.unconsumed_tail
                if stream.eof or not pending:  # a member ends with its trailer: input is left till then
                    break
        except errors as exc:
            return b"".join(out), f"corrupt gzip data ({exc})"
        if not stream.eof:
            return b"".join(out), "truncated gzip: the stream ends before its end marker"
        rest = stream.unused_data
        if rest and not rest.startswith(GZIP_MAGIC):
            return b"".join(out), "trailing bytes after the gzip stream"
    return b"".join(out), None
