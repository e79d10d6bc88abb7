"""Static checks of infra/: formatting, validate for every module and example, terraform test.

Offline: init reads the provider from the local mirror (see tests/infra/tf.py); the module
tests use ``mock_provider "aws"`` and need no credentials.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.infra.tf import INFRA_DIR, REPO_ROOT, Terraform, terraform_dirs

pytestmark = pytest.mark.slow

CONFIG_DIRS = [p.relative_to(INFRA_DIR) for p in terraform_dirs(INFRA_DIR)]
TESTED_MODULES = sorted(
    {p.parent.parent.relative_to(INFRA_DIR) for p in INFRA_DIR.rglob("tests/*.tftest.hcl")}
)
EXPECTED_MODULES = {
    "modules/archive-bucket",
    "modules/lambda-forwarder",
    "modules/firehose-fallback",
    "modules/cross-account-source",
    "modules/cross-account-source/modules/central-bus",
    "modules/replay-at-scale",
}
EXPECTED_EXAMPLES = {"lambda-datadog", "lambda-newrelic", "firehose-datadog", "complete", "replay-at-scale"}


def test_layout_has_every_module_and_example() -> None:
    dirs = {str(p) for p in CONFIG_DIRS}
    assert dirs >= EXPECTED_MODULES
    assert {f"examples/{name}" for name in EXPECTED_EXAMPLES} <= dirs
    for module in EXPECTED_MODULES:
        for name in ("main.tf", "variables.tf", "outputs.tf", "versions.tf", "README.md"):
            assert (INFRA_DIR / module / name).is_file(), f"{module}/{name} is missing"
        assert {str(p) for p in TESTED_MODULES} >= {module}, f"{module} has no tests/*.tftest.hcl"
    for example in EXPECTED_EXAMPLES:
        for name in ("main.tf", "versions.tf", "README.md"):
            assert (INFRA_DIR / "examples" / example / name).is_file(), (
                f"examples/{example}/{name} is missing"
            )


def test_fmt(terraform: Terraform) -> None:
    for directory in (INFRA_DIR, REPO_ROOT / "tests" / "infra"):
        terraform.run(directory, "fmt", "-check", "-recursive", "-diff", "-no-color")


POLICY_BLOCK = re.compile(r"<!-- policy: ([a-z_]+) -->\s*```json\n(.*?)\n```", re.S)


def test_readme_policies_are_the_tested_rendering() -> None:
    """The policy JSON shown in READMEs is what examples/complete's terraform test asserts."""
    rendered = json.loads((INFRA_DIR / "examples" / "complete" / "tests" / "policies.json").read_text())
    shown: dict[str, int] = {}
    for readme in sorted(INFRA_DIR.rglob("README.md")):
        for name, block in POLICY_BLOCK.findall(readme.read_text()):
            assert name in rendered, f"{readme}: no rendered policy named {name}"
            assert json.loads(block) == rendered[name], f"{readme}: {name} differs from tests/policies.json"
            shown[name] = shown.get(name, 0) + 1
    assert set(shown) == set(rendered), f"not shown in any README: {sorted(set(rendered) - set(shown))}"


@pytest.mark.parametrize("config", CONFIG_DIRS, ids=str)
def test_validate(terraform: Terraform, infra_copy: Path, config: Path) -> None:
    directory = infra_copy / config
    terraform.init(directory)
    out = terraform.run(directory, "validate", "-json", "-no-color")
    assert '"valid": true' in out, out
    assert '"warning_count": 0' in out, out


@pytest.mark.parametrize("module", TESTED_MODULES, ids=str)
def test_terraform_test(terraform: Terraform, infra_copy: Path, module: Path) -> None:
    directory = infra_copy / module
    terraform.init(directory)
    out = terraform.run(directory, "test", "-no-color")
    assert "0 failed" in out, out
