"""The replay worker is the Lambda zip's second entry point: it imports nothing the forwarder's
handler does not (``forwarder/lambda-modules.txt``, traced from the handler), and it runs from the
zip with only boto3 beside it, on the runtime's Python: no orjson, msgspec or isal."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

import pytest

from forwarder.package import OPTIONAL, RUNTIME_PROVIDED, build, listed_modules
from tests.aws import MotoServer
from tests.intakes import DatadogIntake, NewRelicIntake
from tests.lambda_child import lambda_runtime
from tests.scale_archive import batch_input, items, put_archive
from tests.test_package import ROOT, SITE, child, read_only, runtime_python


@pytest.fixture
def world(aws: MotoServer) -> Any:
    """An archive of both formats in moto, the keys in Secrets Manager and SSM, both intakes."""
    s3 = aws.client("s3")
    written = put_archive(s3, documents=120, firehose_objects=8, per_object=10)
    arn = aws.client("secretsmanager").create_secret(Name="dd", SecretString='{"api_key": "dd-k"}')["ARN"]
    aws.client("ssm").put_parameter(Name="/nr/key", Value="nr-k", Type="SecureString")
    with DatadogIntake(valid_keys={"dd-k"}) as dd, NewRelicIntake(valid_keys={"nr-k"}) as nr:
        env = {**aws.environ(), "DD_API_KEY_SECRET_ARN": arn, "DD_LOGS_URL": dd.url,
               "NEW_RELIC_LICENSE_KEY_SSM_PARAMETER": "/nr/key", "NEW_RELIC_LOGS_URL": nr.url}  # fmt: skip
        event = {"Items": items(s3), "BatchInput": batch_input(["datadog", "newrelic"])}
        yield env, event, written, dd, nr


def test_the_worker_imports_nothing_beyond_the_handlers_list(world: Any) -> None:
    env, event, written, dd, _ = world
    answer = child({"path": [str(ROOT), str(SITE)], "env": env, "events": [event],
                    "module": "forwarder.replay_worker", "remaining_ms": 60_000})  # fmt: skip
    [result] = answer["results"]
    assert result.get("sent") == {"datadog": len(written.ids), "newrelic": len(written.ids)}, result
    # typing_extensions comes with msgspec (an optional accelerator, not in the zip): the test
    # below runs the worker from the zip, where neither is.
    accelerators = OPTIONAL | {"typing_extensions"}
    traced = {m for m in set(answer["modules"]) - RUNTIME_PROVIDED - accelerators if not m.startswith("_")}
    assert traced <= set(listed_modules()), f"the worker needs {sorted(traced - set(listed_modules()))}"
    assert len(dd.accepted) == len(written.ids)


def test_importing_the_worker_does_no_io(aws: MotoServer) -> None:
    env = {"DD_API_KEY_SECRET_ARN": "arn:aws:secretsmanager:us-east-1:123456789012:secret:x-AbCdEf"}
    answer = child({"path": [str(ROOT), str(SITE)], "env": env, "events": [], "block_network": True,
                    "module": "forwarder.replay_worker"})  # fmt: skip
    assert answer == {"imported": True, "runtime_built": 0}


def test_the_worker_runs_from_the_zip_with_only_boto3_beside_it(world: Any, tmp_path: Path) -> None:
    env, event, written, dd, nr = world
    python = runtime_python("python3.12")
    artifact = build(tmp_path / "lambda.zip", runtime="python3.12")
    unpacked = tmp_path / "task"
    with zipfile.ZipFile(artifact.path) as archive:
        archive.extractall(unpacked)
        assert not any(name.split("/")[0] in {"orjson", "msgspec", "isal"} for name in archive.namelist())
    read_only(unpacked)
    runtime_folder = lambda_runtime(SITE, tmp_path / "runtime")
    answer = child({"path": [str(unpacked), str(runtime_folder)], "env": env, "events": [event],
                    "module": "forwarder.replay_worker", "remaining_ms": 60_000,
                    "bytecode_of": "forwarder.replay_worker"}, python=python)  # fmt: skip
    [result] = answer["results"]
    assert result.get("sent") == {"datadog": len(written.ids), "newrelic": len(written.ids)}, result
    assert result["corrupt_count"] == 1  # read by the standard library's json, as exactly
    assert [f for f in answer["files"] if f and str(unpacked) not in f and str(runtime_folder) not in f] == []
    assert answer["bytecode_of"].endswith("forwarder/__pycache__/replay_worker.cpython-312.pyc")
    assert sorted(log["ecs_stop"]["event_id"] for log in dd.accepted) == written.ids
    assert sorted(log["event_id"] for log in nr.accepted) == written.ids
    assert json.loads(json.dumps(result))["schema"] == "ecs-stop-forwarder/replay-batch/v1"
