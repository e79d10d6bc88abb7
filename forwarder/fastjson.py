"""JSON on the hot paths: orjson when it is installed (the CLI: replay is CPU-bound), the standard
library otherwise (the Lambda zip is pure Python). Both produce and accept the same documents; the
standard library also takes what orjson refuses (integers over 64 bits, NaN), so results never
depend on which one ran.
"""

from __future__ import annotations

import json
from typing import Any

try:
    import orjson
except ImportError:  # pragma: no cover - exercised by the Lambda artifact test
    orjson = None  # type: ignore[assignment]


def dumps_exact(value: Any) -> bytes:
    """Compact UTF-8 JSON from the standard library, for documents that keep an input as it came:
    orjson writes NaN/Infinity (which Python's parser accepts) as null, this keeps them."""
    try:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()
    except UnicodeEncodeError:  # a lone surrogate: escaped, as it came in
        return json.dumps(value, ensure_ascii=True, separators=(",", ":")).encode()


def dumps(value: Any) -> bytes:
    """Compact UTF-8 JSON. Text that UTF-8 cannot carry (a lone surrogate, which JSON input may
    hold as ``\\ud800``) is written escaped, as it came in."""
    if orjson is not None:
        try:
            # A copy: orjson's bytes keep the buffer they grew in (~3x their length, ~7.7 KB for
            # a 2.5 KB log), and replay holds thousands of them (0.3 µs each).
            return memoryview(orjson.dumps(value)).tobytes()
        except TypeError:  # orjson.JSONEncodeError: an int beyond 64 bits, a surrogate, deep nesting
            pass
    return dumps_exact(value)


#: Whether orjson is installed (the CLI); the Lambda artifact runs on the standard library.
ACCELERATED = orjson is not None


def loads_strict(data: bytes | str) -> Any:
    """orjson's strict parse; ``ValueError`` on anything it refuses. Only when ``ACCELERATED``."""
    assert orjson is not None
    return orjson.loads(data)


def loads(data: bytes | str) -> Any:
    """Parse one JSON document; ``ValueError`` when it is not one."""
    if orjson is not None:
        try:
            return orjson.loads(data)
        except ValueError:  # orjson.JSONDecodeError; the standard library is more lenient (NaN)
            pass
    return json.loads(data)
