"""``report``: crash loops, the per-group table, the JSON document, filters, exit codes, and that
none of it reaches the Lambda. The archive is built by ``tests/report_archive.py``; what to expect
comes from how it was built."""

from __future__ import annotations

import gzip
import io
import json
import random
import subprocess
import sys
import zipfile
from collections import Counter
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from forwarder.cli import main
from forwarder.parse import parse_event
from forwarder.report.loops import LoopRule, LoopTracker
from forwarder.report.tally import Tally
from tests import report_archive
from tests.aws import MotoServer
from tests.report_archive import LOOP, Expected

ROOT = Path(__file__).resolve().parent.parent


def run(*argv: str, tty: bool = False) -> tuple[int, str, str]:
    out, err = (_Tty() if tty else io.StringIO()), io.StringIO()
    code = main(list(argv), out, err)
    return code, out.getvalue(), err.getvalue()


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def iso(moment: Any) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.000Z")


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Expected]:
    folder = tmp_path_factory.mktemp("archive")
    return folder, report_archive.build(folder)


def test_a_crash_loop_among_normal_traffic_is_one_loop_with_its_start_end_count_and_category(
    archive: tuple[Path, Expected],
) -> None:
    folder, expected = archive
    code, out, err = run("report", str(folder), "--json")
    assert code == 0, err
    document = json.loads(out)
    cluster, service, family = LOOP
    assert document["loops"] == [
        {
            "cluster": cluster, "service": service, "family": family,
            "category": expected.loop_category, "hint": expected.loop_hint,
            "first": iso(expected.loop_first), "last": iso(expected.loop_last),
            "count": expected.loop_count, "ongoing": False,
            "categories": {expected.loop_category: expected.loop_count},
        }
    ]  # fmt: skip
    # ended: the task ran fine for an hour after the last failure, and the archive ends then
    assert expected.end - expected.loop_last > timedelta(minutes=15)


def test_the_loop_is_ongoing_when_the_window_ends_inside_it(archive: tuple[Path, Expected]) -> None:
    folder, expected = archive
    until = expected.loop_last + timedelta(minutes=5)
    code, out, err = run("report", str(folder), "--json", "--until", iso(until))
    assert code == 0, err
    [loop] = json.loads(out)["loops"]
    assert (loop["first"], loop["last"], loop["count"], loop["ongoing"]) == (
        iso(expected.loop_first), iso(expected.loop_last), expected.loop_count, True
    )  # fmt: skip


def test_every_group_and_category_is_counted(archive: tuple[Path, Expected]) -> None:
    folder, expected = archive
    document = json.loads(run("report", str(folder), "--json")[1])
    assert document["events"] == sum(expected.stops.values())
    assert document["categories"] == dict(expected.categories)
    groups = {(g["cluster"], g["service"], g["family"]): g for g in document["groups"]}
    assert {group: g["stops"] for group, g in groups.items()} == dict(expected.stops)
    assert {group: g["errors"] for group, g in groups.items()} == dict(expected.errors)
    assert {group: g["last_stop"] for group, g in groups.items()} == {g: iso(t) for g, t in expected.last.items()}
    assert groups[LOOP]["service"] is None and groups[LOOP]["top_category"] == expected.loop_category
    # what needs attention first: the group with a loop heads the table
    assert (document["groups"][0]["cluster"], document["groups"][0]["family"]) == (LOOP[0], LOOP[2])
    assert document["late"] == document["duplicates_skipped"] == document["invalid"] == 0


def test_filters_are_replays(archive: tuple[Path, Expected]) -> None:
    folder, expected = archive
    cluster, _, family = LOOP
    document = json.loads(run("report", str(folder), "--json", "--family", family, "--min-severity", "error")[1])
    assert document["events"] == expected.errors[LOOP]
    assert [(g["cluster"], g["family"]) for g in document["groups"]] == [(cluster, family)]
    since = expected.loop_first + timedelta(hours=1)
    document = json.loads(run("report", str(folder), "--json", "--since", iso(since), "--family", family)[1])
    [loop] = document["loops"]
    assert loop["first"] == iso(since) and loop["last"] == iso(expected.loop_last)


def test_the_terminal_table_names_the_loop_and_paints_only_on_a_tty(archive: tuple[Path, Expected]) -> None:
    folder, expected = archive
    code, plain, _ = run("report", str(folder))
    assert code == 0
    assert "\033[" not in plain
    table = plain.split("\n\n")[1].splitlines()
    assert table[1].startswith("books-batch/newarrivals-batch (task)") and table[1].endswith("loop")
    assert f"{expected.loop_count} stops  {expected.loop_first:%Y-%m-%d %H:%M} to {expected.loop_last:%Y-%m-%d %H:%M}" in plain
    _, painted, _ = run("report", str(folder), tty=True)
    assert "\033[" in painted


