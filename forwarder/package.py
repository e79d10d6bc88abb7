"""Build the Lambda artifact: ``forwarder`` plus the third-party modules its handler imports.

The module list (``lambda-modules.txt`` beside this file) is derived by tracing what the handler
imports while it delivers to both vendors (``tests/test_package.py`` keeps it true); the replay
worker, the zip's second entry point, imports nothing beyond it (``tests/test_worker_artifact.py``). Left out:
what the Lambda Python runtime already provides (boto3, botocore and their dependencies), CLI-only
packages, caches and tests. The build fails when a listed module is not installed, or when a
compiled extension would make the zip architecture-specific: one pure-Python zip serves arm64 and
x86_64. The zip is reproducible: sorted entries, fixed timestamps and permissions.

Lambda runs the function's code from a read-only directory and writes no bytecode, so a zip of
sources is compiled at every cold start. The zip carries bytecode compiled by the same minor
Python as the function's runtime (``unchecked-hash`` pycs: valid whatever the files' timestamps,
and the same bytes twice), found as ``python3.X`` on PATH, ``LAMBDA_PYTHON``, or a pyenv install.
``lambda-artifact.json`` in the zip, and beside it as ``<zip>.json`` for Terraform, records the
runtime it was built for.
"""

from __future__ import annotations

import glob
import importlib.util
import json
import os
import shutil
import subprocess
import tempfile
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from forwarder import __version__
from forwarder.errors import ForwarderError

#: Imported by the handler but provided by the Lambda runtime.
RUNTIME_PROVIDED = frozenset({"boto3", "botocore", "s3transfer", "jmespath", "dateutil", "six", "urllib3"})
#: Imported when installed, not needed: orjson, msgspec and isal (compiled accelerators, of JSON,
#: of this tool's archive documents (the replay worker reads them) and of gzip; the standard
#: library's json and zlib serve) and certifi (botocore uses its own CA bundle without it).
OPTIONAL = frozenset({"orjson", "msgspec", "isal", "certifi"})
COMPILED_SUFFIXES = (".so", ".pyd", ".dylib", ".dll")
RUNTIMES = ("python3.12", "python3.13")
DEFAULT_RUNTIME = "python3.12"
MANIFEST = "lambda-artifact.json"
#: Where Lambda unpacks the function: the path tracebacks name.
TASK_ROOT = "/var/task"
_SKIP_DIRS = frozenset({"__pycache__", "tests", "test"})
_FIXED_TIME = (1980, 1, 1, 0, 0, 0)
_COMPILE = """
import compileall, py_compile, sys
ok = compileall.compile_dir(sys.argv[1], quiet=1, ddir=sys.argv[2], workers=1,
                            invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH)
sys.exit(0 if ok else 1)
"""


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


@dataclass(frozen=True)
class Artifact:
    path: Path
    runtime: str | None  # None: sources only
    pycs: int
    size: int

    def describe(self) -> str:
        python = (
            f"{self.runtime}, {self.pycs} pyc"
            if self.runtime
            else "sources only (compiled at each cold start)"
        )
        return f"{self.path}  {self.size / 1e6:.2f} MB  {python}"


def find_interpreter(runtime: str) -> str:
    """The interpreter of ``runtime``'s minor version: ``LAMBDA_PYTHON``, ``python3.X`` on PATH,
    else a pyenv install (``PYENV_ROOT``, else ``~/.pyenv``); each is asked its version."""
    version = runtime.removeprefix("python")
    roots = [os.environ.get("PYENV_ROOT"), str(Path.home() / ".pyenv")]
    candidates = [os.environ.get("LAMBDA_PYTHON"), shutil.which(runtime)]
    for root in dict.fromkeys(r for r in roots if r):
        candidates += sorted(
            glob.glob(os.path.join(root, "versions", f"{version}.*", "bin", runtime)), reverse=True
        )
    for candidate in dict.fromkeys(c for c in candidates if c):
        try:
            answer = subprocess.run(
                [candidate, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                capture_output=True, text=True, timeout=30, check=False,
            )  # fmt: skip
        except OSError:
            continue
        if answer.returncode == 0 and answer.stdout.strip() == version:
            return candidate
    raise PackageError(
        f"no Python {version} to compile the {runtime} artifact's bytecode: install it (pyenv install "
        f"{version}, or your system's python{version} package), put {runtime} on PATH or set LAMBDA_PYTHON "
        "to it; or build a zip of sources only with --source-only (slower cold starts)"
    )


def build(
    out: str | Path, modules: list[str] | None = None, *, runtime: str | None = DEFAULT_RUNTIME
) -> Artifact:
    """Write the zip to ``out`` (and its manifest beside it); ``runtime=None`` for sources only."""
    if runtime is not None and runtime not in RUNTIMES:
        raise PackageError(f"runtime must be one of {', '.join(RUNTIMES)}, got {runtime!r}")
    interpreter = find_interpreter(runtime) if runtime else None
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
    with tempfile.TemporaryDirectory(prefix="lambda-artifact-") as scratch:
        files = _stage(entries, Path(scratch), interpreter)
        pycs = sum(1 for name in files if name.endswith(".pyc"))
        manifest = {"schema": "ecs-stop-forwarder/lambda-artifact/v1", "version": __version__,
                    "runtime": runtime, "python": runtime.removeprefix("python") if runtime else None,
                    "bytecode": "unchecked-hash" if runtime else None, "pyc": pycs}  # fmt: skip
        text = json.dumps(manifest, indent=2, sort_keys=True) + "\n"
        files[MANIFEST] = text.encode()
        target = Path(out)
        target.parent.mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
            for arcname in sorted(files):
                info = zipfile.ZipInfo(arcname, date_time=_FIXED_TIME)
                info.external_attr = 0o644 << 16
                info.compress_type = zipfile.ZIP_DEFLATED
                archive.writestr(info, files[arcname], compresslevel=9)
    target.with_name(target.name + ".json").write_text(text)
    return Artifact(target, runtime, pycs, target.stat().st_size)


def _stage(entries: dict[str, Path], scratch: Path, interpreter: str | None) -> dict[str, bytes]:
    """The zip's files by name: the sources, and with ``interpreter`` their bytecode, compiled
    for ``/var/task``, in ``__pycache__`` as that Python looks for it."""
    for arcname, path in entries.items():
        staged = scratch / arcname
        staged.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, staged)
    if interpreter is not None:
        compiled = subprocess.run([interpreter, "-c", _COMPILE, str(scratch), TASK_ROOT],
                                  capture_output=True, text=True, timeout=600, check=False)  # fmt: skip
        if compiled.returncode != 0:
            raise PackageError(f"{interpreter} could not compile the artifact: {compiled.stdout[-2000:]}")
    return {
        path.relative_to(scratch).as_posix(): path.read_bytes()
        for path in scratch.rglob("*")
        if path.is_file()
    }
