"""The Lambda artifact: traced module list, pure Python, reproducible, and a smoke test of the zip."""

from __future__ import annotations

import hashlib
import json
import marshal
import os
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest

from forwarder.package import (
    MANIFEST,
    OPTIONAL,
    RUNTIME_PROVIDED,
    RUNTIMES,
    PackageError,
    build,
    find_interpreter,
    listed_modules,
)
from tests.aws import MotoServer
from tests.fixtures import stopped_events
from tests.intakes import DatadogIntake, NewRelicIntake
from tests.lambda_child import CHILD, lambda_runtime

ROOT = Path(__file__).resolve().parent.parent
SITE = Path(__import__("httpx").__file__).resolve().parent.parent  # this venv's site-packages


def child(config: dict[str, Any], env: dict[str, str] | None = None, python: str = sys.executable) -> dict[str, Any]:
    environ = env if env is not None else dict(os.environ)
    proc = subprocess.run(
        [python, "-S", "-E", str(CHILD)], input=json.dumps(config), capture_output=True, text=True,
        env={**environ, "PYTHONDONTWRITEBYTECODE": "1"}, check=False, timeout=240,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.splitlines()[-1])


@pytest.fixture
def world(aws: MotoServer) -> Any:
    """Moto with a bucket, a Secrets Manager key and an SSM key; both intakes; the handler's env."""
    aws.client("s3").create_bucket(Bucket="artifact-archive")
    arn = aws.client("secretsmanager").create_secret(Name="dd", SecretString='{"api_key": "dd-k"}')["ARN"]
    aws.client("ssm").put_parameter(Name="/nr/key", Value="nr-k", Type="SecureString")
    with DatadogIntake(valid_keys={"dd-k"}) as dd, NewRelicIntake(valid_keys={"nr-k"}) as nr:
        env = {**aws.environ(), "FORWARDER_DESTINATIONS": "datadog,newrelic", "DD_API_KEY_SECRET_ARN": arn,
               "DD_LOGS_URL": dd.url, "NEW_RELIC_LICENSE_KEY_SSM_PARAMETER": "/nr/key",
               "NEW_RELIC_LOGS_URL": nr.url, "ARCHIVE_BUCKET": "artifact-archive"}  # fmt: skip
        yield env, dd, nr


def test_traced_modules_match_the_list(world: Any) -> None:
    """The list the build uses is what the handler really imports (UPDATE_LAMBDA_MODULES=1 rewrites it)."""
    env, dd, _ = world
    answer = child({"path": [str(ROOT), str(SITE)], "env": env, "events": stopped_events()[:3]})
    assert all(r.get("deliveries") == {"datadog": "delivered", "newrelic": "delivered"} for r in answer["results"]), answer
    traced = sorted(m for m in set(answer["modules"]) - RUNTIME_PROVIDED - OPTIONAL if not m.startswith("_"))
    if os.environ.get("UPDATE_LAMBDA_MODULES"):
        path = ROOT / "forwarder" / "lambda-modules.txt"
        header = [line for line in path.read_text().splitlines() if line.startswith("#")]
        path.write_text("\n".join([*header, *traced]) + "\n")
    assert traced == sorted(listed_modules())
    assert "datadog_api_client" not in traced and "httpx" not in traced  # vendors through urllib3
    assert len(dd.accepted) == 3


def runtime_python(runtime: str) -> str:
    """The runtime's interpreter; a skip saying how to get it, except in CI, where it must be here."""
    try:
        return find_interpreter(runtime)
    except PackageError as exc:
        if os.environ.get("CI"):
            raise
        pytest.skip(str(exc))