def test_the_same_archive_in_s3_reports_the_same(archive: tuple[Path, Expected], aws: MotoServer) -> None:
    folder, _ = archive
    s3 = aws.client("s3")
    s3.create_bucket(Bucket="stops")
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            s3.put_object(Bucket="stops", Key=path.relative_to(folder).as_posix(), Body=path.read_bytes())
    local = json.loads(run("report", str(folder), "--json")[1])
    code, out, err = run("report", "s3://stops/ecs-task-stop-log", "--json")
    assert code == 0, err
    assert json.loads(out) == local
    window = ["--since", local["loops"][0]["first"], "--until", local["loops"][0]["last"]]
    code, out, err = run("report", "s3://stops/ecs-task-stop-log/", "--json", *window)
    assert code == 0, err
    assert json.loads(out)["loops"][0]["count"] == local["loops"][0]["count"]


def test_corrupt_input_is_reported_and_exits_1(archive: tuple[Path, Expected], tmp_path: Path) -> None:
    folder, expected = archive
    broken = tmp_path / "broken.gz"
    broken.write_bytes(gzip.compress(b'{"version": "0", "id": "x"}')[:-9])
    code, out, err = run("report", str(folder), str(broken), "--json")
    assert code == 1
    assert "broken.gz" in err
    assert json.loads(out)["events"] == sum(expected.stops.values())
    code, out, err = run("report", str(tmp_path / "nothing-here"))
    assert code == 1 and "no such file" in err and out.startswith("no stop")


@pytest.mark.parametrize(
    "options",
    [["--since", "2026-11-29", "--until", "2026-11-28"], ["--loop-threshold", "1"], ["--loop-window", "soon"],
     ["--category", "no-such-category"], ["--latest", "-1"]],
)  # fmt: skip
def test_usage_errors_exit_2(archive: tuple[Path, Expected], options: list[str]) -> None:
    code, _, err = run("report", str(archive[0]), *options)
    assert code == 2, err


