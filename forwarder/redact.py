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


def redact(value: Any) -> Any:
    """A copy of ``value`` with secrets replaced. Never mutates its input; any depth (no recursion).

    - ``environment`` (an ECS override list): every entry's ``value`` -> ``[REDACTED]``; an entry
      that is not an object, or an ``environment`` that is not a list, is replaced whole;
    - a key whose name looks secret, with a non-null value -> ``[REDACTED]``;
    - ``{"name": "DB_PASSWORD", "value": ...}`` pairs anywhere -> the value is ``[REDACTED]``.
    """
    root: list[Any] = [None]
    # (source, the container to write into, the key or index there, inside an environment list)
    stack: list[tuple[Any, Any, Any, bool]] = [(value, root, 0, False)]
    while stack:
        source, parent, slot, env_entry = stack.pop()
        if isinstance(source, dict):
            out: dict[Any, Any] = {}
            parent[slot] = out
            name = source.get("name")
            pair_is_secret = isinstance(name, str) and looks_secret(name)
            for key, item in source.items():
                if key == "value" and (env_entry or pair_is_secret):
                    out[key] = REDACTED
                elif key == "environment" and isinstance(key, str):
                    if isinstance(item, list):
                        entries: list[Any] = [None] * len(item)
                        out[key] = entries
                        for index, entry in enumerate(item):
                            if isinstance(entry, dict):
                                stack.append((entry, entries, index, True))
                            else:
                                entries[index] = REDACTED
                    else:
                        out[key] = None if item is None else REDACTED
                elif isinstance(key, str) and looks_secret(key) and item is not None:
                    out[key] = REDACTED
                else:
                    out[key] = None
                    stack.append((item, out, key, False))
        elif isinstance(source, list):
            copy: list[Any] = [None] * len(source)
            parent[slot] = copy
            stack.extend((item, copy, index, False) for index, item in enumerate(source))
        else:
            parent[slot] = source
    return root[0]
