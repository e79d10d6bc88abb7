"""The replay-at-scale state machine: generated from ``forwarder/scale/definition.py`` (the file in
the module is never stale), checked by a real Amazon States Language validator (the npm
``asl-validator``, installed by ``make node-tools``), and shaped as the issue asks."""

from __future__ import annotations

import copy
import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from forwarder.scale.definition import (
    EXPRESS_SECONDS,
    MAX_INPUT_BYTES,
    NOT_RETRIED,
    PLACEHOLDERS,
    RETRIED,
    TEMPLATE,
    WORKER_RETRY,
    WORKER_TIMEOUT_MAX,
    definition,
    render,
    template,
    worst_case_seconds,
)
from tests.scale_archive import batch_input

ROOT = Path(__file__).resolve().parent.parent
VALIDATOR = ROOT / "node_modules" / ".bin" / "asl-validator"


def test_the_module_template_is_what_the_code_generates() -> None:
    assert (ROOT / TEMPLATE).read_text() == template(), "stale: run `make state-machine` and commit the file"


def validate(document: dict[str, Any] | str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    """asl-validator over ``document`` (a dict, or a file's text), as npx runs it."""
    npx = shutil.which("npx")
    if npx is None or not VALIDATOR.exists():
        why = "npx is not on PATH" if npx is None else "node_modules has no asl-validator: run `make node-tools`"
        if os.environ.get("CI"):
            pytest.fail(f"{why}; CI must run the Amazon States Language validator")
        pytest.skip(f"{why} (the definition is not validated here; CI fails instead)")
    path = tmp_path / "definition.json"
    path.write_text(document if isinstance(document, str) else json.dumps(document))
    return subprocess.run([npx, "--no-install", "asl-validator", "--json-path", str(path)],
                          capture_output=True, text=True, timeout=120, cwd=ROOT, check=False)  # fmt: skip


def test_the_validator_accepts_the_template_and_the_definition_the_module_renders(tmp_path: Path) -> None:
    for document in ((ROOT / TEMPLATE).read_text(), render()):
        answer = validate(document, tmp_path)
        assert answer.returncode == 0, answer.stdout + answer.stderr


def _batcher_type(d: dict[str, Any]) -> None:
    batcher = d["States"]["ReplayBatches"]["ItemBatcher"]
    del batcher["MaxItemsPerBatchPath"]
    batcher["MaxItemsPerBatch"] = "500"


@pytest.mark.parametrize(
    ("break_it", "said"),
    [
        (_batcher_type, "MaxItemsPerBatch is invalid. must be integer"),
        (lambda d: d["States"]["ReplayBatches"].update(MaxConcurency=5), "must match exactly one schema"),
        (lambda d: d["States"]["Advance"].update(Next="MorePrefix"), "Missing 'StartAt'|'Next'|'Default' target: MorePrefix"),
        (lambda d: d["States"]["ReplayBatches"]["ItemBatcher"].update(MaxInputBytesPerBatch=300_000), "must be <= 262144"),
    ],
    ids=["wrong-itembatcher-type", "unknown-field", "dangling-next", "batch-over-256-kib"],
)
def test_the_validator_refuses_what_step_functions_would(break_it: Any, said: str, tmp_path: Path) -> None:
    broken = copy.deepcopy(render())
    break_it(broken)
    answer = validate(broken, tmp_path)
    assert answer.returncode == 1 and said in answer.stdout + answer.stderr, answer.stdout + answer.stderr


def test_a_distributed_map_of_express_children_over_an_s3_listing() -> None:
    replay = render()["States"]["ReplayBatches"]
    assert replay["ItemProcessor"]["ProcessorConfig"] == {"Mode": "DISTRIBUTED", "ExecutionType": "EXPRESS"}
    assert replay["ItemReader"]["Resource"] == "arn:aws:states:::s3:listObjectsV2"
    assert replay["ItemReader"]["Parameters"] == {"Bucket.$": "$.module.archive_bucket", "Prefix.$": "$.current.prefix"}
    assert replay["ItemBatcher"]["MaxItemsPerBatchPath"] == "$.objects_per_batch"
    assert replay["ItemBatcher"]["MaxInputBytesPerBatch"] == MAX_INPUT_BYTES <= 256 * 1024
    assert replay["MaxConcurrencyPath"] == "$.control.settings.max_concurrency"
    assert replay["ToleratedFailurePercentagePath"] == "$.tolerated_failure_percentage"
    assert replay["ResultWriter"]["Resource"] == "arn:aws:states:::s3:putObject"
    task = replay["ItemProcessor"]["States"]["ReplayBatch"]
    assert task["Resource"] == "arn:aws:states:::lambda:invoke"
    assert task["Parameters"]["FunctionName"] == PLACEHOLDERS["worker_function_arn"]


def test_the_batch_input_is_what_the_worker_reads() -> None:
    given = definition()["States"]["ReplayBatches"]["ItemBatcher"]["BatchInput"]
    assert {name.removesuffix(".$") for name in given} == set(batch_input(["datadog"]))


def test_throttling_is_retried_with_full_jitter_and_permanent_failures_are_not() -> None:
    retries = definition()["States"]["ReplayBatches"]["ItemProcessor"]["States"]["ReplayBatch"]["Retry"]
    assert retries == WORKER_RETRY
    retried = {error for retry in retries for error in retry["ErrorEquals"]}
    assert set(RETRIED) <= retried and "Lambda.TooManyRequestsException" in retried
    assert not retried & {*NOT_RETRIED, "States.ALL", "States.TaskFailed"}
    assert all(retry["JitterStrategy"] == "FULL" and retry["BackoffRate"] > 1 for retry in retries)


def test_every_retry_fits_in_an_express_workflow() -> None:
    for retry in WORKER_RETRY:
        assert worst_case_seconds(WORKER_TIMEOUT_MAX, retry) <= EXPRESS_SECONDS, retry
    variables = (ROOT / "infra/modules/replay-at-scale/variables.tf").read_text()
    assert re.search(rf"var\.worker_timeout <= {WORKER_TIMEOUT_MAX}\b", variables), "the module bounds the timeout"


def test_every_placeholder_is_one_the_module_fills_in() -> None:
    used = set(re.findall(r"\$\{(\w+)\}", template()))
    assert used == set(PLACEHOLDERS)
    main = (ROOT / "infra/modules/replay-at-scale/main.tf").read_text()
    call = re.search(r"templatefile\(\"\$\{path\.module\}/state-machine\.asl\.json\", \{(.*?)\}\)", main, re.S)
    assert call is not None and set(re.findall(r"^\s*(\w+)\s*=", call.group(1), re.M)) == used


def test_the_emulator_cannot_create_the_state_machine_so_the_module_stays_out_of_its_apply(aws: Any) -> None:
    """The AWS provider plans ``aws_sfn_state_machine`` with ``ValidateStateMachineDefinition``,
    which moto does not implement (it answers 500, and the plan retries until it gives up), so
    ``tests/infra/moto_root`` does not apply ``replay-at-scale``. When this fails, moto has the
    call: add the module to the emulator's apply."""
    from botocore.exceptions import ClientError

    client = aws.client("stepfunctions", retries=False)
    with pytest.raises(ClientError) as raised:
        client.validate_state_machine_definition(definition=json.dumps(render()), type="STANDARD")
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 500
