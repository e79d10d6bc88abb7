"""The bad-input corpus (tests/bad_inputs/manifest.json) through every entry point.

Each item goes through ``explain`` (alone and between two good files), ``send --to stdout --archive
DIR``, the Lambda handler (when Lambda could pass it: JSON-decodable items only) and ``replay`` over
a folder holding the item and a good event. Nothing may raise or print a traceback; exit codes and
messages are the manifest's; every input is kept (under ``rejected/`` when it is JSON but not a
STOPPED event); odd-but-valid STOPPED events are delivered.

Entry points run on a fresh thread: Lambda and the console script call into the forwarder from a
shallow stack, pytest does not, and the deep-nesting items must not fail because of pytest's frames.
CLI output goes to strict UTF-8 text streams, as a real stdout/stderr is.
"""

from __future__ import annotations

import io
import json
import random
import re
import shutil
import threading
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest

from forwarder.archive_layout import REJECTED_SCHEMA, SCHEMA
from forwarder.cli import main
from forwarder.handler import Runtime
from forwarder.redact import redact
from tests.aws import MotoServer
from tests.fixtures import ROOT

CORPUS = Path(__file__).resolve().parent / "bad_inputs"
MANIFEST = json.loads((CORPUS / "manifest.json").read_text())
ITEMS: list[dict[str, Any]] = MANIFEST["items"]
GOOD = ROOT / "events" / "seed-arm64-on-x86-scheduled.json"
GOOD_2 = ROOT / "events" / "app-crashed--exit1-service.json"
DD_KEY, NR_KEY = "bad-inputs-dd-key", "bad-inputs-nr-key"
BUCKET = "bad-inputs-archive"
PREFIX = "ecs-task-stop-log/"
CLEAR = ("FORWARDER_DESTINATIONS", "ARCHIVE_BUCKET", "ARCHIVE_PREFIX", "ARCHIVE_KMS_KEY_ID", "FORWARDER_MIN_SEVERITY",
         "FORWARDER_EXCLUDE_CATEGORIES", "DD_API_KEY", "DD_API_KEY_SECRET_ARN", "DD_API_KEY_SSM_PARAMETER",
         "NEW_RELIC_LICENSE_KEY", "NEW_RELIC_LICENSE_KEY_SECRET_ARN", "NEW_RELIC_LICENSE_KEY_SSM_PARAMETER",
         "DD_SITE", "DD_TAGS", "DD_SOURCE", "NEW_RELIC_REGION", "DD_LOGS_URL", "NEW_RELIC_LOGS_URL")  # fmt: skip
T = TypeVar("T")

#: Known bugs, as (entry point, item) -> reason: each runs as a strict xfail until fixed. None now.
BUGS: dict[tuple[str, str], str] = {}


# --- generated items ----------------------------------------------------------------------------------


def _base_event(name: str) -> dict[str, Any]:
    """A valid STOPPED event (app-crashed) from the corpus, with its own id."""
    event: dict[str, Any] = json.loads((CORPUS / "exitcode-negative.json").read_text())
    event["id"] = f"generated-{name}"
    event["detail"]["containers"][0]["exitCode"] = 1
    return event


def _long_reason() -> bytes:
    rng = random.Random(2)
    letters = "abcdefghijklmnopqrstuvwxyz0123456789      "
    noise = "".join(rng.choice(letters) for _ in range(2_000_000))
    event = _base_event("long-reason")
    event["detail"]["stoppedReason"] = noise + " CannotPullContainerError: ref web:1.0: manifest unknown"
    return json.dumps(event).encode()


def _many_containers() -> bytes:
    event = _base_event("many-containers")
    containers = [
        {"name": f"container-{i}", "image": f"example/sidecar-{i}:1", "lastStatus": "STOPPED", "exitCode": 0}
        for i in range(10_000)
    ]
    containers[-1].update(exitCode=137, reason="OutOfMemoryError: Container killed due to memory usage")
    event["detail"]["containers"] = containers
    return json.dumps(event).encode()


def _deep(depth: int) -> Callable[[], bytes]:
    def generate() -> bytes:
        event = _base_event(f"deep-{depth}")
        event["detail"]["overrides"] = {"containerOverrides": [{"name": "app", "command": "__DEEP__"}]}
        text = json.dumps(event)
        # Built as text: json.dumps itself cannot write what is nested past the recursion limit.
        return text.replace('"__DEEP__"', _nested_text(depth)).encode()

    return generate


