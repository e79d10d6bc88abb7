"""Secrets never leave the process: vendor keys and RunTask-time secrets, on every path.

Canaries: both vendor keys (set directly, in Secrets Manager as a string or JSON, in SSM), and in the
events ``overrides.containerOverrides[].environment`` values, secret-looking keys (``password``,
``apiKey``, ``client_secret``) and a ``{"name": "GITHUB_TOKEN", "value": ...}`` pair. None may
appear in captured logs (DEBUG), the handler's output lines, exception text, archive documents
(S3 and local), what the intakes received (except the auth header, which must carry the key), or
the output of explain, send, send --dry-run, replay and check -- also when a vendor answers 403 or
500 with the key echoed back in its body. A key counts as leaked when any 10 characters of it appear.
"""

from __future__ import annotations

import gzip
import io
import json
import logging
import traceback
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from forwarder.cli import main
from forwarder.errors import ConfigError, DeliveryError
from forwarder.handler import Runtime
from tests.aws import MotoServer
from tests.events import container, make_event
from tests.intakes import DatadogIntake, NewRelicIntake, RecordedRequest, Respond

DD_KEY = "ddKEYcanaryQwErTyUi0p1234zXcVbNmL"
NR_KEY = "nrKEYcanaryAsDfGhJk0987654321MnBvNRAL"
KEYS = (DD_KEY, NR_KEY)
WINDOW = 10  # this many consecutive characters of a key is a leak
ENV_PLAIN, ENV_PASSWORD = "canaryEnvPlainValue31", "canaryEnvPasswordValue32"
PASSWORD, API_KEY, CLIENT_SECRET, GITHUB_TOKEN = (
    "canaryKeyPassword33", "canaryKeyApiKey34", "canaryKeyClientSecret35", "canaryPairGithubToken36",
)  # fmt: skip
EVENT_CANARIES = (ENV_PLAIN, ENV_PASSWORD, PASSWORD, API_KEY, CLIENT_SECRET, GITHUB_TOKEN)
BUCKET = "leaks-archive"
VARIANTS = ("env", "secretsmanager", "secretsmanager-json", "ssm")
SCENARIOS = ("accepted", "403-echo", "500-echo")
AUTH_HEADERS = {"dd-api-key", "api-key"}
CLEAR = ("FORWARDER_DESTINATIONS", "ARCHIVE_BUCKET", "ARCHIVE_PREFIX", "FORWARDER_MIN_SEVERITY",
         "FORWARDER_EXCLUDE_CATEGORIES", "DD_API_KEY", "DD_API_KEY_SECRET_ARN", "DD_API_KEY_SSM_PARAMETER",
         "NEW_RELIC_LICENSE_KEY", "NEW_RELIC_LICENSE_KEY_SECRET_ARN", "NEW_RELIC_LICENSE_KEY_SSM_PARAMETER",
         "DD_SITE", "DD_TAGS", "NEW_RELIC_REGION", "DD_LOGS_URL", "NEW_RELIC_LOGS_URL")  # fmt: skip


def leaks(text: str) -> list[str]:
    """What of the canaries is in ``text``: whole event canaries, or any ``WINDOW`` characters of a key."""
    found = [canary for canary in EVENT_CANARIES if canary in text]
    for key in KEYS:
        windows = {key[i : i + WINDOW] for i in range(len(key) - WINDOW + 1)}
        found += [f"{key[:5]}…{window}" for window in windows if window in text][:1]
    return found


def assert_clean(surfaces: dict[str, str]) -> None:
    dirty = {name: leaks(text) for name, text in surfaces.items()}
    assert not any(dirty.values()), {name: found for name, found in dirty.items() if found}


# --- inputs -------------------------------------------------------------------------------------------


def with_secrets(event: dict[str, Any]) -> dict[str, Any]:
    """The event with every kind of RunTask-time secret the redactor must remove."""
    detail = event["detail"]
    detail["overrides"] = {
        "containerOverrides": [
            {
                "name": "app",
                "environment": [
                    {"name": "MODE", "value": ENV_PLAIN},
                    {"name": "DB_PASSWORD", "value": ENV_PASSWORD},
                ],
            },
        ],
        "password": PASSWORD,
        "apiKey": API_KEY,
    }
    detail["containers"][0]["client_secret"] = CLIENT_SECRET
    detail["attachments"] = [
        {"id": "eni-attachment", "type": "eni", "status": "DELETED",
         "details": [{"name": "subnetId", "value": "subnet-0abc"}, {"name": "GITHUB_TOKEN", "value": GITHUB_TOKEN}]},
    ]  # fmt: skip
    return event


