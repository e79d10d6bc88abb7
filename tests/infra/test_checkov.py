"""checkov over infra/ (terraform framework): no failed checks.

Every skip is an inline ``#checkov:skip=CKV_...:reason`` next to the resource; this test also
checks that each carries a reason. checkov lives in its own venv (``make infra-tools``).
"""

from __future__ import annotations

import json
import re
import subprocess

import pytest

from tests.infra.tf import INFRA_DIR, REPO_ROOT

pytestmark = pytest.mark.slow

CHECKOV = REPO_ROOT / ".venv-checkov" / "bin" / "checkov"
SKIP = re.compile(r"#\s*checkov:skip=([A-Z0-9_]+)(?::(.*))?")


def test_every_skip_has_a_reason() -> None:
    for path in INFRA_DIR.rglob("*.tf"):
        for number, line in enumerate(path.read_text().splitlines(), 1):
            match = SKIP.search(line)
            if match:
                reason = (match.group(2) or "").strip()
                assert len(reason) >= 20, f"{path}:{number}: skip of {match.group(1)} needs a written reason"


def test_checkov_passes() -> None:
    if not CHECKOV.exists():
        pytest.skip(f"{CHECKOV.relative_to(REPO_ROOT)} missing: run `make infra-tools`")
    proc = subprocess.run(
        [
            str(CHECKOV),
            "-d",
            str(INFRA_DIR),
            "--framework",
            "terraform",
            "--quiet",
            "--compact",
            "--skip-download",
            "--output",
            "json",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        cwd=REPO_ROOT,
    )
    try:
        report = json.loads(proc.stdout)
    except json.JSONDecodeError:
        pytest.fail(f"checkov gave no JSON (exit {proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    reports = report if isinstance(report, list) else [report]
    failed = [
        f"{c['check_id']} {c['resource']} ({c['file_path']})"
        for r in reports
        for c in r.get("results", {}).get("failed_checks", [])
    ]
    assert failed == [], "checkov failed checks:\n" + "\n".join(failed)
    assert proc.returncode == 0, proc.stdout + proc.stderr