def _nested_text(depth: int) -> str:
    """``depth`` levels of alternating arrays and objects around a string, as JSON text."""
    opening, closing = [], []
    for index in range(depth):
        if index % 2:
            opening.append('{"n": ')
            closing.append("}")
        else:
            opening.append("[")
            closing.append("]")
    return "".join(opening) + '"echo"' + "".join(reversed(closing))


GENERATORS: dict[str, Callable[[], bytes]] = {
    "long_reason": _long_reason,
    "many_containers": _many_containers,
    "deep_900": _deep(900),
    "deep_100000": _deep(100_000),
    "deep_arrays": lambda: b"[" * 100_000 + b"]" * 100_000,
}


@pytest.fixture(scope="session")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("generated-bad-inputs")
    for item in ITEMS:
        if "generated" in item:
            (folder / item["file"]).write_bytes(GENERATORS[item["generated"]]())
    return folder


def item_path(item: dict[str, Any], generated: Path) -> Path:
    return generated / item["file"] if "generated" in item else CORPUS / item["file"]


def params(entry: str, items: list[dict[str, Any]] | None = None) -> list[Any]:
    return [
        pytest.param(
            item, id=item["file"], marks=[pytest.mark.xfail(strict=True, reason=BUGS[(entry, item["file"])])]
        )
        if (entry, item["file"]) in BUGS
        else pytest.param(item, id=item["file"])
        for item in (ITEMS if items is None else items)
    ]


# --- helpers --------------------------------------------------------------------------------------


def shallow(function: Callable[..., T], *args: Any) -> T:
    """``function(*args)`` on a fresh thread (a shallow stack, like Lambda's and the console script's)."""
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["value"] = function(*args)
        except BaseException as exc:  # noqa: BLE001 - handed to the caller as is
            box["error"] = exc

    thread = threading.Thread(target=target)
    thread.start()
    thread.join()
    if "error" in box:
        raise box["error"]
    return box["value"]  # type: ignore[no-any-return]


def cli(*argv: str) -> tuple[int | str, str, str]:
    """(exit code, stdout, stderr); an exception escaping ``main`` is returned as "raised" + traceback."""

    def call() -> tuple[int | str, str, str]:
        out_bytes, err_bytes = io.BytesIO(), io.BytesIO()
        out = io.TextIOWrapper(out_bytes, encoding="utf-8", errors="strict", write_through=True)
        err = io.TextIOWrapper(err_bytes, encoding="utf-8", errors="strict", write_through=True)
        code: int | str
        trace = ""
        try:
            code = main(list(argv), out, err)
        except BaseException:  # noqa: BLE001 - a traceback is what the test reports
            code, trace = "raised", traceback.format_exc()
        return (code, out_bytes.getvalue().decode("utf-8", "replace"),
                err_bytes.getvalue().decode("utf-8", "replace") + trace)  # fmt: skip

    return shallow(call)


def decoded(path: Path) -> Any:
    """What Lambda would pass the handler: the file's JSON value (decoded on a shallow stack)."""
    return shallow(json.loads, path.read_bytes())


def canonical(value: Any) -> str:
    """Comparable JSON text (NaN-safe: NaN != NaN as a float, but not as text)."""
    return json.dumps(value, sort_keys=True)


def summary_count(out: str) -> int:
    match = re.search(r"^(\d+) stop\(s\)", out, re.MULTILINE)
    assert match, f"no summary line in explain output:\n{out[-500:]}"
    return int(match.group(1))