def read_only(folder: Path) -> None:
    for path in [*folder.rglob("*"), folder]:
        path.chmod(path.stat().st_mode & ~0o222)


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_the_artifact_delivers_every_fixture_with_only_boto3_beside_it(
    world: Any, tmp_path: Path, runtime: str
) -> None:
    """The zip as Lambda runs it: on the runtime's Python, unpacked on a read-only folder, no
    bytecode written, only boto3 and its dependencies beside it; every fixture delivered."""
    env, dd, nr = world
    python = runtime_python(runtime)
    artifact = build(tmp_path / "lambda.zip", runtime=runtime)
    unpacked = tmp_path / "task"
    with zipfile.ZipFile(artifact.path) as archive:
        archive.extractall(unpacked)
        names = archive.namelist()
        manifest = json.loads(archive.read(MANIFEST))
    assert not any(name.endswith((".so", ".pyd")) for name in names)
    assert not any(name.split("/")[0] in RUNTIME_PROVIDED | {"datadog_api_client", "orjson", "tests"} for name in names)
    tag = f"cpython-{runtime.removeprefix('python').replace('.', '')}"
    sources = [n for n in names if n.endswith(".py")]
    pycs = {n for n in names if n.endswith(".pyc")}
    assert all(f"{n.rpartition('/')[0]}/__pycache__/{n.rpartition('/')[2][:-3]}.{tag}.pyc" in pycs for n in sources)
    assert manifest["runtime"] == runtime and manifest["pyc"] == len(pycs) == artifact.pycs
    assert json.loads((tmp_path / "lambda.zip.json").read_text()) == manifest  # beside it, for Terraform
    read_only(unpacked)
    runtime_folder = lambda_runtime(SITE, tmp_path / "runtime")
    events = stopped_events()
    answer = child({"path": [str(unpacked), str(runtime_folder)], "env": env, "events": events,
                    "bytecode_of": "forwarder.handler"}, python=python)  # fmt: skip
    assert [r.get("deliveries") for r in answer["results"]] == [{"datadog": "delivered", "newrelic": "delivered"}] * len(events)
    assert [f for f in answer["files"] if f and str(unpacked) not in f and str(runtime_folder) not in f] == []
    assert answer["python"] == runtime.removeprefix("python")
    assert answer["bytecode_of"].endswith(f"forwarder/__pycache__/handler.{tag}.pyc")  # the zip's, not compiled now
    assert len(dd.accepted) == len(nr.accepted) == len(events)


def test_the_build_is_reproducible(tmp_path: Path) -> None:
    python = runtime_python("python3.12")
    assert python
    first = build(tmp_path / "a.zip").path.read_bytes()
    os.utime(ROOT / "forwarder" / "model.py")  # a touched file must not change the bytes
    second = build(tmp_path / "b.zip").path.read_bytes()
    assert hashlib.sha256(first).digest() == hashlib.sha256(second).digest()
    with zipfile.ZipFile(tmp_path / "a.zip") as archive:
        code = marshal.loads(archive.read("forwarder/__pycache__/handler.cpython-312.pyc")[16:])
    assert code.co_filename == "/var/task/forwarder/handler.py"  # tracebacks name Lambda's path


def test_a_source_only_zip_is_asked_for_and_says_so(tmp_path: Path) -> None:
    artifact = build(tmp_path / "src.zip", runtime=None)
    with zipfile.ZipFile(artifact.path) as archive:
        assert not any(name.endswith(".pyc") for name in archive.namelist())
        assert json.loads(archive.read(MANIFEST))["runtime"] is None
    assert "sources only" in artifact.describe()


def test_a_missing_runtime_python_fails_with_how_to_get_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setenv("PYENV_ROOT", str(tmp_path))
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("LAMBDA_PYTHON", raising=False)
    (tmp_path / "python3.13").write_text("#!/bin/sh\necho 3.11\n")  # on PATH, but the wrong version
    (tmp_path / "python3.13").chmod(0o755)
    with pytest.raises(PackageError, match=r"no Python 3\.13 .*pyenv install 3\.13.*LAMBDA_PYTHON.*--source-only"):
        build(tmp_path / "x.zip", runtime="python3.13")
    assert not (tmp_path / "x.zip").exists()


def test_a_compiled_extension_or_a_missing_module_fails_the_build(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    package = tmp_path / "fastthing"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "_speedups.cpython-311-x86_64-linux-gnu.so").write_bytes(b"\x7fELF")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(PackageError, match=r"fastthing/_speedups.*compiled extension"):
        build(tmp_path / "x.zip", ["fastthing"], runtime=None)
    with pytest.raises(PackageError, match="'not_installed_anywhere' is needed by the handler but is not installed"):
        build(tmp_path / "y.zip", ["not_installed_anywhere"], runtime=None)


def test_importing_the_handler_does_no_io(aws: MotoServer) -> None:
    env = {"DD_API_KEY_SECRET_ARN": "arn:aws:secretsmanager:us-east-1:123456789012:secret:x-AbCdEf",
           "FORWARDER_DESTINATIONS": "datadog", "ARCHIVE_BUCKET": "nowhere"}  # fmt: skip
    answer = child({"path": [str(ROOT), str(SITE)], "env": env, "events": [], "block_network": True})
    assert answer == {"imported": True, "runtime_built": 0}
