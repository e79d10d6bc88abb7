"""Scrub secrets before anything leaves the process. Pure.

Values of ``overrides.containerOverrides[].environment`` (RunTask-time values, often credentials) and
of any key whose name looks secret become ``[REDACTED]``; names stay so the shape is still readable.
"""

from __future__ import annotations

import re
from typing import Any

REDACTED = "[REDACTED]"
_SECRET_KEY = re.compile(r"secret|token|passw(?:or)?d|api[_-]?key|credential|private[_-]?key", re.IGNORECASE)


def looks_secret(name: str) -> bool:
    """True for key names like ``DB_PASSWORD``, ``apiKey``, ``client_secret``, ``privateKey``."""
    return bool(_SECRET_KEY.search(name))


def _redact_environment(entries: Any) -> Any:
    if not isinstance(entries, list):
        return REDACTED if entries is not None else None
    out: list[Any] = []
    for entry in entries:
        if isinstance(entry, dict):
            out.append({k: (REDACTED if k == "value" else redact(v)) for k, v in entry.items()})
        else:
            out.append(REDACTED)
    return out


def redact(value: Any) -> Any:
    """A copy of ``value`` with secrets replaced. Never mutates its input."""
    if isinstance(value, dict):
        out: dict[Any, Any] = {}
        for key, item in value.items():
            if isinstance(key, str) and key == "environment":
                out[key] = _redact_environment(item)
            elif isinstance(key, str) and looks_secret(key) and item is not None:
                out[key] = REDACTED
            else:
                out[key] = redact(item)
        # {"name": "DB_PASSWORD", "value": "..."} pairs anywhere (e.g. environment files, secrets lists).
        name = out.get("name")
        if isinstance(name, str) and "value" in out and looks_secret(name):
            out["value"] = REDACTED
        return out
    if isinstance(value, list):
        return [redact(item) for item in value]
    return value
