"""``send`` and ``check`` end to end: environment -> keys -> loopback intakes."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from forwarder.cli import main
from tests.aws import MotoServer
from tests.fixtures import ROOT, stopped_events
from tests.intakes import DatadogIntake, NewRelicIntake

DD_KEY = "canary-cli-dd-1"
NR_KEY = "canary-cli-nr-2"
CLEAR = ("FORWARDER_DESTINATIONS", "ARCHIVE_BUCKET", "ARCHIVE_PREFIX", "FORWARDER_MIN_SEVERITY", "FORWARDER_EXCLUDE_CATEGORIES", "DD_API_KEY", "DD_API_KEY_SECRET_ARN", "DD_API_KEY_SSM_PARAMETER",
         "NEW_RELIC_LICENSE_KEY", "NEW_RELIC_LICENSE_KEY_SECRET_ARN", "NEW_RELIC_LICENSE_KEY_SSM_PARAMETER",
         "DD_SITE", "DD_TAGS", "NEW_RELIC_REGION", "DD_LOGS_URL", "NEW_RELIC_LOGS_URL")  # fmt: skip


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> pytest.MonkeyPatch:
    """A clean vendor environment, run from an empty directory (send archives to ./archive)."""
    for name in CLEAR:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    return monkeypatch


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), out, err)
    return code, out.getvalue(), err.getvalue()


def vendors(env: pytest.MonkeyPatch, dd: DatadogIntake, nr: NewRelicIntake) -> None:
    env.setenv("DD_API_KEY", DD_KEY)
    env.setenv("DD_LOGS_URL", dd.url)
    env.setenv("NEW_RELIC_LICENSE_KEY", NR_KEY)
    env.setenv("NEW_RELIC_LOGS_URL", nr.url)


def test_send_all_fixtures_to_both_vendors(env: pytest.MonkeyPatch) -> None:
    with DatadogIntake(valid_keys={DD_KEY}) as dd, NewRelicIntake(valid_keys={NR_KEY}) as nr:
        vendors(env, dd, nr)
        code, out, err = run("send", "--to", "datadog,newrelic", str(ROOT / "events"))
        assert code == 0, err
        expected = sorted(e["id"] for e in stopped_events())
        assert sorted(log["ecs_stop"]["event_id"] for log in dd.accepted) == expected
        assert sorted(log["event_id"] for log in nr.accepted) == expected
        assert f"{len(expected)} stop record(s), 0 rejected" in err and "datadog" in err and "newrelic" in err
        assert DD_KEY not in out + err and NR_KEY not in out + err


def test_send_reports_failures_and_bad_input_with_exit_1(env: pytest.MonkeyPatch, tmp_path: object) -> None:
    with DatadogIntake(valid_keys={"other"}) as dd, NewRelicIntake(valid_keys={NR_KEY}) as nr:
        vendors(env, dd, nr)
        code, _, err = run(
            "send", str(ROOT / "events" / "seed-arm64-on-x86-scheduled.json"), str(ROOT / "other")
        )
        assert code == 1
        assert "error: datadog: 1 record(s) failed-permanent: Datadog rejected the API key (HTTP 403)" in err
        assert "not-stopped" in err and "not-task-event" in err
        assert len(nr.accepted) == 1


def test_send_defaults_to_stdout_without_keys(env: pytest.MonkeyPatch) -> None:
    code, out, err = run("send", str(ROOT / "events" / "seed-arm64-on-x86-scheduled.json"))
    assert code == 0, err
    assert json.loads(out)["category"] == "image-platform-mismatch"


def test_dry_run_prints_the_exact_payloads_and_sends_nothing(env: pytest.MonkeyPatch) -> None:
    code, out, err = run("send", "--dry-run", "--to", "datadog,newrelic", str(ROOT / "events"))
    assert code == 0, err
    lines = [json.loads(line) for line in out.splitlines()]
    assert [line["destination"] for line in lines] == ["datadog", "newrelic"]
    assert len(lines[0]["body"]) == len(stopped_events())
    assert lines[0]["body"][0]["ddsource"] == "ecs"
    assert len(lines[1]["body"][0]["logs"]) == len(stopped_events())


def test_check_reports_each_destination(env: pytest.MonkeyPatch) -> None:
    with DatadogIntake(valid_keys={DD_KEY}) as dd, NewRelicIntake(valid_keys={NR_KEY}) as nr:
        vendors(env, dd, nr)
        code, out, _ = run("check", "--to", "datadog,newrelic,stdout")
        assert code == 0
        assert "datadog: ready: key from DD_API_KEY (set directly) resolved" in out and "API key valid" in out
        assert "newrelic: ready" in out and "stdout: ready" in out
        env.setenv("DD_API_KEY", "canary-wrong")
        code, out, _ = run("check", "--to", "datadog")
        assert code == 1 and "datadog: NOT ready" in out and "rejected the API key" in out
        assert "canary-wrong" not in out


def test_check_without_a_key_names_the_variables(env: pytest.MonkeyPatch) -> None:
    code, out, _ = run("check", "--to", "newrelic")
    assert code == 1
    assert "newrelic: NOT ready: newrelic is a destination but none of NEW_RELIC_LICENSE_KEY" in out


def test_unknown_site_is_a_usage_error(env: pytest.MonkeyPatch) -> None:
    env.setenv("DD_SITE", "datadoghq.org")
    code, _, err = run("send", "--to", "datadog", str(ROOT / "events"))
    assert code == 2 and "DD_SITE 'datadoghq.org' is not a Datadog site" in err


def test_a_timeout_of_0_or_less_is_a_usage_error(env: pytest.MonkeyPatch) -> None:
    """A deadline already passed failed every delivery ('deadline reached before the request could
    be sent') and archived every record as undelivered; nothing is read or archived now."""
    for value in ("0", "-5", "nan"):
        code, out, err = run("send", "--to", "stdout", "--timeout", value, str(ROOT / "events"))
        assert (code, out, err) == (2, "", "error: --timeout must be more than 0\n")
    assert not Path("archive").exists()


def test_key_from_secrets_manager(env: pytest.MonkeyPatch, aws: MotoServer) -> None:
    arn = aws.client("secretsmanager").create_secret(Name="dd", SecretString=json.dumps({"api_key": DD_KEY}))[
        "ARN"
    ]
    with DatadogIntake(valid_keys={DD_KEY}) as dd:
        env.setenv("DD_API_KEY_SECRET_ARN", arn)
        env.setenv("DD_LOGS_URL", dd.url)
        code, _, err = run("send", str(ROOT / "events" / "seed-arm64-on-x86-scheduled.json"))
        assert code == 0, err
        assert len(dd.accepted) == 1
        env.setenv("DD_API_KEY_SECRET_ARN", arn + "-missing")
        code, _, err = run(
            "send", "--archive", "none", str(ROOT / "events" / "seed-arm64-on-x86-scheduled.json")
        )
        assert code == 2 and "DD_API_KEY_SECRET_ARN=" in err and "cannot read the key" in err


def test_send_archives_locally_by_default_and_a_rerun_sends_nothing_twice(
    env: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    with DatadogIntake(valid_keys={DD_KEY}) as dd, NewRelicIntake(valid_keys={NR_KEY}) as nr:
        vendors(env, dd, nr)
        code, _, err = run("send", str(ROOT / "events"), str(ROOT / "other"))
        assert code == 1  # the other/ inputs are not STOPPED events
        assert "archive: archive/ecs-task-stop-log" in err
        documents = sorted((tmp_path / "archive" / "ecs-task-stop-log").rglob("*.json"))
        stops = [d for d in documents if "rejected" not in d.parts]
        rejected = [d for d in documents if "rejected" in d.parts]
        assert len(stops) == len(stopped_events()) and len(rejected) == len(
            list((ROOT / "other").glob("*.json"))
        )
        assert "(kept as ecs-task-stop-log/rejected/" in err
        document = json.loads(stops[0].read_text())
        assert set(document["deliveries"]) == {"datadog", "newrelic"}
        run("send", str(ROOT / "events"))
        assert len(dd.accepted) == len(nr.accepted) == len(stopped_events())


def test_send_to_an_s3_archive(env: pytest.MonkeyPatch, aws: MotoServer) -> None:
    aws.client("s3").create_bucket(Bucket="team-archive")
    code, _, err = run("send", "--to", "stdout", "--archive", "s3://team-archive/stops", str(ROOT / "events"))
    assert code == 0, err
    listed = aws.client("s3").list_objects_v2(Bucket="team-archive", Prefix="stops/")
    assert listed["KeyCount"] == len(stopped_events())


def test_send_without_archive(env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    code, _, err = run("send", "--archive", "none", str(ROOT / "events" / "seed-arm64-on-x86-scheduled.json"))
    assert code == 0 and "archive: (none)" in err
    assert not (tmp_path / "archive").exists()