def test_html_without_the_extra_names_it(archive: tuple[Path, Expected], monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delitem(sys.modules, "forwarder.report.html", raising=False)
    monkeypatch.setitem(sys.modules, "jinja2", None)  # as if it were not installed
    code, _, err = run("report", str(archive[0]), "--html", str(tmp_path / "page.html"))
    assert code == 2
    assert "'report' extra" in err and "jinja2" in err and "ecs-stop-forwarder[report]" in err
    assert not (tmp_path / "page.html").exists()


def test_the_page_shows_nothing_the_archive_redacted(archive: tuple[Path, Expected], tmp_path: Path) -> None:
    """Five fixtures carry DB_PASSWORD=canary-override-secret-N in their overrides: the Firehose
    objects hold them as EventBridge sent them, the archive documents redacted; the page never."""
    folder, expected = archive
    raw = b"".join(gzip.decompress(path.read_bytes()) for path in folder.rglob("*.gz"))
    assert b"canary-override-secret" in raw
    assert not any(b"canary-override-secret" in path.read_bytes() for path in folder.rglob("*.json"))
    page = tmp_path / "page.html"
    code, _, err = run("report", str(folder), "--html", str(page), "--latest", "100000")
    assert code == 0, err
    text = page.read_text()
    assert text.count('class="stop"') == sum(expected.stops.values())  # every stop is in the table
    assert "canary-override-secret" not in text


# --- the core, without files ----------------------------------------------------------------------


def _records(expected_stream: list[tuple[dict[str, Any], str]]) -> list[Any]:
    return [parse_event(event) for event, _ in expected_stream]


def test_stops_out_of_order_within_the_reorder_window_give_the_same_report() -> None:
    stream, _ = report_archive.events()
    records = _records(stream)
    ordered = Tally()
    for record in records:
        ordered.add(record)
    rng = random.Random(23)
    shuffled, hour = [], []
    for record in records:  # each hour's stops in a random order, as archive documents come
        if hour and record.time[:13] != hour[0].time[:13]:
            rng.shuffle(hour)
            shuffled.extend(hour)
            hour = []
        hour.append(record)
    rng.shuffle(hour)
    shuffled.extend(hour)
    assert shuffled != records
    tally = Tally()
    for record in shuffled:
        tally.add(record)
    one, other = ordered.summary(), tally.summary()
    assert one.loops == other.loops and one.groups == other.groups and one.late == other.late == 0


def test_a_stop_older_than_the_reorder_window_is_late_and_a_copy_is_a_duplicate() -> None:
    stream, expected = report_archive.events()
    records = _records(stream)
    tally = Tally()
    for record in records:
        tally.add(record)
    first_failure = next(r for r in records if r.family == LOOP[2] and r.severity == "error")
    tally.add(records[-1])  # the same event again, at once: skipped
    tally.add(replace(first_failure, event_id="late-one"))  # hours after its group moved on
    summary = tally.summary()
    assert (summary.duplicates, summary.late) == (1, 1)
    assert summary.events == len(records) + 1
    [(_, loop)] = summary.loops
    assert loop.count == expected.loop_count  # the late stop is not in a loop


def _loops(times_minutes: list[float], rule: LoopRule | None = None, categories: list[str] | None = None) -> list[Any]:
    tracker = LoopTracker(rule or LoopRule())
    for index, minute in enumerate(times_minutes):
        category = categories[index] if categories else "app-crashed"
        tracker.add(int(minute * 60_000), category, f"hint {index}")
    return tracker.loops(None)


def test_three_error_stops_within_the_window_make_a_loop_two_or_a_wider_spread_do_not() -> None:
    assert _loops([0, 1]) == []
    assert _loops([0, 8, 16, 24, 32]) == []  # never 3 within 15 minutes
    [loop] = _loops([0, 7.5, 15])  # 15 minutes exactly is within
    assert (loop.first, loop.last, loop.count) == (0, 15 * 60_000, 3)
    assert _loops([0, 2, 4], LoopRule(threshold=4)) == []


def test_a_pause_shorter_than_the_window_continues_a_loop_a_longer_one_splits_it() -> None:
    [loop] = _loops([0, 1, 2, 12, 20, 21, 22])  # 12 is no hot stop, but within 15 minutes of both
    assert (loop.first, loop.last, loop.count) == (0, 22 * 60_000, 7)
    one, two = _loops([0, 1, 2, 40, 41, 42, 43])
    assert (one.first, one.last, one.count) == (0, 2 * 60_000, 3)
    assert (two.first, two.last, two.count) == (40 * 60_000, 43 * 60_000, 4)


def test_a_loop_names_its_dominant_category_and_that_categorys_latest_hint() -> None:
    [loop] = _loops([0, 1, 2, 3], categories=["image-not-found", "app-crashed", "app-crashed", "image-not-found"])
    assert loop.category == "image-not-found" and loop.hint == "hint 3"  # a tie: the first seen
    assert loop.categories == {"image-not-found": 2, "app-crashed": 2}


# --- the Lambda never sees it ---------------------------------------------------------------------


def test_the_lambda_handler_imports_none_of_it_and_its_zip_holds_none_of_it(tmp_path: Path) -> None:
    code = ("import sys, forwarder.handler; print(sorted(m for m in sys.modules if m.split('.')[0] in "
            "('jinja2', 'markupsafe', 'matplotlib', 'numpy') or m.startswith('forwarder.report')))")  # fmt: skip
    imported = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert imported.stdout.strip() == "[]"
    from forwarder.package import build

    with zipfile.ZipFile(build(tmp_path / "lambda.zip", runtime=None).path) as artifact:
        tops = Counter(name.split("/")[0] for name in artifact.namelist())
    assert not {"jinja2", "markupsafe", "matplotlib", "numpy", "PIL"} & set(tops)


# --- make demo --------------------------------------------------------------------------------------


def test_what_make_demo_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """send --to none --brief: archived, one line per stop as explain --brief prints it, no JSON;
    then report --html: the summary, and where the page is."""
    for name in ("FORWARDER_DESTINATIONS", "ARCHIVE_BUCKET", "FORWARDER_ENRICH", "DD_API_KEY", "NEW_RELIC_LICENSE_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    events = str(ROOT / "fixtures" / "events")
    code, lines, err = run("send", "--to", "none", "--brief", "--archive", "./archive", events)
    assert code == 0, err
    _, explained, _ = run("explain", "--brief", events)
    assert lines.splitlines() == explained.splitlines()[:-1]  # explain closes with a count line
    count = len(list((ROOT / "fixtures" / "events").glob("*.json")))
    assert len(lines.splitlines()) == count and not lines.lstrip().startswith("{")
    assert f"{count} stop record(s), 0 rejected" in err and "destinations: none" in err
    assert len(list((tmp_path / "archive").rglob("*.json"))) == count
    code, summary, err = run("report", "./archive", "--html", "report.html")
    assert code == 0, err
    assert summary.startswith(f"{count} stop(s)")
    assert f"report: wrote {tmp_path / 'report.html'}" in err and (tmp_path / "report.html").stat().st_size > 0