def events() -> dict[str, dict[str, Any]]:
    stopped = with_secrets(make_event(event_id="leaks-stopped", reason="Essential container in task exited",
                                      stop_code="EssentialContainerExited", containers=[container("app", 1)]))  # fmt: skip
    running = with_secrets(make_event(event_id="leaks-running", containers=[container("app")]))
    running["detail"]["lastStatus"] = "RUNNING"
    invalid = with_secrets(make_event(event_id="leaks-invalid", containers=[container("app", 1)]))
    invalid["detail"]["containers"][0]["exitCode"] = "1"
    other = with_secrets(make_event(event_id="leaks-other"))
    other["source"] = "aws.ec2"
    return {"stopped": stopped, "running": running, "invalid": invalid, "other": other}


# --- environment --------------------------------------------------------------------------------------


def key_environ(variant: str, aws: MotoServer) -> dict[str, str]:
    """The two vendor keys, as ``variant`` stores them."""
    if variant == "env":
        return {"DD_API_KEY": DD_KEY, "NEW_RELIC_LICENSE_KEY": NR_KEY}
    if variant.startswith("secretsmanager"):
        client = aws.client("secretsmanager")
        arns = []
        for name, key in (("leaks/dd", DD_KEY), ("leaks/nr", NR_KEY)):
            value = json.dumps({"api_key": key}) if variant.endswith("json") else key
            arns.append(client.create_secret(Name=name, SecretString=value)["ARN"])
        return {"DD_API_KEY_SECRET_ARN": arns[0], "NEW_RELIC_LICENSE_KEY_SECRET_ARN": arns[1]}
    client = aws.client("ssm")
    for name, key in (("/leaks/dd", DD_KEY), ("/leaks/nr", NR_KEY)):
        client.put_parameter(Name=name, Value=key, Type="SecureString")
    return {"DD_API_KEY_SSM_PARAMETER": "/leaks/dd", "NEW_RELIC_LICENSE_KEY_SSM_PARAMETER": "/leaks/nr"}


@pytest.fixture
def intakes() -> Iterator[tuple[DatadogIntake, NewRelicIntake]]:
    with DatadogIntake(valid_keys={DD_KEY}) as dd, NewRelicIntake(valid_keys={NR_KEY}) as nr:
        yield dd, nr


def misbehave(scenario: str, dd: DatadogIntake, nr: NewRelicIntake) -> None:
    """Make both vendors answer every POST as ``scenario`` says, echoing the key in the body."""
    if scenario == "accepted":
        return
    status = 403 if scenario == "403-echo" else 500
    dd.chaos(1.0, kinds=(Respond(status, {"Content-Type": "application/json"},
                                 json.dumps({"errors": [f"Forbidden: invalid DD-API-KEY {DD_KEY}"]}).encode()),))  # fmt: skip
    nr.chaos(1.0, kinds=(Respond(status, {"Content-Type": "application/json"},
                                 json.dumps({"error": f"bad Api-Key {NR_KEY} for this account"}).encode()),))  # fmt: skip


def intake_surfaces(dd: DatadogIntake, nr: NewRelicIntake) -> dict[str, str]:
    """What the vendors received, minus the auth header, which must carry the key (so it was used)."""
    surfaces: dict[str, str] = {}
    for name, intake, key in (("datadog", dd, DD_KEY), ("newrelic", nr, NR_KEY)):
        requests: list[RecordedRequest] = [r for r in intake.requests if r.method == "POST"]
        assert requests, f"{name} received nothing"
        for request in requests:
            assert {request.headers.get(h) for h in AUTH_HEADERS} - {None} == {key}
        surfaces[f"{name} headers"] = json.dumps(
            [{k: v for k, v in r.headers.items() if k not in AUTH_HEADERS} for r in requests]
        )
        surfaces[f"{name} bodies"] = "\n".join(r.body.decode("utf-8", "replace") for r in requests)
    return surfaces


def capture_from_here(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    caplog.clear()


def log_surface(caplog: pytest.LogCaptureFixture) -> str:
    """Every captured record, formatted (with its exception, if any)."""
    return "\n".join(f"{r.name} {r.levelname} {r.getMessage()} {r.exc_text or ''}" for r in caplog.records)


# --- the Lambda handler --------------------------------------------------------------------------------


class Context:
    def __init__(self, seconds: float = 30.0) -> None:
        self.seconds = seconds

    def get_remaining_time_in_millis(self) -> int:
        return int(self.seconds * 1000)


def s3_text(aws: MotoServer) -> str:
    s3 = aws.client("s3")
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET).get("Contents", [])]
    return "\n".join(s3.get_object(Bucket=BUCKET, Key=key)["Body"].read().decode() for key in keys)


