"""The lambda-forwarder module's refusals (issue #20: the package's runtime, SnapStart) say what is
wrong and what to do, word for word.

``terraform test`` proves that a run fails (``expect_failures``) but not with which message, and it
skips the rest of a file after a run that errors. So each case here is one file with one run and no
``expect_failures``, written into a scratch copy of the module; one ``terraform test -json`` runs
them all, and each file must end with exactly the precondition message expected of it.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.infra.tf import Terraform, copy_infra

pytestmark = pytest.mark.slow

MOCK = """\
mock_provider "aws" {
  mock_data "aws_partition" {
    defaults = { partition = "aws" }
  }
  mock_data "aws_region" {
    defaults = { name = "us-east-1" }
  }
  mock_data "aws_caller_identity" {
    defaults = { account_id = "123456789012" }
  }
}
"""

FIXTURES = "tests/fixtures"

#: case -> (the run's variables, the exact message the plan must fail with)
CASES: dict[str, tuple[dict[str, object], str]] = {
    "manifest_312_on_runtime_313": (
        {"package_path": f"{FIXTURES}/python3.12/lambda.zip", "runtime": "python3.13"},
        "The package was built for python3.12 (its bytecode is compiled by that Python) but runtime "
        "is python3.13, which would ignore that bytecode and compile every module at each cold "
        'start: rebuild it with `RUNTIME=python3.13 make package`, or set runtime = "python3.12".',
    ),
    "manifest_313_on_runtime_312": (
        {"package_path": f"{FIXTURES}/python3.13/lambda.zip"},
        "The package was built for python3.13 (its bytecode is compiled by that Python) but runtime "
        "is python3.12, which would ignore that bytecode and compile every module at each cold "
        'start: rebuild it with `RUNTIME=python3.12 make package`, or set runtime = "python3.13".',
    ),
    "no_manifest_beside_the_zip": (
        {"package_path": f"{FIXTURES}/without-manifest/lambda.zip"},
        f"No package manifest at {FIXTURES}/without-manifest/lambda.zip.json: build the zip with "
        "`RUNTIME=python3.12 make package`, which writes dist/lambda.zip and its manifest "
        "dist/lambda.zip.json; or set package_manifest_path, or verify_package_runtime = false for "
        "a zip built without one.",
    ),
    "not_a_manifest": (
        {"package_path": f"{FIXTURES}/not-a-manifest/lambda.zip"},
        f"{FIXTURES}/not-a-manifest/lambda.zip.json is not a manifest written by `make package` (it "
        'needs "runtime": a Lambda Python runtime, or null for sources only): rebuild the zip with '
        "`RUNTIME=python3.12 make package`.",
    ),
    "package_s3_without_a_manifest": (
        {"package_s3": {"bucket": "artifacts", "key": "lambda.zip"}},
        "package_s3 is set, so there is no local zip to find a manifest beside: set "
        "package_manifest_path to the manifest `make package` wrote beside the zip you uploaded "
        "(dist/lambda.zip.json), or verify_package_runtime = false to deploy without the runtime "
        "check.",
    ),
    "snap_start_with_more_than_512_mb_of_ephemeral_storage": (
        {"package_path": f"{FIXTURES}/lambda.zip", "snap_start": True, "ephemeral_storage_size": 1024},
        "snap_start = true with ephemeral_storage_size = 1024: Lambda SnapStart does not support "
        "ephemeral storage above 512 MB. Set ephemeral_storage_size = 512, or snap_start = false.",
    ),
}


def _hcl(value: object) -> str:
    """A Terraform literal for a JSON-like value (JSON's syntax is valid HCL for these)."""
    return json.dumps(value)


def _test_file(variables: dict[str, object]) -> str:
    assignments = "\n".join(f"    {name} = {_hcl(value)}" for name, value in variables.items())
    return (
        f'{MOCK}\nvariables {{\n  destinations = ["stdout"]\n}}\n\n'
        f'run "refused" {{\n  command = plan\n\n  variables {{\n{assignments}\n  }}\n}}\n'
    )


@pytest.fixture(scope="module")
def outcomes(terraform: Terraform, tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[str]]:
    """Each case's run status and error details, from one ``terraform test -json``."""
    module = copy_infra(tmp_path_factory.mktemp("messages")) / "modules" / "lambda-forwarder"
    cases = module / "messages"
    cases.mkdir()
    for name, (variables, _) in CASES.items():
        (cases / f"{name}.tftest.hcl").write_text(_test_file(variables))
    terraform.init(module)
    out = terraform.run(module, "test", "-json", "-no-color", "-test-directory=messages", check=False)
    found: dict[str, list[str]] = {name: [] for name in CASES}
    for line in out.splitlines():
        try:
            item = json.loads(line)
        except json.JSONDecodeError:
            continue
        name = Path(item.get("@testfile", "")).name.removesuffix(".tftest.hcl")
        if name not in found:
            continue
        if item.get("type") == "diagnostic" and item["diagnostic"]["severity"] == "error":
            found[name].append(item["diagnostic"]["detail"])
        elif item.get("type") == "test_run" and item["test_run"].get("progress") == "complete":
            found[name].append(f"status:{item['test_run']['status']}")
    return found


@pytest.mark.parametrize("case", sorted(CASES))
def test_refusal_message(outcomes: dict[str, list[str]], case: str) -> None:
    _, message = CASES[case]
    # The run errored (it did not pass, nor fail an assertion), with this one error and no other.
    assert sorted(outcomes[case]) == sorted([message, "status:error"]), outcomes[case]
