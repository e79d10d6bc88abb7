"""``ecs-stop-forwarder explain``: output, exit codes, errors with where, no tracebacks."""

from __future__ import annotations

import gzip
import io
import json
import subprocess
import sys
from pathlib import Path

from forwarder.cli import main
from tests.events import container, make_event


def run(*argv: str, stdin: bytes | None = None) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    if stdin is not None:
        proc = subprocess.run(
            [sys.executable, "-m", "forwarder", *argv], input=stdin, capture_output=True, check=False
        )
        return proc.returncode, proc.stdout.decode(), proc.stderr.decode()
    code = main(list(argv), out, err)
    return code, out.getvalue(), err.getvalue()


def test_explain_human_and_json(tmp_path: Path) -> None:
    event = make_event(
        stop_code="EssentialContainerExited", containers=[container("app", 137, "OutOfMemoryError")]
    )
    path = tmp_path / "e.json"
    path.write_text(json.dumps(event))
    code, out, err = run("explain", str(path))
    assert code == 0 and err == ""
    assert "out-of-memory  [error]" in out and "hint: Container app ran out of memory" in out
    assert "1 stop(s): out-of-memory 1; 0 invalid" in out
    code, out, _ = run("explain", "--json", str(path))
    lines = out.splitlines()
    assert code == 0 and len(lines) == 1
    assert json.loads(lines[0])["category"] == "out-of-memory"


def test_explain_directory_reports_bad_items_and_prints_the_rest(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "a.json").write_text(json.dumps(make_event(event_id="good-1")))
    (tmp_path / "sub" / "b.json.gz").write_bytes(
        gzip.compress(
            (
                json.dumps(make_event(lastStatus="RUNNING")) + json.dumps(make_event(event_id="good-2"))
            ).encode()
        )
    )
    (tmp_path / "c.json").write_text('{"id": "x", "source": "aws.ecs"')
    code, out, err = run("explain", "--json", str(tmp_path))
    assert code == 1
    assert [json.loads(line)["event_id"] for line in out.splitlines()] == ["good-1", "good-2"]
    errors = err.splitlines()
    assert len(errors) == 2
    assert errors[0].startswith(f"error: {tmp_path / 'c.json'} at offset") and "invalid JSON" in errors[0]
    assert f"{tmp_path / 'sub' / 'b.json.gz'} item 1" in errors[1] and "not-stopped" in errors[1]
    assert "Traceback" not in err


def test_explain_stdin_and_usage_errors() -> None:
    code, out, err = run(
        "explain", "-", stdin=json.dumps(make_event(reason="Your Spot Task was interrupted.")).encode()
    )
    assert code == 0 and "spot-interrupted" in out, err
    code, _, err = run("explain")
    assert code == 2 and "PATH" in err
    code, _, err = run("frobnicate")
    assert code == 2
    code, _, err = run("explain", "/definitely/not/here")
    assert code == 1 and "no such file" in err


def test_wrong_type_is_reported_with_field_path(tmp_path: Path) -> None:
    event = make_event(containers=[{"name": "app", "exitCode": "1"}])
    (tmp_path / "bad.json").write_text(json.dumps(event))
    code, _, err = run("explain", str(tmp_path / "bad.json"))
    assert code == 1
    assert "detail.containers[0].exitCode: expected an integer, got string" in err


def test_only_the_command_asked_for_is_imported(tmp_path: Path) -> None:
    """A command imports its own module alone (replay's start-up is on every replay's clock); with
    no command, help lists every one."""
    path = tmp_path / "stop.json"
    path.write_text(json.dumps(make_event(stop_code="EssentialContainerExited", containers=[container("app", 1)])))
    probe = (
        "import sys; from forwarder.cli import main; code = main(sys.argv[1:]); "
        "print(sorted(m for m in sys.modules if m.startswith('forwarder.commands.') and m != 'forwarder.commands.common'))"
    )
    root = Path(__file__).resolve().parent.parent
    done = subprocess.run([sys.executable, "-c", probe, "explain", "--json", str(path)],
                          capture_output=True, text=True, check=True, cwd=root)  # fmt: skip
    assert done.stdout.strip().splitlines()[-1] == "['forwarder.commands.explain']"
    code, out, _ = run("--help")
    commands = ("explain", "send", "replay", "report", "redrive", "check", "alerts", "package")
    assert code == 0 and all(f"\n    {name} " in out for name in commands)
    code, _, err = run("replya", "x")
    assert code == 2 and "invalid choice: 'replya'" in err and "replay" in err