@pytest.mark.parametrize("scenario", SCENARIOS)
@pytest.mark.parametrize("variant", VARIANTS)
def test_handler_leaks_nothing(
    aws: MotoServer, intakes: tuple[DatadogIntake, NewRelicIntake], caplog: pytest.LogCaptureFixture,
    variant: str, scenario: str,
) -> None:  # fmt: skip
    dd, nr = intakes
    aws.client("s3").create_bucket(Bucket=BUCKET)
    env = {"FORWARDER_DESTINATIONS": "datadog,newrelic", "DD_LOGS_URL": dd.url, "NEW_RELIC_LOGS_URL": nr.url,
           "ARCHIVE_BUCKET": BUCKET, **key_environ(variant, aws)}  # fmt: skip
    capture_from_here(caplog)  # the test's own setup (storing the keys) is not the forwarder's doing
    misbehave(scenario, dd, nr)
    lines: list[str] = []
    runtime = Runtime.from_env(env, client_factory=aws.client, emit=lines.append)
    raised: list[str] = []
    answers = []
    seconds = 4.0 if scenario == "500-echo" else 30.0  # 1 s of retries for the 500s
    for event in events().values():
        try:
            answers.append(runtime.handle(event, Context(seconds)))
        except DeliveryError as exc:
            raised.append("".join(traceback.format_exception(exc)) + repr(exc))
    # The paths under test were taken.
    assert len(raised) == (1 if scenario == "500-echo" else 0)
    statuses = [a["deliveries"] for a in answers if a["rejected"] is None]
    assert statuses == ([] if scenario == "500-echo" else [{"datadog": "delivered", "newrelic": "delivered"}]
                        if scenario == "accepted" else [{"datadog": "failed-permanent", "newrelic": "failed-permanent"}])  # fmt: skip
    archive = s3_text(aws)
    assert archive.count('"kind":') == 3 and "[REDACTED]" in archive and "DB_PASSWORD" in archive
    assert_clean({"logs": log_surface(caplog), "handler lines": "\n".join(lines), "exceptions": "\n".join(raised),
                  "s3 archive": archive, "settings": repr(runtime.settings), **intake_surfaces(dd, nr)})  # fmt: skip


@pytest.mark.parametrize("variant", [v for v in VARIANTS if v != "env"])
def test_debug_logs_carry_no_key_read_from_aws(
    aws: MotoServer,
    intakes: tuple[DatadogIntake, NewRelicIntake],
    caplog: pytest.LogCaptureFixture,
    variant: str,
) -> None:
    dd, nr = intakes
    aws.client("s3").create_bucket(Bucket=BUCKET)
    env = {"FORWARDER_DESTINATIONS": "datadog,newrelic", "DD_LOGS_URL": dd.url, "NEW_RELIC_LOGS_URL": nr.url,
           "ARCHIVE_BUCKET": BUCKET, **key_environ(variant, aws)}  # fmt: skip
    capture_from_here(caplog)
    runtime = Runtime.from_env(env, client_factory=aws.client, emit=lambda line: None)
    assert runtime.handle(events()["stopped"], Context())["deliveries"]["datadog"] == "delivered"
    assert_clean({"logs": log_surface(caplog)})


@pytest.mark.parametrize(
    "secret",
    [
        json.dumps({"apikey": DD_KEY}),
        '{"api_key": "' + DD_KEY + '"',
        json.dumps({"api_key": 12345, "note": DD_KEY}),
    ],
    ids=["json-without-api_key", "json-that-does-not-parse", "api_key-not-a-string"],
)
def test_a_malformed_secret_is_a_config_error_without_its_value(
    aws: MotoServer,
    intakes: tuple[DatadogIntake, NewRelicIntake],
    caplog: pytest.LogCaptureFixture,
    secret: str,
) -> None:
    dd, _ = intakes
    aws.client("s3").create_bucket(Bucket=BUCKET)
    arn = aws.client("secretsmanager").create_secret(Name="leaks/bad", SecretString=secret)["ARN"]
    env = {"FORWARDER_DESTINATIONS": "datadog", "DD_LOGS_URL": dd.url, "DD_API_KEY_SECRET_ARN": arn,
           "ARCHIVE_BUCKET": BUCKET}  # fmt: skip
    lines: list[str] = []
    runtime = Runtime.from_env(env, client_factory=aws.client, emit=lines.append)
    with pytest.raises(ConfigError, match="DD_API_KEY_SECRET_ARN") as raised:
        runtime.handle(events()["stopped"], Context())
    text = "".join(traceback.format_exception(raised.value)) + repr(raised.value)
    assert dd.requests == []
    assert_clean({"exception": text, "handler lines": "\n".join(lines), "s3 archive": s3_text(aws)})