def documents(root: Path) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(stop documents, rejected documents) of a local archive."""
    stops, rejected = [], []
    for path in sorted(root.rglob("*.json")):
        document = json.loads(path.read_bytes())
        relative = path.relative_to(root).as_posix()
        assert relative.startswith(PREFIX), relative
        (rejected if relative.startswith(PREFIX + "rejected/") else stops).append(document)
    return stops, rejected


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    for name in CLEAR:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_manifest_is_complete_and_consistent() -> None:
    assert len(ITEMS) >= 40
    names = [item["file"] for item in ITEMS]
    assert len(set(names)) == len(names)
    on_disk = {p.name for p in CORPUS.iterdir()} - {"manifest.json"}
    assert on_disk == {item["file"] for item in ITEMS if "generated" not in item}
    assert {item["generated"] for item in ITEMS if "generated" in item} <= set(GENERATORS)
    size = sum(p.stat().st_size for p in CORPUS.iterdir())
    assert size < 1_000_000
    for item in ITEMS:
        expect = item["expect"]
        assert item["what"] and set(expect) == {"explain", "send", "handler", "replay"}, item["file"]
        assert expect["explain"]["exit"] in (0, 1) and expect["send"]["exit"] == expect["explain"]["exit"]
        assert bool(expect["explain"]["stderr"]) == (expect["explain"]["exit"] == 1), item["file"]
    assert set(BUGS) <= {(e, i["file"]) for i in ITEMS for e in ("explain", "send", "handler", "replay")}


# --- explain --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("item", params("explain"))
def test_explain(item: dict[str, Any], generated: Path, clean_env: Path) -> None:
    path = item_path(item, generated)
    expect = item["expect"]["explain"]
    code, out, err = cli("explain", str(path))
    assert "Traceback" not in out + err, err[-3000:]
    assert code == expect["exit"], err[-2000:]
    assert summary_count(out) == expect["records"]
    assert out.count(f"from: {path} item ") == expect["records"]
    if expect["exit"]:
        problems = [line for line in err.splitlines() if line.startswith("error: ")]
        assert problems and all(str(path) in line for line in problems), err
        for part in expect["stderr"]:
            assert part in err, f"{part!r} not in stderr:\n{err}"
        assert all(re.search(r"(item \d+ \(offset \d+\)|at offset \d+|: unreadable: empty input)", line)
                   for line in problems), err  # fmt: skip
    else:
        assert err == ""

    # Between two good files, the good ones are still printed and the exit code is the item's.
    code, out, err = cli("explain", str(GOOD), str(path), str(GOOD_2))
    assert "Traceback" not in out + err, err[-3000:]
    assert code == expect["exit"]
    assert summary_count(out) == expect["records"] + 2
    assert f"from: {GOOD} item 1" in out and f"from: {GOOD_2} item 1" in out


# --- send --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("item", params("send"))
def test_send_keeps_every_input(item: dict[str, Any], generated: Path, clean_env: Path) -> None:
    path = item_path(item, generated)
    expect = item["expect"]["send"]
    archive = clean_env / "archive"
    code, out, err = cli("send", "--to", "stdout", "--archive", str(archive), str(path))
    assert "Traceback" not in out + err, err[-3000:]
    assert code == expect["exit"], err[-2000:]
    records = [json.loads(line) for line in out.splitlines()]
    assert len(records) == expect["records"]
    for part in expect["stderr"]:
        assert part in err, f"{part!r} not in stderr:\n{err}"
    assert f"{len(records)} stop record(s), {len(expect['rejected'])} rejected" in err
    stops, rejected = documents(archive) if archive.exists() else ([], [])
    # Every record printed was archived first, with its outcome.
    assert sorted(d["event_id"] for d in stops) == sorted(r["event_id"] for r in records)
    assert all(d["schema"] == SCHEMA and d["deliveries"]["stdout"]["status"] == "delivered" for d in stops)
    # JSON that is not a STOPPED event is kept under rejected/ with the reason.
    assert sorted(d["kind"] for d in rejected) == sorted(expect["rejected"])
    assert err.count("(kept as ecs-task-stop-log/rejected/") == len(expect["rejected"])
    if rejected:
        value = decoded(path)
        values = value if isinstance(value, list) else [value]
        inputs = {canonical(redact(v)) for v in values}
        for document in rejected:
            assert document["schema"] == REJECTED_SCHEMA and document["reason"]
            assert canonical(document["input"]) in inputs
    if expect["exit"] and not expect["rejected"]:  # unreadable bytes: reported with the file (and offset)
        assert f"error: {path}" in err


# --- the Lambda handler ---------------------------------------------------------------------------------


class Context:
    """A fake Lambda context: 8 s left, so 5 s of delivery after the handler's 3 s safety margin."""

    def get_remaining_time_in_millis(self) -> int:
        return 8_000


