"""Fixtures for the infra tests: a terraform runner over a scratch copy of infra/."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.infra.tf import PLUGIN_DIR, TERRAFORM, Terraform, copy_infra


def _terraform_missing() -> str | None:
    if shutil.which(TERRAFORM) is None:
        return f"{TERRAFORM} is not on PATH"
    if not (PLUGIN_DIR / "registry.terraform.io" / "hashicorp" / "aws").is_dir():
        return f"no hashicorp/aws provider mirror under {PLUGIN_DIR} (set TF_PLUGIN_DIR)"
    return None


@pytest.fixture(scope="session")
def terraform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Terraform]:
    reason = _terraform_missing()
    if reason:
        pytest.skip(reason)
    yield Terraform.create(tmp_path_factory.mktemp("terraform"))


@pytest.fixture(scope="session")
def infra_copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A scratch copy of infra/, so init never writes into the work tree."""
    return copy_infra(tmp_path_factory.mktemp("infra-copy"))
