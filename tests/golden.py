"""Approved outputs (tests/golden/): compared, and rewritten only on ``UPDATE_GOLDEN=1``.

An update that would drop a field the approved file has is refused: the record's field names are a
contract (add, never rename), and a golden rewritten by the code under test cannot catch a field the
code stopped writing. A field that really must go is removed from the golden file by hand, in a
reviewed diff.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest


def field_paths(value: Any, path: str = "") -> Iterator[str]:
    """Every object key, as a dotted path (list items share their list's path)."""
    if isinstance(value, dict):
        for key, item in value.items():
            name = f"{path}.{key}" if path else str(key)
            yield name
            yield from field_paths(item, name)
    elif isinstance(value, list):
        for item in value:
            yield from field_paths(item, path + "[]")


def dropped_fields(approved: Any, new: Any) -> list[str]:
    return sorted(set(field_paths(approved)) - set(field_paths(new)))


def check_golden(path: Path, value: Any) -> None:
    if os.environ.get("UPDATE_GOLDEN"):
        if path.exists():
            dropped = dropped_fields(json.loads(path.read_text()), value)
            if dropped:
                pytest.fail(f"refusing to update {path.name}: it would drop {', '.join(dropped)} (add, never rename)")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(value, indent=2, ensure_ascii=False) + "\n")
    assert value == json.loads(path.read_text())