def test_a_key_echoed_across_the_200_character_cut_does_not_leak(
    aws: MotoServer, intakes: tuple[DatadogIntake, NewRelicIntake]
) -> None:
    dd, _ = intakes
    aws.client("s3").create_bucket(Bucket=BUCKET)
    prefix = '{"errors":["Forbidden: the API key '
    filler = "x" * (200 - len(prefix) - len(DD_KEY) + 4)  # the cut falls 4 characters before the key ends
    dd.chaos(1.0, kinds=(Respond(403, {}, (prefix + filler + DD_KEY + ' is not valid"]}').encode()),))
    env = {
        "FORWARDER_DESTINATIONS": "datadog",
        "DD_LOGS_URL": dd.url,
        "DD_API_KEY": DD_KEY,
        "ARCHIVE_BUCKET": BUCKET,
    }
    lines: list[str] = []
    answer = Runtime.from_env(env, client_factory=aws.client, emit=lines.append).handle(
        events()["stopped"], Context()
    )
    assert answer["deliveries"] == {"datadog": "failed-permanent"}
    archive = s3_text(aws)
    assert "Datadog rejected the API key (HTTP 403)" in archive
    assert_clean({"s3 archive": archive, "handler lines": "\n".join(lines)})


# --- the console script ---------------------------------------------------------------------------------


def run(*argv: str) -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), out, err)
    return code, out.getvalue() + "\n" + err.getvalue()


@pytest.mark.parametrize("scenario", SCENARIOS)
@pytest.mark.parametrize("variant", VARIANTS)
def test_cli_leaks_nothing(  # noqa: PLR0917 - pytest fixtures
    aws: MotoServer, intakes: tuple[DatadogIntake, NewRelicIntake], caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, variant: str, scenario: str,
) -> None:  # fmt: skip
    dd, nr = intakes
    for name in CLEAR:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    for name, value in {
        "DD_LOGS_URL": dd.url,
        "NEW_RELIC_LOGS_URL": nr.url,
        **key_environ(variant, aws),
    }.items():
        monkeypatch.setenv(name, value)
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    for name, event in events().items():
        (inputs / f"{name}.json").write_text(json.dumps(event))
    firehose = tmp_path / "firehose"
    firehose.mkdir()
    (firehose / "backup.gz").write_bytes(
        gzip.compress("".join(json.dumps(e) for e in events().values()).encode())
    )
    archive = tmp_path / "archive"
    to = ("--to", "datadog,newrelic")
    capture_from_here(caplog)
    misbehave(scenario, dd, nr)

    outputs: dict[str, str] = {}
    codes: dict[str, int] = {}
    commands = {
        "check": ("check", *to),
        "explain": ("explain", str(inputs)),
        "explain --json": ("explain", "--json", str(inputs)),
        "send --dry-run": ("send", "--dry-run", *to, str(inputs)),
        "send": ("send", *to, "--archive", str(archive), "--timeout", "1", str(inputs)),
        "replay archive": ("replay", str(archive), *to, "--timeout", "1"),
        "replay --only-undelivered": ("replay", str(archive), "--only-undelivered", *to, "--timeout", "1"),
        "replay firehose --dry-run": ("replay", str(firehose), *to, "--dry-run"),
        "replay firehose": ("replay", str(firehose), *to, "--timeout", "1"),
    }
    for label, argv in commands.items():
        try:
            codes[label], outputs[label] = run(*argv)
        except Exception:  # noqa: BLE001 - any raise is a failure, reported with its traceback
            pytest.fail(f"{label} raised:\n{traceback.format_exc()}")
    # The paths under test were taken: the key resolved, the vendors answered as scripted.
    assert codes["check"] == 0 and "datadog: ready" in outputs["check"]
    assert (
        "ecs_stop" in outputs["send --dry-run"]
        and "would send leaks-stopped" in outputs["replay firehose --dry-run"]
    )
    if scenario == "accepted":
        assert codes["send"] == 1 and codes["replay archive"] == 0  # send: 3 inputs rejected
    else:
        assert codes["send"] == codes["replay archive"] == codes["replay firehose"] == 1
        assert ("HTTP 403" if scenario == "403-echo" else "HTTP 500") in outputs["send"]
    kept = "\n".join(p.read_text() for p in sorted(archive.rglob("*.json")))
    assert kept.count('"kind":') == 3 and "[REDACTED]" in kept
    assert_clean({**{f"output of {label}": text for label, text in outputs.items()}, "logs": log_surface(caplog),
                  "local archive": kept, **intake_surfaces(dd, nr)})  # fmt: skip