@pytest.fixture
def lambda_env(aws: MotoServer) -> Iterator[tuple[MotoServer, Any, Any, dict[str, str]]]:
    from tests.intakes import DatadogIntake, NewRelicIntake

    aws.client("s3").create_bucket(Bucket=BUCKET)
    with DatadogIntake(valid_keys={DD_KEY}) as dd, NewRelicIntake(valid_keys={NR_KEY}) as nr:
        env = {"FORWARDER_DESTINATIONS": "datadog,newrelic", "DD_API_KEY": DD_KEY, "DD_LOGS_URL": dd.url,
               "NEW_RELIC_LICENSE_KEY": NR_KEY, "NEW_RELIC_LOGS_URL": nr.url, "ARCHIVE_BUCKET": BUCKET}  # fmt: skip
        yield aws, dd, nr, env


def s3_documents(aws: MotoServer) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    s3 = aws.client("s3")
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET).get("Contents", [])]
    stops, rejected = [], []
    for key in keys:
        assert key.startswith(PREFIX), key
        document = json.loads(s3.get_object(Bucket=BUCKET, Key=key)["Body"].read())
        (rejected if key.startswith(PREFIX + "rejected/") else stops).append(document)
    return stops, rejected


HANDLED = [item for item in ITEMS if item["expect"]["handler"] is not None]


@pytest.mark.parametrize("item", params("handler", HANDLED))
def test_handler(item: dict[str, Any], generated: Path, lambda_env: Any) -> None:
    aws, dd, nr, env = lambda_env
    expect = item["expect"]["handler"]
    event = decoded(item_path(item, generated))
    lines: list[str] = []
    runtime = Runtime.from_env(env, client_factory=aws.client, emit=lines.append)
    try:
        answer = shallow(runtime.handle, event, Context())
    except Exception:  # noqa: BLE001 - any raise is the failure being tested for
        pytest.fail(f"the handler raised for bad input:\n{traceback.format_exc()[-3000:]}")
    assert not any("Traceback" in line for line in lines)
    stops, rejected = s3_documents(aws)
    if expect["outcome"] == "rejected":
        assert answer["rejected"] == expect["kind"] and answer["deliveries"] == {}
        assert stops == [] and len(rejected) == 1
        [document] = rejected
        assert document["schema"] == REJECTED_SCHEMA and document["kind"] == expect["kind"]
        for part in expect["reason"]:
            assert part in document["reason"], document["reason"]
        assert canonical(document["input"]) == canonical(redact(event))
        assert dd.requests == [] and nr.requests == []
        assert any(json.loads(line).get("kind") == expect["kind"] for line in lines)
        return
    assert answer["rejected"] is None
    assert answer["deliveries"] == {"datadog": "delivered", "newrelic": "delivered"}
    assert rejected == [] and len(stops) == 1
    [document] = stops
    assert document["category"] == expect["category"]
    assert {n: d["status"] for n, d in document["deliveries"].items()} == {
        "datadog": "delivered",
        "newrelic": "delivered",
    }
    [dd_log] = dd.accepted
    [nr_log] = nr.accepted
    assert dd_log["ecs_stop"]["event_id"] == nr_log["event_id"] == document["event_id"]
    assert dd_log["ecs_stop"]["category"] == nr_log["category"] == expect["category"]
    assert dd.truncated_by_vendor == [], (
        "a log over Datadog's 1 MB limit was sent (the vendor cuts it silently)"
    )


# --- replay --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("item", params("replay"))
def test_replay_goes_on_past_the_item(item: dict[str, Any], generated: Path, clean_env: Path) -> None:
    path = item_path(item, generated)
    expect = item["expect"]["replay"]
    folder = clean_env / "replay"
    folder.mkdir()
    shutil.copy(path, folder / path.name)
    shutil.copy(GOOD, folder / "zz-good-event.json")  # read after the item
    code, out, err = cli("replay", str(folder), "--to", "stdout")
    assert "Traceback" not in out + err, err[-3000:]
    assert code == expect["exit"], err[-2000:]
    records = [json.loads(line) for line in out.splitlines()]
    good_id = json.loads(GOOD.read_text())["id"]
    assert [r["event_id"] for r in records].count(good_id) == 1
    assert len(records) == expect["records"] + 1
    assert all(r["replayed"] is True for r in records)
    if expect["exit"]:
        assert str(folder / path.name) in err
