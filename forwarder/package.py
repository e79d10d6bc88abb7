"""Build the Lambda artifact: ``forwarder`` plus the third-party modules its handler imports.

The module list (``lambda-modules.txt`` beside this file) is derived by tracing what the handler
imports while it delivers to both vendors (``tests/test_package.py`` keeps it true). Left out:
what the Lambda Python runtime already provides (boto3, botocore and their dependencies), CLI-only
packages, caches and tests. The build fails when a listed module is not installed, or when a
compiled extension would make the zip architecture-specific: one pure-Python zip serves arm64 and
x86_64. The zip is reproducible: sorted entries, fixed timestamps and permissions.
"""

from __future__ import annotations

import importlib.util
import zipfile
from collections.abc import Iterator
from importlib import resources
from pathlib import Path

from forwarder.errors import ForwarderError

#: Imported by the handler but provided by the Lambda runtime.
RUNTIME_PROVIDED = frozenset({"boto3", "botocore", "s3transfer", "jmespath", "dateutil", "six", "urllib3"})
#: Imported when installed, not needed: orjson and isal (compiled accelerators; the standard
#: library's json and zlib serve) and httpx's optional command-line extras.
OPTIONAL = frozenset({"orjson", "isal", "click", "pygments", "rich"})
COMPILED_SUFFIXES = (".so", ".pyd", ".dylib", ".dll")
_SKIP_DIRS = frozenset({"__pycache__", "tests", "test"})
_FIXED_TIME = (1980, 1, 1, 0, 0, 0)


class PackageError(ForwarderError):
    """The artifact cannot be built as promised (a module missing, a compiled extension)."""


def listed_modules() -> list[str]:
    text = (resources.files("forwarder") / "lambda-modules.txt").read_text()
    return [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")]


def _files(name: str) -> Iterator[tuple[Path, str]]:
    """(file, path inside the zip) for an importable top-level module or package."""
    spec = importlib.util.find_spec(name)
    if spec is None or spec.origin is None:
        raise PackageError(f"module {name!r} is needed by the handler but is not installed")
    origin = Path(spec.origin)
    if spec.submodule_search_locations:  # a package: every file under it
        root = origin.parent
        for path in sorted(root.rglob("*")):
            relative = path.relative_to(root.parent)
            if path.is_file() and not _SKIP_DIRS & set(relative.parts) and path.suffix != ".pyc":
                yield path, relative.as_posix()
    else:
        yield origin, origin.name


def build(out: str | Path, modules: list[str] | None = None) -> Path:
    """Write the zip to ``out``; returns its path."""
    names = ["forwarder", *(modules if modules is not None else listed_modules())]
    entries: dict[str, Path] = {}
    for name in names:
        if name in RUNTIME_PROVIDED:
            continue
        for path, arcname in _files(name):
            if path.name.endswith(COMPILED_SUFFIXES) or ".cpython-" in path.name:
                raise PackageError(
                    f"{arcname} is a compiled extension: the artifact must be pure Python "
                    "(one zip for arm64 and x86_64)"
                )
            entries[arcname] = path
    target = Path(out)
    target.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for arcname in sorted(entries):
            info = zipfile.ZipInfo(arcname, date_time=_FIXED_TIME)
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, entries[arcname].read_bytes(), compresslevel=9)
    return target
