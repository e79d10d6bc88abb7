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


# Secrets in free text (container log lines). Each pattern keeps what names the secret and
# replaces the value: a reader still sees that a password was in the line, never which.
_TEXT_SECRETS: tuple[tuple[re.Pattern[str], str], ...] = (
    # PEM private key blocks (or their first line, when the block is cut)
    (
        re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?(?:-----END [A-Z ]*PRIVATE KEY-----|$)", re.S),
        REDACTED,
    ),
    # Authorization headers: "Authorization: Bearer xyz", "authorization=Basic xyz"
    (
        re.compile(r"(?i)(authorization[\"']?\s*[:=]\s*[\"']?(?:bearer|basic|token|digest)?\s*)[^\s\"',;]+"),
        r"\1" + REDACTED,
    ),
    # bare bearer tokens
    (re.compile(r"(?i)(\bbearer\s+)[A-Za-z0-9._~+/=-]{8,}"), r"\1" + REDACTED),
    # credentials in URLs: scheme://user:password@host
    (re.compile(r"([a-z][a-z0-9+.-]*://[^\s:/@]*:)[^\s@/]+@", re.I), r"\1" + REDACTED + "@"),
    # JSON web tokens
    (re.compile(r"\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*"), REDACTED),
    # AWS access key ids
    (re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"), REDACTED),
    # name=value / "name": "value" where the name looks secret (password, token, api key, …)
    (
        re.compile(
            r"(?i)([\w.-]*(?:secret|token|passw(?:or)?d|pwd|api[_-]?key|credential|private[_-]?key|"
            r"access[_-]?key)[\w.-]*[\"']?\s*[:=]\s*[\"']?)([^\s\"',;&}]+)"
        ),
        r"\1" + REDACTED,
    ),
    # 40-character AWS secret access keys standing alone
    # (mixed case: a lower-case hex digest of 40 characters, a git commit, is left alone)
    (
        re.compile(
            r"(?<![A-Za-z0-9/+=])(?=[A-Za-z0-9/+]*[A-Z])(?=[A-Za-z0-9/+]*[a-z])[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+=])"
        ),
        REDACTED,
    ),
)


def redact_text(text: str) -> str:
    """``text`` with secret-looking values replaced by ``[REDACTED]``: private keys, Authorization
    headers and bearer tokens, passwords in URLs, JWTs, AWS access key ids and secret keys, and
    the value of any ``name=value`` / ``"name": "value"`` whose name looks secret."""
    for pattern, replacement in _TEXT_SECRETS:
        text = pattern.sub(replacement, text)
    return text
