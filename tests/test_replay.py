"""Replay from S3 (moto over HTTP) and folders: both archive formats, filters, dedup, resume, timestamps."""

from __future__ import annotations

import copy
import gzip
import io
import json
import os
import sys
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from forwarder.cli import main
from forwarder.parse import parse_event
from forwarder.payloads import Replay, record_timestamp_ms
from forwarder.replay.digest import HOUR_MS, MARGIN_MS, replay_mark
from forwarder.replay.ledger import Checkpoint
from forwarder.replay.replayer import Replayer
from forwarder.replay.selection import Selection, Window
from forwarder.replay.sources import list_sources
from forwarder.replay.tuning import Tuning
from forwarder.replay.workers import WorkerPool
from tests.aws import MotoServer
from tests.events import container, make_event
from tests.fixtures import stopped_events
from tests.intakes import DatadogIntake, NewRelicIntake, Respond

DD_KEY, NR_KEY = "canary-replay-dd", "canary-replay-nr"
BUCKET = "backups"


def firehose_object(events: list[dict[str, Any]], *, newline: bool = False, compress: bool = True) -> bytes:
    text = ("\n" if newline else "").join(json.dumps(e, separators=(",", ":")) for e in events)
    return gzip.compress(text.encode()) if compress else text.encode()


def hour_key(event: dict[str, Any], prefix: str = "ecs-task-stop-log/") -> str:
    moment = datetime.fromisoformat(event["time"].replace("Z", "+00:00"))
    return f"{prefix}{moment:%Y/%m/%d/%H}/"


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    return main(list(argv), out, err), out.getvalue(), err.getvalue()


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> pytest.MonkeyPatch:
    for name in ("FORWARDER_DESTINATIONS", "DD_API_KEY", "NEW_RELIC_LICENSE_KEY", "ARCHIVE_BUCKET"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    return monkeypatch


@pytest.fixture
def vendors(env: pytest.MonkeyPatch) -> Any:
    with DatadogIntake(valid_keys={DD_KEY}) as dd, NewRelicIntake(valid_keys={NR_KEY}) as nr:
        env.setenv("DD_API_KEY", DD_KEY)
        env.setenv("DD_LOGS_URL", dd.url)
        env.setenv("NEW_RELIC_LICENSE_KEY", NR_KEY)
        env.setenv("NEW_RELIC_LOGS_URL", nr.url)
        yield dd, nr


def put_firehose_backups(aws: MotoServer, events: list[dict[str, Any]]) -> list[str]:
    """Group events by hour as Firehose does, alternating the shapes Firehose and users produce."""
    s3 = aws.client("s3")
    by_hour: dict[str, list[dict[str, Any]]] = {}
    for event in events:
        by_hour.setdefault(hour_key(event), []).append(event)
    keys = []
    for index, (folder, group) in enumerate(sorted(by_hour.items())):
        key = f"{folder}ecs-task-stop-log-1-{uuid.uuid4()}"
        body = firehose_object(group, newline=index % 3 == 1, compress=index % 3 != 2)
        s3.put_object(Bucket=BUCKET, Key=key + (".gz" if index % 3 != 2 else ""), Body=body)
        keys.append(key)
    return keys


def test_firehose_backups_in_s3_all_shapes(aws: MotoServer, vendors: Any) -> None:
    dd, nr = vendors
    aws.client("s3").create_bucket(Bucket=BUCKET)
    events = stopped_events()
    put_firehose_backups(aws, events)
    code, _, err = run("replay", "--to", "datadog,newrelic", f"s3://{BUCKET}/ecs-task-stop-log/")
    assert code == 0, err
    ids = sorted(e["id"] for e in events)
    assert sorted(log["ecs_stop"]["event_id"] for log in dd.accepted) == ids
    assert sorted(log["event_id"] for log in nr.accepted) == ids
    assert all("replayed:true" in log["ddtags"].split(",") and log["replayed"] is True for log in dd.accepted)
    assert all(log["replayed"] is True for log in nr.accepted)
    assert f"read {len(events)} · matched {len(events)}" in err


def test_dedup_across_both_archives_and_a_truncated_object(
    aws: MotoServer, vendors: Any, tmp_path: Path
) -> None:
    dd, _ = vendors
    aws.client("s3").create_bucket(Bucket=BUCKET)
    events = stopped_events()
    # This tool's own archive for all events, via send, in S3 ...
    code, _, err = run("send", "--to", "stdout", "--archive", f"s3://{BUCKET}/ecs-task-stop-log/", *(
        str(p) for p in sorted((Path(__file__).parent.parent / "fixtures" / "events").glob("*.json"))))  # fmt: skip
    assert code == 0, err
    # ... and Firehose backups of the same events (at-least-once: one event twice), plus a broken object.
    put_firehose_backups(aws, [*events, events[0]])
    broken = gzip.compress(firehose_object(events[:5], compress=False))
    aws.client("s3").put_object(
        Bucket=BUCKET, Key="ecs-task-stop-log/2026/11/28/00/broken.gz", Body=broken[:-40]
    )
    code, _, err = run("replay", "--to", "datadog", f"s3://{BUCKET}/ecs-task-stop-log/")
    assert code == 1  # the broken object is reported ...
    assert f"s3://{BUCKET}/ecs-task-stop-log/2026/11/28/00/broken.gz at offset" in err and "gzip" in err
    counts = dd.accepted_count_by(lambda log: log["ecs_stop"]["event_id"])
    assert sorted(counts) == sorted(e["id"] for e in events)  # ... and the rest is sent, each once
    assert set(counts.values()) == {1}
    assert "duplicates skipped" in err


def test_only_undelivered_resends_what_the_archive_says_failed(vendors: Any, tmp_path: Path) -> None:
    dd, nr = vendors
    archive = tmp_path / "arch"
    nr.valid_keys = {"not-this-one"}  # New Relic rejects the key while Datadog accepts
    fixtures = Path(__file__).parent.parent / "fixtures" / "events"
    code, _, _ = run("send", "--archive", str(archive), str(fixtures))
    assert code == 1 and len(dd.accepted) == len(stopped_events()) and nr.accepted == []
    firehose = tmp_path / "firehose.gz"  # a Firehose-only event has no delivery record: not resent
    firehose.write_bytes(firehose_object([make_event(event_id="firehose-only")]))
    nr.valid_keys = {NR_KEY}  # the key was fixed
    dd.reset()
    code, _, err = run("replay", "--only-undelivered", str(archive), str(firehose))
    assert code == 0, err
    assert dd.accepted == []
    assert sorted(log["event_id"] for log in nr.accepted) == sorted(e["id"] for e in stopped_events())
    assert "already delivered 0" in err


def test_only_undelivered_resends_a_retryable_failure_too(vendors: Any, tmp_path: Path) -> None:
    """failed-retryable (an outage that outlasted the send's retries) is not delivered either."""
    dd, nr = vendors
    archive = tmp_path / "arch"
    events = stopped_events()[:5]
    source = tmp_path / "events.jsonl"
    source.write_text("\n".join(json.dumps(e) for e in events))
    nr.fail_all(503)  # New Relic is down for the whole send
    code, _, _ = run("send", "--archive", str(archive), "--timeout", "0.5", str(source))
    documents = [json.loads(p.read_text()) for p in sorted(archive.rglob("*.json"))]
    assert code == 1 and {d["deliveries"]["newrelic"]["status"] for d in documents} == {"failed-retryable"}
    assert {d["deliveries"]["datadog"]["status"] for d in documents} == {"delivered"}
    nr.reset()
    dd.reset()
    code, _, err = run("replay", "--only-undelivered", str(archive))
    assert code == 0, err
    assert dd.accepted == []
    assert sorted(log["event_id"] for log in nr.accepted) == sorted(e["id"] for e in events)


def test_only_undelivered_sends_to_a_destination_the_archive_never_had(vendors: Any, tmp_path: Path) -> None:
    """Archived when only Datadog was configured: replayed to both with --only-undelivered, New
    Relic (no delivery recorded at all) gets every event and Datadog none."""
    dd, nr = vendors
    archive = tmp_path / "arch"
    events = stopped_events()[:3]
    source = tmp_path / "events.jsonl"
    source.write_text("\n".join(json.dumps(e) for e in events))
    code, _, err = run("send", "--to", "datadog", "--archive", str(archive), str(source))
    assert code == 0, err
    assert all(set(json.loads(p.read_text())["deliveries"]) == {"datadog"} for p in archive.rglob("*.json"))
    dd.reset()
    code, _, err = run("replay", "--to", "datadog,newrelic", "--only-undelivered", str(archive))
    assert code == 0, err
    assert dd.accepted == []
    assert sorted(log["event_id"] for log in nr.accepted) == sorted(e["id"] for e in events)


def test_only_undelivered_sends_what_a_claim_left_in_flight(vendors: Any, tmp_path: Path) -> None:
    """A claim is not a delivery: what a container killed between claiming and recording left
    ``in-flight`` is sent by ``--only-undelivered``; what it records as delivered is not."""
    dd, nr = vendors
    archive = tmp_path / "arch"
    source = tmp_path / "event.json"
    source.write_text(json.dumps(make_event(event_id="claimed-then-killed", reason="OutOfMemoryError")))
    code, _, err = run("send", "--archive", str(archive), str(source))
    assert code == 0, err
    [path] = archive.rglob("*.json")
    document = json.loads(path.read_text())
    assert {n: d["status"] for n, d in document["deliveries"].items()} == {"datadog": "delivered",
                                                                           "newrelic": "delivered"}  # fmt: skip
    document["deliveries"]["datadog"] = {"status": "in-flight", "claimed_by": "a-dead-container/1f2e",
                                         "expires": "2026-11-28T10:06:00.000Z", "attempts": 0, "at": "2026-11-28T10:05:30.000Z"}  # fmt: skip
    path.write_text(json.dumps(document, separators=(",", ":")) + "\n")
    dd.reset()
    nr.reset()
    code, _, err = run("replay", "--only-undelivered", str(archive))
    assert code == 0, err
    assert [log["ecs_stop"]["event_id"] for log in dd.accepted] == ["claimed-then-killed"]
    assert nr.accepted == []


def test_filters(vendors: Any, tmp_path: Path) -> None:
    dd, _ = vendors
    events = stopped_events()
    source = tmp_path / "events.jsonl"
    source.write_text("\n".join(json.dumps(e) for e in events))
    records = [parse_event(e) for e in events]
    cluster = records[0].cluster
    code, _, err = run("replay", "--to", "datadog", "--cluster", str(cluster), "--category", "app-crashed",
                       "--category", "out-of-memory", "--min-severity", "error", str(source))  # fmt: skip
    assert code == 0, err
    expected = sorted(
        r.event_id for r in records if r.cluster == cluster and r.category in ("app-crashed", "out-of-memory")
    )
    assert sorted(log["ecs_stop"]["event_id"] for log in dd.accepted) == expected
    dd.reset()
    family = next(r.family for r in records if r.service is None)
    run("replay", "--to", "datadog", "--family", str(family), str(source))
    assert {log["ecs_stop"]["family"] for log in dd.accepted} == {family}
    dd.reset()
    service = next(r.service for r in records if r.service)
    run("replay", "--to", "datadog", "--service", str(service), str(source))
    assert {log["ecs_stop"]["service"] for log in dd.accepted} == {service}


def _hourly_objects(aws: MotoServer) -> Any:
    """48 hourly Firehose objects under ``p/`` (event ``hN`` at hour N from 2026-11-28T00); the S3
    client."""
    s3 = aws.client("s3")
    s3.create_bucket(Bucket=BUCKET)
    base = datetime(2026, 11, 28, 0, tzinfo=UTC)
    for hour in range(48):
        moment = base + timedelta(hours=hour)
        event = make_event(event_id=f"h{hour}", stoppedAt=moment.strftime("%Y-%m-%dT%H:%M:%S.000Z"))
        event["time"] = moment.strftime("%Y-%m-%dT%H:%M:%SZ")
        s3.put_object(Bucket=BUCKET, Key=f"p/{moment:%Y/%m/%d/%H}/obj.gz", Body=firehose_object([event]))
    return s3


def _listing(aws: MotoServer, listed: list[str]) -> Any:
    """A client factory whose S3 clients record the prefix of every ListObjectsV2 call."""

    def factory(service: str) -> Any:
        client = aws.client(service)
        client.meta.events.register(
            "provide-client-params.s3.ListObjectsV2",
            lambda params, **_: listed.append(params.get("Prefix", "")),
        )
        return client

    return factory


HOURS_10_30_TO_12_15 = Window(datetime(2026, 11, 28, 10, 30, tzinfo=UTC), datetime(2026, 11, 28, 12, 15, tzinfo=UTC))


def test_time_window_lists_only_the_hours_inside_it(aws: MotoServer) -> None:
    _hourly_objects(aws)
    window = HOURS_10_30_TO_12_15
    in_window = [f"s3://{BUCKET}/p/2026/11/28/{h:02d}/obj.gz" for h in range(9, 14)]  # one hour of slack
    for source, probes in ((f"s3://{BUCKET}/p/", ["p/"]), (f"s3://{BUCKET}/p", ["p", "p/"])):  # the slash or not
        listed: list[str] = []
        names = [o.name for o in list_sources([source], window, _listing(aws, listed))]  # type: ignore[union-attr]
        assert names == in_window
        assert listed == [*probes, *(f"p/2026/11/28/{h:02d}/" for h in range(9, 14))]  # then one listing an hour
    sent: list[str] = []
    stats = Replayer(("stdout",), lambda name: _Collect(sent), Selection(window)).run(
        list_sources([f"s3://{BUCKET}/p/"], window, aws.client)
    )
    assert sent == ["h11", "h12"] and stats.read == 5 and stats.matched == 2


def test_an_object_beside_the_hour_folders_is_not_missed(aws: MotoServer) -> None:
    """Listing hour by hour would never find an object directly under the prefix (a file someone
    put there): then the whole prefix is listed, and hours outside the window are still passed over."""
    s3 = _hourly_objects(aws)
    s3.put_object(Bucket=BUCKET, Key="p/put-by-hand.json", Body=json.dumps(make_event(event_id="by-hand")).encode())
    listed: list[str] = []
    names = [o.name for o in list_sources([f"s3://{BUCKET}/p/"], HOURS_10_30_TO_12_15, _listing(aws, listed))]  # type: ignore[union-attr]
    assert names == [*(f"s3://{BUCKET}/p/2026/11/28/{h:02d}/obj.gz" for h in range(9, 14)), f"s3://{BUCKET}/p/put-by-hand.json"]
    assert listed == ["p/", "p/"]  # the layout probe, then the whole prefix


class _Collect:
    """A destination that records event ids (for engine-level tests)."""

    name = "stdout"

    def __init__(self, sink: list[str]) -> None:
        self.sink = sink

    def log(self, record: Any, replay: Any = None) -> dict[str, Any]:
        return {"id": record.event_id, "ts": replay.timestamp_ms if replay else None}

    @property
    def encoder(self) -> Any:
        return lambda record, replay: json.dumps(self.log(record, replay)).encode()

    def send(self, parts: Any, deadline: float) -> list[Any]:
        from forwarder.destinations.base import DELIVERED, Outcome

        self.sink.extend(json.loads(part)["id"] for part in parts)
        return [Outcome(self.name, DELIVERED, 1)] * len(parts)

    def close(self) -> None:
        pass


def test_resume_after_an_interruption(tmp_path: Path) -> None:
    chunk_objects = Tuning().chunk_objects
    folder = tmp_path / "objects"
    folder.mkdir()
    total = chunk_objects * 2 + 20  # digested chunk_objects at a time: the run is stopped after the first
    for index in range(total):
        events = [make_event(event_id=f"o{index}-e{j}") for j in range(5)]
        (folder / f"{index:03d}.gz").write_bytes(firehose_object(events))
    checkpoint = tmp_path / "checkpoint"
    sent: list[str] = []

    def interrupt(stats: Any) -> None:
        if stats.objects:
            raise KeyboardInterrupt

    first = Replayer(("stdout",), lambda name: _Collect(sent), Selection(), checkpoint=Checkpoint(checkpoint),
                     progress=interrupt, tuning=Tuning(batch=5), concurrency=2)  # fmt: skip
    with pytest.raises(KeyboardInterrupt):
        first.run(list_sources([str(folder)], Window(), lambda s: None))
    finished = checkpoint.read_text().splitlines()
    assert 0 < len(finished) <= chunk_objects
    second = Replayer(
        ("stdout",), lambda name: _Collect(sent), Selection(), checkpoint=Checkpoint(checkpoint), tuning=Tuning(batch=5)
    )
    stats = second.run(list_sources([str(folder)], Window(), lambda s: None))
    assert stats.objects_skipped == len(finished)
    assert sorted(set(sent)) == sorted(f"o{i}-e{j}" for i in range(total) for j in range(5))
    assert len(sent) - len(set(sent)) <= 5 * 2  # at most the batches in flight at the interruption
    assert len(checkpoint.read_text().splitlines()) == total


def test_a_checkpoint_cut_mid_line_does_not_swallow_the_next_mark(tmp_path: Path) -> None:
    """A checkpoint whose last line lost its newline (the disk filled, the machine died mid-write):
    the next run starts its marks on a line of their own, so a third run skips what the second
    finished instead of sending it again."""
    folder = tmp_path / "objects"
    write_objects(folder, 4)
    names = [str(folder / f"{i:03d}.json") for i in range(4)]
    checkpoint = tmp_path / "checkpoint"
    checkpoint.write_text(names[0] + "\n" + names[1][:-3])  # the second name cut short, no newline
    sent: list[str] = []
    Replayer(("stdout",), lambda name: _Collect(sent), Selection(), checkpoint=Checkpoint(checkpoint)).run(
        list_sources([str(folder)], Window(), lambda s: None)
    )
    assert sorted(sent) == [f"o{i}-e{j}" for i in (1, 2, 3) for j in range(3)]  # the cut name matched nothing
    again: list[str] = []
    stats = Replayer(("stdout",), lambda name: _Collect(again), Selection(), checkpoint=Checkpoint(checkpoint)).run(
        list_sources([str(folder)], Window(), lambda s: None)
    )
    assert again == [] and stats.objects_skipped == 4


def test_a_file_name_that_is_not_utf8_is_checkpointed_and_skipped(tmp_path: Path) -> None:
    """A local file's name may hold bytes that are not UTF-8 (Python reads them as surrogates):
    marking it died with a UnicodeEncodeError after the batch was sent. It is written and read
    back as it is, so a re-run skips it."""
    import os

    folder = tmp_path / "objects"
    folder.mkdir()
    weird = os.path.join(os.fsencode(folder), b"caf\xe9.json")
    with open(weird, "w") as handle:
        json.dump([make_event(event_id="weird-e0")], handle)
    checkpoint = tmp_path / "checkpoint"
    sent: list[str] = []
    for _ in range(2):
        stats = Replayer(("stdout",), lambda name: _Collect(sent), Selection(), checkpoint=Checkpoint(checkpoint)).run(
            list_sources([str(folder)], Window(), lambda s: None)
        )
    assert sent == ["weird-e0"] and stats.objects_skipped == 1
    assert checkpoint.read_bytes() == weird + b"\n"


def test_objects_digested_together_are_checkpointed_one_by_one(tmp_path: Path) -> None:
    """Objects are digested and queued many at a time, and batches cut across them, but each is
    checkpointed on its own: a record that failed keeps only its own object out."""
    from forwarder.destinations.base import DELIVERED, FAILED_RETRYABLE, Outcome

    class FailObject7(_Collect):
        def send(self, parts: Any, deadline: float) -> list[Any]:
            ids = [json.loads(part)["id"] for part in parts]
            self.sink.extend(ids)
            return [
                Outcome(self.name, FAILED_RETRYABLE if i.startswith("o7-") else DELIVERED, 1) for i in ids
            ]

    folder = tmp_path / "objects"
    write_objects(folder, 30)
    checkpoint = tmp_path / "checkpoint"
    sent: list[str] = []
    pieces: list[int] = []
    stats = Replayer(("stdout",), lambda name: FailObject7(sent), Selection(), checkpoint=Checkpoint(checkpoint),
                     progress=lambda stats: pieces.append(stats.objects), tuning=Tuning(batch=4)).run(
        list_sources([str(folder)], Window(), lambda s: None)
    )  # fmt: skip
    assert pieces[0] == 30  # one digest: the objects share it and its batches (of 4 records, 3 an object)
    assert stats.failed["stdout"] == 3 and len(sent) == 90
    assert sorted(checkpoint.read_text().splitlines()) == [
        str(folder / f"{i:03d}.json") for i in range(30) if i != 7
    ]


def test_throttling_is_ridden_out(vendors: Any, tmp_path: Path) -> None:
    dd, nr = vendors
    source = tmp_path / "events.json"
    source.write_text(json.dumps(stopped_events()))
    dd.script(Respond(429, {"Retry-After": "0"}), Respond(503))
    nr.script(Respond(503), Respond(429, {"Retry-After": "0"}))
    code, out, err = run("replay", "--json", str(source))
    assert code == 0, err
    summary = json.loads(out)
    assert summary["sent"] == {"datadog": len(stopped_events()), "newrelic": len(stopped_events())}
    assert summary["failed"] == {}


def test_dry_run_shows_and_counts_without_sending(vendors: Any, tmp_path: Path) -> None:
    dd, nr = vendors
    source = tmp_path / "events.json"
    source.write_text(json.dumps(stopped_events()[:3]))
    code, out, err = run("replay", "--dry-run", str(source))
    assert code == 0
    assert len([line for line in out.splitlines() if line.startswith("would send ")]) == 3
    assert "dry run: 3 event(s) would be sent to datadog, newrelic" in err
    assert dd.requests == [] and nr.requests == []


@pytest.mark.parametrize("problem", ["missing folder", "a folder", "binary"])
def test_a_checkpoint_that_cannot_be_used_stops_the_run_before_anything_is_sent(
    vendors: Any, tmp_path: Path, problem: str
) -> None:
    """A --checkpoint that cannot be read or written is a usage error (exit 2) that names it, raised
    before the first event is sent: found only at the first mark, the run died with a traceback
    after its first batch was delivered, and that batch was never recorded."""
    dd, nr = vendors
    source = tmp_path / "events.json"
    source.write_text(json.dumps(stopped_events()[:3]))
    checkpoint = tmp_path / "checkpoint"
    if problem == "missing folder":
        checkpoint = tmp_path / "no-such-folder" / "checkpoint"
    elif problem == "a folder":
        checkpoint.mkdir()
    else:
        checkpoint.write_bytes(gzip.compress(b"an archive object given by mistake"))
    code, out, err = run("replay", "--checkpoint", str(checkpoint), str(source))
    reason = {"missing folder": "cannot write it (No such file or directory)",
              "a folder": "cannot read it (Is a directory)", "binary": "cannot read it (binary, not a list of names)"}  # fmt: skip
    assert (code, err.strip()) == (2, f"error: checkpoint {checkpoint}: {reason[problem]}")
    assert dd.requests == [] and nr.requests == [] and out == ""


def test_a_dry_run_reads_the_checkpoint_but_never_writes_it(vendors: Any, tmp_path: Path) -> None:
    """The README's backfill: a dry run with --checkpoint, then the same command without
    --dry-run. A dry run that marked what it showed as finished would make the real run skip
    everything and send nothing."""
    dd, _ = vendors
    events = stopped_events()[:4]
    source = tmp_path / "archive"
    source.mkdir()
    for index, event in enumerate(events):
        (source / f"{index}.json").write_text(json.dumps(event))
    checkpoint = tmp_path / "backfill.done"
    checkpoint.write_text(str(source / "0.json") + "\n")  # finished by an earlier run
    command = ["replay", "--to", "datadog", "--checkpoint", str(checkpoint), str(source)]
    code, out, err = run(*command[:1], "--dry-run", *command[1:])
    assert code == 0, err
    assert len([line for line in out.splitlines() if line.startswith("would send ")]) == 3  # 0.json skipped
    assert checkpoint.read_text() == str(source / "0.json") + "\n" and dd.requests == []
    code, _, err = run(*command)
    assert code == 0, err
    assert sorted(log["ecs_stop"]["event_id"] for log in dd.accepted) == sorted(e["id"] for e in events[1:])
    assert sorted(checkpoint.read_text().splitlines()) == sorted(str(source / f"{i}.json") for i in range(4))


def test_timestamp_policy_at_the_window_edges() -> None:
    record = parse_event(make_event(containers=[container("app", 1)], stop_code="EssentialContainerExited"))
    original = record_timestamp_ms(record)
    assert original is not None
    for destination, window in (("datadog", 18 * HOUR_MS), ("newrelic", 48 * HOUR_MS)):
        inside = original + window - MARGIN_MS  # exactly at the edge: still the original time
        outside = inside + 1
        assert replay_mark(record, destination, "auto", inside).timestamp_ms == original
        mark = replay_mark(record, destination, "auto", outside)
        assert mark.timestamp_ms == outside and mark.original_timestamp_ms == original
        # every policy keeps the original time beside the one sent
        assert replay_mark(record, destination, "original", outside) == Replay(original, original)
        assert replay_mark(record, destination, "auto", inside) == Replay(original, original)
        assert replay_mark(record, destination, "now", original) == Replay(original, original)
        assert replay_mark(record, destination, "now", original + 5) == Replay(original + 5, original)
    # a stop stamped ahead of now (a skewed clock): Datadog takes logs at most 2 h ahead
    edge = original - (2 * HOUR_MS - MARGIN_MS)  # exactly at the edge: still the original time
    assert replay_mark(record, "datadog", "auto", edge) == Replay(original, original)
    assert replay_mark(record, "datadog", "auto", edge - 1) == Replay(edge - 1, original)
    # Datadog also refuses logs more than 2 h in the future.
    assert (
        replay_mark(record, "datadog", "auto", original - 2 * HOUR_MS + MARGIN_MS - 1).timestamp_ms
        != original
    )
    assert replay_mark(record, "datadog", "auto", original - HOUR_MS).timestamp_ms == original
    assert replay_mark(record, "stdout", "auto", original + 1000 * HOUR_MS).timestamp_ms == original


def test_old_events_are_sent_now_with_the_original_kept(vendors: Any, tmp_path: Path) -> None:
    dd, nr = vendors
    old = copy.deepcopy(make_event(event_id="old"))
    old["detail"]["stoppedAt"] = "2020-01-01T00:00:00.000Z"
    source = tmp_path / "old.json"
    source.write_text(json.dumps(old))
    code, _, err = run("replay", str(source))
    assert code == 0, err
    [log] = dd.accepted
    assert log["original_timestamp"] == 1577836800000 and log["timestamp"] > 1577836800000 + 48 * HOUR_MS
    [nr_log] = nr.accepted
    assert (
        nr_log["original_timestamp"] == 1577836800000 and nr_log["timestamp"] > nr_log["original_timestamp"]
    )


def test_bad_options_are_usage_errors(env: pytest.MonkeyPatch) -> None:
    assert run("replay", "--since", "yesterday-ish", ".")[0] == 2
    assert run("replay", "--category", "nope", ".")[0] == 2
    assert run("replay", "--to", "stdout", "--concurrency", "0", ".")[0] == 2
    # each sender holds a batch, each worker is an interpreter: no bound was a way to run out of memory
    assert run("replay", "--to", "stdout", "--concurrency", "65", ".")[2] == "error: --concurrency must be 1 to 64\n"
    assert run("replay", "--to", "stdout", "--workers", "65", ".")[2] == "error: --workers must be 0 to 64\n"
    # --since after --until matched nothing, silently, and exited 0
    code, out, err = run("replay", "--to", "stdout", "--since", "2026-11-29", "--until", "2026-11-28T12:00:00+02:00", ".")
    assert (code, out) == (2, "")
    assert err == "error: --since (2026-11-29T00:00:00Z) is after --until (2026-11-28T10:00:00Z): no event can match\n"
    # a rate or a timeout of 0 or less was taken: -1 requests/s as no limit, 0 s as no retries
    for option, value in (("--max-rps", "-1"), ("--max-rps", "0"), ("--timeout", "0"), ("--timeout", "nan")):
        code, out, err = run("replay", "--to", "stdout", option, value, ".")
        assert (code, out, err) == (2, "", f"error: {option} must be more than 0\n")


class _Hashed(str):
    """An id with a chosen hash: collisions and wrap-around are set up, not hoped for."""

    fixed: int

    def __new__(cls, text: str, fixed: int) -> _Hashed:
        made = super().__new__(cls, text)
        made.fixed = fixed
        return made

    def __hash__(self) -> int:
        return self.fixed


def test_seen_ids_probe_past_collisions_wrap_around_and_grow() -> None:
    from forwarder.replay.dedup import SeenIds

    seen = SeenIds(size=8)
    # hashes 7, 15, 23 all start at slot 7 of 8: the second and third wrap around to slots 0 and 1
    crowd = [_Hashed(f"c{i}", 7 + 8 * i) for i in range(3)]
    assert seen.fresh(crowd) == [0, 1, 2] and seen.fresh(crowd) == []
    assert seen.fresh([_Hashed("negative", -1 - 8 * 4)]) == [0]  # a negative hash takes its low bits too
    ids = [f"id-{i}" for i in range(1000)]
    assert all(seen.add(i) for i in ids)  # the table doubles again and again, keeping what it held
    assert not any(seen.add(i) for i in [*ids, *crowd])
    assert len(seen) == 1004 and seen.capacity * 5 >= len(seen) * 8  # never over 5/8 full
    held = sorted(seen.fingerprints())
    assert held == sorted([*(hash(i) for i in [*ids, *crowd]), -33])  # each once, nothing lost
    batch = ["b-0", "id-5", "b-1", "b-0", "b-2", "id-999", "b-1"]  # seen before, and twice in one batch
    assert seen.fresh(batch) == [0, 2, 4] and seen.fresh(batch) == []
    assert len(seen) == 1007
    big = [f"big-{i}" for i in range(50_000)]  # one digest larger than the table: room is made first
    assert seen.fresh(big) == list(range(50_000)) and len(seen) == 51_007
    # an id hashing to 0 is kept as 1 (0 marks an empty slot): the two read as the same id
    assert seen.fresh([_Hashed("zero", 0), _Hashed("one", 1)]) == [0]


def _archived_entry(record: Any, event: Any = None) -> Any:
    """What replay reads of an archive document holding ``record`` (and ``event``), as the
    forwarder writes it: (record, deliveries)."""
    from forwarder.archive_layout import SCHEMA, encode
    from forwarder.replay.read import entries

    document = {"schema": SCHEMA, "record": record, "event": event, "deliveries": {}}
    [entry] = entries(encode(document), "doc.json")
    assert not isinstance(entry, Exception), entry
    return entry[0]


def test_an_archived_record_is_sent_through_a_view_byte_for_byte_as_rebuilt() -> None:
    """Replay encodes an archive document's record through a view over its dict (no StopRecord
    rebuilt): every vendor encoding, with and without a replay mark, is the same bytes, and the
    filters read the same values."""
    from forwarder.model import ArchivedRecord, StopRecord
    from forwarder.payloads import DatadogEncoder, NewRelicEncoder, RecordEncoder, Replay

    encoders = [DatadogEncoder(), DatadogEncoder("custom", ("team:sre",)), NewRelicEncoder(), RecordEncoder()]
    records = [parse_event(event) for event in stopped_events()]
    many = copy.deepcopy(make_event(event_id="many-containers"))
    many["detail"]["containers"] = [container(name=f"c{i}") for i in range(60)]  # over MAX_CONTAINERS
    records.append(parse_event(many))
    for record in records:
        data = json.loads(json.dumps(record.to_dict()))  # as read back from an archive document
        view = _archived_entry(data)
        assert isinstance(view, ArchivedRecord)
        rebuilt = StopRecord.from_dict(data)
        for replay in (None, Replay(1_700_000_000_000, 1_600_000_000_000)):
            assert [e(view, replay) for e in encoders] == [e(rebuilt, replay) for e in encoders]
        for name in ("event_id", "time", "cluster", "service", "family", "category", "severity", "stopped_at",
                     "group_name", "revision", "task_arn", "message"):  # fmt: skip
            assert getattr(view, name) == getattr(rebuilt, name), name
        assert view.record() == rebuilt


@pytest.mark.parametrize(
    "change",
    ["extra field", "missing field", "reordered", "container extra field", "category not text", "bad severity"],
)
def test_a_record_not_exactly_as_archived_is_rebuilt_not_viewed(change: str) -> None:
    """Only a dict with exactly a record's fields, in order, is sent as it is: anything else is
    rebuilt through StopRecord.from_dict (which drops unknown fields) or re-parsed from the event."""
    from forwarder.model import StopRecord
    from forwarder.payloads import DatadogEncoder

    event = make_event(event_id="tampered")
    data = parse_event(event).to_dict()
    if change == "extra field":
        data["injected"] = "not a record field"
    elif change == "missing field":
        del data["hint"]
    elif change == "reordered":
        data = dict(reversed(list(data.items())))
    elif change == "container extra field":
        data["containers"][0]["injected"] = "not a container field"
    elif change == "category not text":
        data["category"] = 7
    else:
        data["severity"] = "catastrophic"
    record = _archived_entry(data, event)
    assert isinstance(record, StopRecord)
    assert b"injected" not in DatadogEncoder()(record, None)


def test_archived_record_is_used_as_archived(tmp_path: Path) -> None:
    """Replay sends the record the archive holds (what was sent the first time), not a re-parse."""
    from forwarder.archive_layout import SCHEMA

    record = parse_event(make_event(event_id="as-archived")).to_dict()
    record["hint"] = "the hint as it was archived"
    document = {
        "schema": SCHEMA,
        "record": record,
        "event": make_event(event_id="as-archived"),
        "deliveries": {},
    }
    (tmp_path / "doc.json").write_text(json.dumps(document))
    sent: list[Any] = []

    class Hints(_Collect):
        def log(self, record: Any, replay: Any = None) -> dict[str, Any]:
            return {"id": record.to_dict()["hint"]}

    Replayer(("stdout",), lambda name: Hints(sent), Selection()).run(
        list_sources([str(tmp_path)], Window(), lambda s: None)
    )
    assert sent == ["the hint as it was archived"]
    broken = {**document, "record": {"event_id": 1}}
    (tmp_path / "doc.json").write_text(json.dumps(broken))
    sent.clear()
    Replayer(("stdout",), lambda name: Hints(sent), Selection()).run(
        list_sources([str(tmp_path)], Window(), lambda s: None)
    )
    assert sent[0].startswith("No known stop reason")  # re-parsed from the raw event (an unknown stop)


@pytest.mark.parametrize(("only_undelivered", "where"), [(False, "folder"), (True, "folder"), (False, "s3")])
def test_worker_processes_send_what_one_process_sends(
    vendors: Any, tmp_path: Path, only_undelivered: bool, where: str, request: pytest.FixtureRequest
) -> None:
    """Parsing in worker processes (large runs) changes nothing: the same logs, summary and errors
    (from folders, where workers read the files, and from S3, where objects are fetched for them).
    The replay is wired as the CLI wires it, with sizes that make a small archive take a large
    one's paths: most objects go to the workers, which hand back chunks unfinished."""
    import os

    from forwarder.commands.common import Problems
    from forwarder.config import Settings
    from forwarder.fastcodec import FastCodec
    from forwarder.secrets import KeyResolver
    from forwarder.wiring import aws_client, build_destination

    dd, nr = vendors
    fixtures = Path(__file__).parent.parent / "fixtures" / "events"
    archive = tmp_path / "archive"
    nr.valid_keys = {"rejected-for-now"}  # the archive records New Relic as failed, Datadog as delivered
    assert run("send", "--archive", str(archive), str(fixtures))[0] == 1
    nr.valid_keys = {NR_KEY}
    events = stopped_events()
    backups = tmp_path / "firehose" / "2026" / "11" / "28" / "10"
    backups.mkdir(parents=True)
    for index in range(0, len(events), 7):  # Firehose copies of the same events: duplicates to skip
        (backups / f"part-{index:03d}.gz").write_bytes(firehose_object(events[index : index + 7]))
    (backups / "broken.gz").write_bytes(gzip.compress(firehose_object(events[:3], compress=False))[:-30])
    (backups / "not-json").write_bytes(b'{"id": "half a document"')
    (backups / "other.json").write_text(json.dumps({**events[0], "id": "other", "source": "aws.ec2"}))
    sources = [str(archive), str(backups.parents[3])]
    if where == "s3":
        s3 = request.getfixturevalue("aws").client("s3")
        s3.create_bucket(Bucket=BUCKET)
        for folder in map(Path, sources):
            for path in sorted(p for p in folder.rglob("*") if p.is_file()):
                s3.put_object(Bucket=BUCKET, Key=f"{folder.name}/{path.relative_to(folder)}", Body=path.read_bytes())
        sources = [f"s3://{BUCKET}/{Path(source).name}/" for source in sources]
    settings = Settings.from_env(os.environ)
    resolver = KeyResolver(aws_client)
    codec = FastCodec()  # the CLI's
    tuning = Tuning(parallel_after_objects=5, chunk_bytes=3000, digest_while_starting=False)
    results = []
    widened: list[list[int]] = []  # each pool's result pipes, as it starts

    class Recording(WorkerPool):
        def start(self) -> None:
            starting = not self.started
            super().start()
            if starting:
                widened.append(self.pipe_sizes())

    for workers in (0, 2):
        dd.reset()
        nr.reset()
        checkpoint = tmp_path / f"checkpoint-{workers}"
        err = io.StringIO()
        problems = Problems(err)
        replayer = Replayer(("datadog", "newrelic"), lambda name: build_destination(name, settings, resolver, codec=codec),
                            Selection(), only_undelivered=only_undelivered, workers=workers, start_method="spawn",
                            checkpoint=Checkpoint(checkpoint), report=problems.report, tuning=tuning, pool=Recording,
                            codec=codec)  # fmt: skip
        stats = replayer.run(list_sources(sources, Window(), aws_client))
        finished = sorted(checkpoint.read_text().splitlines())
        summary = stats.to_dict()
        del summary["elapsed_seconds"]
        errors = sorted(err.getvalue().splitlines())
        dd_ids = sorted(log["ecs_stop"]["event_id"] for log in dd.accepted)
        nr_ids = sorted(log["event_id"] for log in nr.accepted)
        results.append((problems.count, summary, errors, dd_ids, nr_ids, finished))
    assert results[0] == results[1]
    linux = sys.platform.startswith("linux")
    assert widened == [[tuning.result_pipe_bytes] * 2 if linux else []]  # one pool, its pipes widened
    count, summary, errors, dd_ids, nr_ids, finished = results[1]
    assert len(finished) == summary["objects"] - 2  # all but the unreadable ones: a re-run retries those
    assert not any(name.endswith(("broken.gz", "not-json")) for name in finished)
    ids = sorted(e["id"] for e in events)
    assert count == 3 and len(errors) == 3  # broken.gz, not-json and the EC2 event, each reported once
    # Every Firehose copy is a duplicate (and whatever could be read from broken.gz)
    assert nr_ids == ids and (summary["duplicates_skipped"] >= len(events)) != only_undelivered
    assert dd_ids == ([] if only_undelivered else ids)


@pytest.mark.skipif(not hasattr(__import__("fcntl"), "F_GETPIPE_SZ"), reason="pipe sizes are Linux's")
def test_the_pipe_of_worker_results_is_widened_where_it_can_be(monkeypatch: pytest.MonkeyPatch) -> None:
    """A worker's result (a few MB) goes through the worker's own result pipe: the pool sets it to
    the size it is given; a size the system refuses leaves the default."""
    import fcntl
    import os

    real_fcntl = fcntl.fcntl
    read, write = os.pipe()
    default = real_fcntl(read, fcntl.F_GETPIPE_SZ)
    os.close(read)
    os.close(write)
    with WorkerPool(2, "spawn", 1 << 20) as pool:
        pool.start()
        assert default < 1 << 20 and pool.pipe_sizes() == [1 << 20] * 2

    def refuse(fd: int, command: int, arg: int = 0) -> int:
        if command == fcntl.F_SETPIPE_SZ:
            raise PermissionError(1, "Operation not permitted")  # over pipe-max-size, unprivileged
        return real_fcntl(fd, command, arg)

    monkeypatch.setattr(fcntl, "fcntl", refuse)
    with WorkerPool(1, "spawn", 1 << 20) as refused:
        refused.start()
        assert refused.pipe_sizes() == [default]


@pytest.mark.parametrize("size", [0, 1, (1 << 16) - 9, 1 << 16, 5 << 20])
def test_a_result_crosses_its_pipe_whole(size: int) -> None:
    """A result goes as its size then its bytes, read into one buffer: every size (a message
    larger than the pipe holds is written while it is read), two in a row, and a pipe that ends
    inside a message is the end of the worker (EOFError, as from Connection.recv_bytes)."""
    import multiprocessing
    import threading

    from forwarder.replay.workers import receive, send

    read, write = multiprocessing.Pipe(duplex=False)
    messages = [os.urandom(size), b"next"]
    writer = threading.Thread(target=lambda: [send(write, m) for m in messages])
    writer.start()
    assert [bytes(receive(read)), bytes(receive(read))] == messages
    writer.join()
    os.write(write.fileno(), (size + 10).to_bytes(8, "big") + b"x" * min(size, 100))
    write.close()
    with pytest.raises(EOFError):
        receive(read)
    read.close()


def test_workers_leave_ctrl_c_to_the_replaying_process() -> None:
    """A worker killed by Ctrl-C while handing back a result leaves the pool waiting for the rest of
    it forever (seen: the run hung); workers ignore SIGINT and are stopped by the replaying process."""
    import signal

    from forwarder.replay.digest import Plan
    from tests.worker_faults import SigintEncoder

    plan = Plan(("stdout",), (SigintEncoder(),))
    work: list[tuple[str, bytes | str]] = [("one.json", json.dumps(make_event(event_id="e")).encode())]
    with WorkerPool(1, "spawn") as pool:
        result = pool.result(pool.submit((plan, work, 0, 1_000_000, 1_000)))
    [line] = result.lines[0]
    assert line is not None and json.loads(line)["sigint"] == repr(signal.SIG_IGN)


@pytest.mark.parametrize("workers", [0, 1])
def test_an_object_that_cannot_be_fetched_is_reported_and_the_rest_go_on(tmp_path: Path, workers: int) -> None:
    """An S3 GET that fails (the object deleted or unreadable since it was listed) is reported
    with its key, counted as invalid and left out of the checkpoint; the objects listed around it
    are sent and checkpointed, in the replaying process and in worker processes."""
    from forwarder.errors import InputError
    from forwarder.replay.sources import SourceObject
    from tests.worker_faults import IdEncoder

    class Collect(_Collect):
        @property
        def encoder(self) -> Any:
            return IdEncoder()  # the workers get it pickled

    def fails() -> bytes:
        raise InputError("cannot read (NoSuchKey)", "s3://b/gone.gz")

    def body(index: int) -> Any:
        return firehose_object([make_event(event_id=f"o{index}-e{j}") for j in range(3)]).__bytes__

    objects = [SourceObject(f"s3://b/{i}.gz", 100, body(i)) for i in range(12)]
    objects.insert(5, SourceObject("s3://b/gone.gz", 100, fails))
    sent: list[str] = []
    reported: list[tuple[str, str]] = []
    checkpoint = tmp_path / "checkpoint"
    tuning = Tuning(parallel_after_objects=2, digest_while_starting=False)
    stats = Replayer(("stdout",), lambda name: Collect(sent), Selection(), workers=workers, tuning=tuning,
                     checkpoint=Checkpoint(checkpoint), report=lambda where, e: reported.append((where, str(e)))
                     ).run(objects)  # fmt: skip
    assert reported == [("s3://b/gone.gz", "s3://b/gone.gz: cannot read (NoSuchKey)")]
    assert stats.objects == 13 and stats.invalid == 1 and stats.read == 36
    assert sorted(sent) == sorted(f"o{i}-e{j}" for i in range(12) for j in range(3))
    assert sorted(checkpoint.read_text().splitlines()) == sorted(f"s3://b/{i}.gz" for i in range(12))


def write_objects(folder: Path, count: int) -> None:
    """``count`` files ``NNN.json`` in a new ``folder``, each a JSON array of the 3 events
    ``oN-e0``, ``oN-e1``, ``oN-e2``."""
    folder.mkdir()
    for index in range(count):
        (folder / f"{index:03d}.json").write_text(json.dumps([make_event(event_id=f"o{index}-e{j}") for j in range(3)]))


def assert_resumable(folder: Path, checkpoint: Path, sent: list[str], count: int) -> set[str]:
    """After an interrupted run over ``write_objects(folder, count)``: the checkpoint lists only
    objects all of whose records were sent, and a re-run with it sends the rest and nothing that
    was finished. The finished objects' stems."""
    finished = {Path(name).stem for name in checkpoint.read_text().splitlines()}
    assert all(f"o{int(stem)}-e{j}" in sent for stem in finished for j in range(3))
    again: list[str] = []
    Replayer(("stdout",), lambda name: _Collect(again), Selection(), checkpoint=Checkpoint(checkpoint)).run(
        list_sources([str(folder)], Window(), lambda s: None)
    )
    assert set(sent) | set(again) == {f"o{i}-e{j}" for i in range(count) for j in range(3)}
    assert not {f"o{int(stem)}-e{j}" for stem in finished for j in range(3)} & set(again)  # none twice
    return finished


#: Two objects a digest, so workers take over at the 6th object, at once; a batch is two objects.
_SMALL = Tuning(chunk_events=6, parallel_after_objects=5, digest_while_starting=False, batch=6)


@pytest.mark.parametrize("start_method", ["spawn", "fork"])
def test_a_worker_that_dies_ends_the_run_with_a_clear_error_and_a_true_checkpoint(
    tmp_path: Path, start_method: Any
) -> None:
    """A worker process killed mid-run (a crash, the OOM killer, kill -9) breaks the pool: the run
    ends with an error that says what to do, the checkpoint lists only objects whose records were
    all delivered, and a re-run with it sends the rest."""
    from forwarder.errors import ForwarderError
    from tests.worker_faults import DieOn

    class Dying(_Collect):
        @property
        def encoder(self) -> Any:
            return DieOn("o30-e1")

    folder = tmp_path / "objects"
    write_objects(folder, 40)
    checkpoint = tmp_path / "checkpoint"
    sent: list[str] = []
    replayer = Replayer(("stdout",), lambda name: Dying(sent), Selection(), workers=1, start_method=start_method,
                        checkpoint=Checkpoint(checkpoint), tuning=_SMALL)  # fmt: skip
    with pytest.raises(ForwarderError, match=r"worker process stopped unexpectedly.*--checkpoint"):
        replayer.run(list_sources([str(folder)], Window(), lambda s: None))
    finished = assert_resumable(folder, checkpoint, sent, 40)
    assert "030" not in finished and len(finished) >= 5  # the first 5 were digested here, and sent


def test_ctrl_c_while_workers_digest_leaves_a_true_checkpoint(tmp_path: Path) -> None:
    """Ctrl-C once worker processes have taken over: the run stops (the pool is shut down, no
    hang), the checkpoint lists only objects all of whose records were sent, and a re-run with it
    sends the rest, nothing that was finished."""
    import multiprocessing

    from tests.worker_faults import IdEncoder

    class Collect(_Collect):
        @property
        def encoder(self) -> Any:
            return IdEncoder()  # the workers get it pickled

    folder = tmp_path / "objects"
    write_objects(folder, 40)
    checkpoint = tmp_path / "checkpoint"
    sent: list[str] = []

    def interrupt(stats: Any) -> None:
        if stats.objects >= 20:  # well after the switch
            raise KeyboardInterrupt

    first = Replayer(("stdout",), lambda name: Collect(sent), Selection(), workers=2, checkpoint=Checkpoint(checkpoint),
                     progress=interrupt, tuning=_SMALL)  # fmt: skip
    with pytest.raises(KeyboardInterrupt):
        first.run(list_sources([str(folder)], Window(), lambda s: None))
    assert multiprocessing.active_children() == []  # the workers are stopped, not left behind
    finished = assert_resumable(folder, checkpoint, sent, 40)
    assert 5 <= len(finished) < 40


def test_the_console_script_leaves_the_cli_out_of_worker_processes() -> None:
    """A spawned worker re-runs the console script to set up its ``__main__``: the entry point
    pyproject.toml names must import neither the CLI nor httpx (each worker would pay the CPU for
    them at start, for nothing), and calling it still runs the CLI."""
    import subprocess
    import sys
    import tomllib

    root = Path(__file__).resolve().parent.parent
    entry = tomllib.loads((root / "pyproject.toml").read_text())["project"]["scripts"]["ecs-stop-forwarder"]
    module, _, function = entry.partition(":")
    heavy = ("forwarder.cli", "forwarder.replay", "httpx", "boto3")
    probe = f"import sys; from {module} import {function}; print([m for m in {heavy!r} if m in sys.modules])"
    imported = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=root)
    assert imported.stdout.strip() == "[]"
    call = f"import sys; from {module} import {function}; sys.argv = ['ecs-stop-forwarder', '--version']; sys.exit({function}())"
    version = subprocess.run([sys.executable, "-c", call], capture_output=True, text=True, check=False, cwd=root)
    assert (version.returncode, version.stdout.strip()) == (0, "ecs-stop-forwarder 0.1.0")


def test_a_worker_process_imports_no_aws_or_http_library() -> None:
    """A spawned worker imports what it runs (the pool's loop, the digest, the CLI's codec and
    the encoders): none of them pulls in botocore, boto3 or httpx (the archive's key layout
    lives apart from its S3 client), so a worker starts quickly and small."""
    import subprocess

    root = Path(__file__).resolve().parent.parent
    heavy = ("botocore", "boto3", "httpx", "forwarder.archive", "forwarder.replay.sources")
    probe = ("import sys, forwarder.replay.workers, forwarder.fastcodec, forwarder.payloads; "
             f"print([m for m in {heavy!r} if m in sys.modules])")  # fmt: skip
    imported = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=root)
    assert imported.stdout.strip() == "[]"


_FORK_PROBE = """
import json, multiprocessing, os, sys, threading
import tests.worker_faults as faults
from forwarder.destinations.base import DELIVERED, Outcome
from forwarder.replay.replayer import Replayer
from forwarder.replay.selection import Selection, Window
from forwarder.replay.sources import list_sources
from forwarder.replay.tuning import Tuning
from forwarder.replay.workers import WorkerPool

faults.ORIGIN = "set before the run"  # a forked worker has it; a spawned one imports the module afresh
logs = []

class Collect:
    name = "stdout"
    @property
    def encoder(self):
        return faults.PidEncoder()
    def send(self, parts, deadline):
        logs.extend(json.loads(part) for part in parts)
        return [Outcome("stdout", DELIVERED, 1)] * len(parts)
    def close(self):
        pass

threads = []  # threads running when the workers started

class Pool(WorkerPool):
    def start(self):
        if not self.started:
            threads.append(threading.active_count())
        super().start()

tuning = Tuning(parallel_after_objects=int(sys.argv[3]), batch=50, digest_while_starting=False)  # spawned ones get work too
replayer = Replayer(("stdout",), lambda name: Collect(), Selection(), workers=2, start_method=sys.argv[2], tuning=tuning,
                    pool=Pool, concurrency=1)  # one sender: batches arrive in the order they were cut
replayer.run(list_sources([sys.argv[1]], Window(), lambda service: None))
workers = [log for log in logs if log["pid"] != os.getpid()]
print(json.dumps({"ids": [log["id"] for log in logs], "workers": len({log["pid"] for log in workers}),
                  "origins": sorted({log["origin"] for log in workers}), "children": len(multiprocessing.active_children()),
                  "threads": threads}))
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="workers are forked on Linux only")
def test_workers_are_forked_at_the_start_or_spawned_as_the_caller_chooses(tmp_path: Path) -> None:
    """``fork`` (the CLI on Linux, which runs no thread of its own): the workers are forked when
    the run starts, before it starts its threads, and inherit the process's state. ``spawn`` (a
    program with threads of its own, or macOS): they start afresh once the run proves large. Either
    way every record is sent once, in order; and workers a small run never used are gone when it
    returns."""
    import subprocess

    folder = tmp_path / "objects"
    write_objects(folder, 300)
    root = Path(__file__).resolve().parent.parent

    def replay(method: str, parallel_after: int) -> dict[str, Any]:
        args = [sys.executable, "-c", _FORK_PROBE, str(folder), method, str(parallel_after)]
        done = subprocess.run(args, capture_output=True, text=True, check=True, cwd=root, timeout=120)
        result: dict[str, Any] = json.loads(done.stdout)
        assert result["ids"] == [f"o{i}-e{j}" for i in range(300) for j in range(3)]  # all, once, in order
        assert result["children"] == 0
        return result

    forked, spawned, small = replay("fork", 5), replay("spawn", 5), replay("fork", 10_000)
    # (which of the two workers gets the chunks is up to them: one may take them all)
    assert forked["workers"] >= 1 and forked["origins"] == ["set before the run"]
    assert forked["threads"] == [1]  # forked before the run started a thread: no lock held in a child
    assert spawned["workers"] >= 1 and spawned["origins"] == ["imported"]
    assert small["workers"] == 0 and small["threads"] == [1]  # forked, unused, and stopped


def test_the_cli_forks_its_workers_on_linux_and_spawns_them_elsewhere() -> None:
    """The console script runs no thread of its own when the replay starts: on Linux it asks for
    forked workers (ready at once), elsewhere (macOS's system libraries are not fork-safe) spawned."""
    from forwarder.commands.replay import start_method

    assert [start_method(platform) for platform in ("linux", "darwin", "win32")] == ["fork", "spawn", "spawn"]


def test_s3_objects_queued_for_workers_are_bounded_by_bytes() -> None:
    """S3 objects reach a worker as bytes, and up to chunks_per_worker pieces a worker wait in
    order: with Firehose objects of up to 128 MiB, 16 of them were held at once. The pieces queued
    are bounded by fetch_bytes too (every worker keeps one to work on), and everything is sent."""
    from forwarder.replay.sources import SourceObject
    from tests.worker_faults import IdEncoder

    class Collect(_Collect):
        @property
        def encoder(self) -> Any:
            return IdEncoder()

    size = 200_000
    body = [("".join(json.dumps(make_event(event_id=f"o{i}-e{j}")) for j in range(3)) + " " * size).encode()
            for i in range(20)]  # fmt: skip
    objects = [SourceObject(f"s3://b/{i}.json", len(body[i]), body[i].__bytes__) for i in range(20)]
    in_flight: dict[int, int] = {}  # bytes of each task submitted and not yet collected
    most = 0

    class Counting(WorkerPool):
        def submit(self, task: Any) -> int:
            nonlocal most
            ticket = super().submit(task)
            in_flight[ticket] = sum(len(data) for _, data in task[1])
            most = max(most, sum(in_flight.values()))
            return ticket

        def result(self, ticket: int) -> Any:
            in_flight.pop(ticket)
            return super().result(ticket)

    tuning = Tuning(fetch_bytes=3 * size, chunk_bytes=1, parallel_after_objects=1, digest_while_starting=False)
    sent: list[str] = []
    stats = Replayer(("stdout",), lambda name: Collect(sent), Selection(), workers=2, tuning=tuning,
                     pool=Counting).run(objects)  # fmt: skip
    assert sorted(sent) == sorted(f"o{i}-e{j}" for i in range(20) for j in range(3)) and stats.objects == 20
    assert size < most <= 4 * (size + 200)  # fetch_bytes, and one more taken before the bound is checked


def test_large_objects_waiting_for_workers_are_bounded_by_their_events(tmp_path: Path) -> None:
    """A chunk of one large Firehose object holds a thousand events, its result a few MB: chunks
    in flight are bounded by the events they hold too (events_per_worker), not only by their
    count, so memory stays that of a run of small objects; everything is sent, in order."""
    from tests.worker_faults import IdEncoder

    class Collect(_Collect):
        @property
        def encoder(self) -> Any:
            return IdEncoder()

    folder = tmp_path / "objects"
    folder.mkdir()
    for index in range(16):
        (folder / f"{index:02d}.gz").write_bytes(firehose_object([make_event(event_id=f"o{index}-e{j}") for j in range(100)]))
    in_flight: set[int] = set()
    most = 0

    class Counting(WorkerPool):
        def submit(self, task: Any) -> int:
            nonlocal most
            ticket = super().submit(task)
            in_flight.add(ticket)
            most = max(most, len(in_flight))
            return ticket

        def result(self, ticket: int) -> Any:
            in_flight.discard(ticket)
            return super().result(ticket)

    tuning = Tuning(chunk_events=100, events_per_worker=200, parallel_after_objects=1, digest_while_starting=False)
    sent: list[str] = []
    Replayer(("stdout",), lambda name: Collect(sent), Selection(), workers=2, tuning=tuning, pool=Counting,
             concurrency=1).run(list_sources([str(folder)], Window(), lambda s: None))  # fmt: skip
    assert sent == [f"o{i}-e{j}" for i in range(16) for j in range(100)]
    assert 2 < most <= 5  # 400 events (2 workers x 200) in flight, one more before the bound is checked


def test_s3_objects_are_fetched_ahead_within_a_count_and_a_byte_bound() -> None:
    """Up to ``fetchers`` GETs ahead, but never more than ``fetch_bytes`` (Firehose objects reach 128 MiB)."""
    from forwarder.replay.sources import SourceObject, fetched

    submitted: list[str] = []

    def listed(name: str, size: int) -> SourceObject:  # as list_sources gives an S3 object: no path
        def read() -> bytes:
            return name.encode()

        class Counted(SourceObject):
            @property
            def read(self) -> Any:  # taken when the GET is submitted
                submitted.append(self.name)
                return read

        return Counted(name, size, read)

    tuning = Tuning()
    for size, most_ahead in ((1_000, tuning.fetchers), (30_000_000, 2)):
        submitted.clear()
        sources = [listed(f"s3://b/{size}/{i}", size) for i in range(100)]
        ahead = []
        for index, (source, data) in enumerate(fetched(sources, tuning.fetchers, tuning.fetch_bytes)):
            assert data == source.name.encode()  # in order, each with its own bytes
            ahead.append(len(submitted) - index - 1)
        assert max(ahead) == most_ahead and len(submitted) == 100


def test_a_chunk_is_handed_back_after_so_many_events() -> None:
    """Bytes are a poor measure of a gzipped Firehose object's events: a chunk also ends after
    ``events`` events read, so its results stay small whatever objects it holds."""
    from forwarder.payloads import DatadogEncoder
    from forwarder.replay.digest import Plan, digest

    plan = Plan(("datadog",), (DatadogEncoder(),))
    firehose = gzip.compress("".join(json.dumps(make_event(event_id=f"f-{i}")) for i in range(300)).encode())
    single = [json.dumps(make_event(event_id=f"s-{i}")).encode() for i in range(3)]
    chunk: list[tuple[str, bytes | str]] = [("s-0", single[0]), ("fh", firehose), ("s-1", single[1]), ("s-2", single[2])]
    for events, taken in ((1_000, 4), (300, 2), (50, 2), (1, 1)):
        result = digest(plan, chunk, 0, budget=10_000_000, events=events)
        assert result.names == [name for name, _ in chunk[:taken]]
        assert result.ends == [1, 301, 302, 303][:taken]  # where each object's records end
    assert len(digest(plan, chunk, 0).ids) == 303


def test_a_digest_ends_after_its_budget_of_input_bytes() -> None:
    """However many events, a chunk also ends once ``budget`` bytes of input are read (at least
    one object is taken): one task of large files never holds them all in memory."""
    from forwarder.payloads import DatadogEncoder
    from forwarder.replay.digest import Plan, digest

    plan = Plan(("datadog",), (DatadogEncoder(),))
    objects: list[tuple[str, bytes | str]] = [
        (f"o-{i}", json.dumps(make_event(event_id=f"o-{i}")).encode()) for i in range(4)
    ]
    size = len(objects[0][1])
    for budget, taken in ((1, 1), (size, 1), (size + 1, 2), (2 * size, 2), (10 * size, 4)):
        assert digest(plan, objects, 0, budget=budget).names == [name for name, _ in objects[:taken]]


def test_only_undelivered_counts_every_document_it_passes_over() -> None:
    from forwarder.archive_layout import SCHEMA
    from forwarder.payloads import DatadogEncoder
    from forwarder.replay.digest import Plan, digest

    def document(event_id: str, status: str) -> bytes:
        event = make_event(event_id=event_id)
        record = parse_event(event)
        return json.dumps({"schema": SCHEMA, "event_id": event_id, "event_time": record.time, "category": record.category,
                           "severity": record.severity, "record": record.to_dict(), "event": event,
                           "deliveries": {"datadog": {"status": status}}}).encode()  # fmt: skip

    plan = Plan(("datadog",), (DatadogEncoder(),), only_undelivered=True)
    statuses = ["delivered", "delivered", "failed-retryable", "delivered"]
    firehose = "".join(json.dumps(make_event(event_id=f"f-{i}")) for i in range(3)).encode()  # no delivery record
    objects = [(f"d-{i}", document(f"d-{i}", status)) for i, status in enumerate(statuses)]
    result = digest(plan, [objects[0], ("firehose", firehose), *objects[1:]], 0)
    assert (result.read, result.already_delivered, result.ids) == (7, 3, ["d-2"])
    # the same documents as lines of one object (an export): every line is looked at
    lines = b"\n".join(data for _, data in objects)
    result = digest(plan, [("export.jsonl", lines)], 0)
    assert (result.read, result.already_delivered, result.ids) == (4, 3, ["d-2"])


@pytest.mark.parametrize(("policy", "sent_with"), [("original", "original"), ("now", "now"), ("auto", "now")])
def test_each_destinations_log_carries_the_plans_timestamp_policy(policy: str, sent_with: str) -> None:
    """A stop two days old: ``original`` keeps its time, ``now`` and ``auto`` (past Datadog's 18 h
    window) send it as of now; the original time is kept beside it either way."""
    from forwarder.payloads import DatadogEncoder
    from forwarder.replay.digest import Plan, digest

    event = make_event(event_id="old")
    original = record_timestamp_ms(parse_event(event))
    assert original is not None
    now_ms = original + 48 * HOUR_MS
    plan = Plan(("datadog",), (DatadogEncoder(),), timestamp=policy)  # type: ignore[arg-type]
    [[line]] = digest(plan, [("o.json", json.dumps(event).encode())], now_ms).lines
    assert line is not None
    log = json.loads(line)
    assert log["timestamp"] == {"original": original, "now": now_ms}[sent_with]
    assert log["original_timestamp"] == original


def test_an_invalid_event_is_reported_by_its_object_which_is_still_checkpointed() -> None:
    """An event that is no stop (a bad value) is an error naming its object and item, and the
    object was read whole (checkpointed: a re-run would find the same); bytes that are not JSON
    leave their object not wholly read (never checkpointed)."""
    from forwarder.errors import InputError, InvalidEvent
    from forwarder.payloads import DatadogEncoder
    from forwarder.replay.digest import Plan, digest

    bad = dict(make_event(event_id="bad"), detail={"lastStatus": "STOPPED", "stoppedAt": "not a time"})
    mixed = (json.dumps(make_event(event_id="good")) + json.dumps(bad)).encode()
    plan = Plan(("datadog",), (DatadogEncoder(),))
    result = digest(plan, [("mixed.json", mixed), ("broken.json", b'{"source": ')], 0)
    assert result.ids == ["good"] and result.unreadable == [1]
    (first, invalid), (second, broken) = result.errors
    assert (first, second) == ("mixed.json", "broken.json")
    assert isinstance(invalid, InvalidEvent) and str(invalid).startswith("mixed.json item 2 ")
    assert isinstance(broken, InputError) and "broken.json" in str(broken)


def test_a_local_file_gone_before_it_is_read_is_reported_and_not_checkpointed(tmp_path: Path) -> None:
    """A file listed and then gone (or unreadable): its error names it, it is marked not wholly
    read (never checkpointed), and the objects after it are digested."""
    from forwarder.errors import InputError
    from forwarder.payloads import DatadogEncoder
    from forwarder.replay.digest import Plan, digest

    plan = Plan(("datadog",), (DatadogEncoder(),))
    kept = tmp_path / "kept.json"
    kept.write_text(json.dumps(make_event(event_id="kept")))
    result = digest(plan, [("gone", str(tmp_path / "gone.json")), ("kept", str(kept))], 0)
    assert result.names == ["gone", "kept"] and result.ends == [0, 1] and result.ids == ["kept"]
    [(name, error)] = result.errors
    assert name == "gone" and isinstance(error, InputError) and "gone.json" in str(error)
    assert result.unreadable == [0]


def test_auto_keeps_a_margin_for_the_wait_before_sending(vendors: Any, tmp_path: Path) -> None:
    """``auto`` decides a record's timestamp when it is encoded, before it waits its turn and its
    retries: the margin grows with --timeout and with the queue ahead of it at --max-rps, so a log
    near the window's edge is not sent with an original time that has expired by then."""
    dd, _ = vendors
    event = copy.deepcopy(make_event(event_id="edge"))
    stopped = datetime.now(UTC) - timedelta(hours=18) + timedelta(minutes=7)  # 7 min inside the window
    event["detail"]["stoppedAt"] = stopped.strftime("%Y-%m-%dT%H:%M:%S.000Z")
    original = int(stopped.replace(microsecond=0).timestamp() * 1000)
    source = tmp_path / "edge.json"
    source.write_text(json.dumps(event))
    sent = []
    for options in (["--timeout", "30"], ["--timeout", "300"], ["--timeout", "30", "--max-rps", "0.05"]):
        dd.reset()
        code, _, err = run("replay", "--to", "datadog", *options, str(source))
        assert code == 0, err
        [log] = dd.accepted
        assert log["original_timestamp"] == original
        sent.append(log["timestamp"] == original)
    # 5 min + 30 s of retries: inside; + 300 s: too close; + 30 s and ~20 requests ahead at 0.05/s: too close
    assert sent == [True, False, False]


@pytest.mark.parametrize(
    ("files", "most"),
    [
        ({"cpu.max": "max 100000\n"}, None),  # cgroup v2, no limit
        ({"cpu.max": "150000 100000\n"}, 2),  # 1.5 CPUs: rounded up
        ({"cpu.max": "50000 100000\n"}, 1),
        ({"cpu/cpu.cfs_quota_us": "-1\n", "cpu/cpu.cfs_period_us": "100000\n"}, None),  # cgroup v1
        ({"cpu/cpu.cfs_quota_us": "200000\n", "cpu/cpu.cfs_period_us": "100000\n"}, 2),
        ({"cpu.max": "garbage"}, None),
        ({}, None),
    ],
)
def test_default_workers_follow_the_cpus_a_container_may_use(
    tmp_path: Path, files: dict[str, str], most: int | None
) -> None:
    import os

    from forwarder.commands.replay import _cpu_quota, usable_cpus

    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    assert _cpu_quota(tmp_path) == most
    affinity = len(os.sched_getaffinity(0))
    assert usable_cpus(tmp_path) == (affinity if most is None else min(affinity, most))


def test_large_objects_go_to_workers_in_small_chunks(tmp_path: Path) -> None:
    """A Firehose backup can be a few objects of thousands of events: workers take over after so
    many events, not only after so many objects, and then get a few such objects per task (a task
    handed back unfinished waits behind every queued one)."""
    import os

    from tests.worker_faults import PidEncoder

    tuning = Tuning(digest_while_starting=False, parallel_after_events=5_000)
    assert tuning.chunk_size(0, 0) == tuning.chunk_objects  # nothing read yet
    assert tuning.chunk_size(100, 100) == tuning.chunk_objects  # one event an object: archive documents
    assert tuning.chunk_size(10, 5_000) == tuning.chunk_events // 500  # 500 an object: Firehose backups
    assert tuning.chunk_size(1, 50_000) == 1

    # the switch: 12 objects of 600 events, digested here two at a time (a digest ends after
    # chunk_events): the workers take over after the 10th (6,000 events read), one object a task
    folder = tmp_path / "objects"
    folder.mkdir()
    for index in range(12):
        events = [make_event(event_id=f"o{index}-e{j}") for j in range(600)]
        (folder / f"{index:02d}.gz").write_bytes(firehose_object(events))
    chunks: list[int] = []

    class Counting(WorkerPool):
        def submit(self, task: Any) -> int:
            chunks.append(len(task[1]))
            return super().submit(task)

    where: dict[str, set[int]] = {}

    class Collect(_Collect):
        @property
        def encoder(self) -> Any:
            return PidEncoder()

        def send(self, parts: Any, deadline: float) -> list[Any]:
            for part in parts:
                log = json.loads(part)
                where.setdefault(log["id"].split("-")[0], set()).add(log["pid"])
            return super().send(parts, deadline)

    Replayer(("stdout",), lambda name: Collect([]), Selection(), workers=1, tuning=tuning, pool=Counting).run(
        list_sources([str(folder)], Window(), lambda s: None)
    )
    here = {f"o{i}" for i in range(12) if where[f"o{i}"] == {os.getpid()}}
    assert here == {f"o{i}" for i in range(10)} and chunks == [1, 1]


def _entries_as_read(data: bytes, codec: Any) -> list[Any]:
    """What replay makes of one object with ``codec``, as comparable values (repr: an int and a
    float that reads as the same number are told apart)."""
    from forwarder.payloads import DatadogEncoder
    from forwarder.replay.read import entries

    return [
        repr(entry) if isinstance(entry, Exception) else DatadogEncoder(codec=codec)(entry[0], None)
        for entry in entries(data, "object", codec)
    ]


@pytest.mark.parametrize("literal", ["10" * 15, "18446744073709551616", "-9223372036854775809"])
def test_integers_beyond_64_bits_replay_exactly(literal: str) -> None:
    """Replay reads and writes integers beyond 64 bits exactly, with the CLI's codec as with the
    standard library, whether the long integer makes a valid record (an exit code), an invalid one
    (an epoch time), or sits in an archived record."""
    from forwarder.archive_layout import SCHEMA, encode
    from forwarder.codec import STDLIB
    from forwarder.fastcodec import FastCodec

    huge = int(literal)
    crashed = make_event(event_id="huge-exit", containers=[container(exit_code=1)])
    epoch = make_event(event_id="huge-epoch", stoppedAt="EPOCH")
    fine = [make_event(event_id=f"fine-{i}") for i in range(3)]
    text = "".join(json.dumps(e, separators=(",", ":")) for e in [fine[0], crashed, fine[1], epoch, fine[2]])
    firehose = text.replace('"exitCode":1', f'"exitCode":{literal}').replace('"EPOCH"', literal).encode()
    huge_crash = json.loads(json.dumps(crashed).replace('"exitCode": 1', f'"exitCode": {literal}'))
    record = parse_event(huge_crash)
    assert record.exit_code == huge
    document = encode({"schema": SCHEMA, "record": record.to_dict(), "event": huge_crash, "deliveries": {}})
    for data in (firehose, gzip.compress(firehose), document):
        assert _entries_as_read(data, FastCodec()) == _entries_as_read(data, STDLIB)
    read = _entries_as_read(firehose, FastCodec())
    assert len(read) == 5 and literal in read[3] and "stoppedAt" in read[3]
    assert f'"exit_code":{literal}'.encode() in read[1]
    assert f'"exit_code":{literal}'.encode() in _entries_as_read(document, FastCodec())[0]


def test_each_document_of_an_object_is_read_once() -> None:
    """A Firehose object is read a document at a time, each once, whatever it holds (an invalid
    event, an integer beyond 64 bits): no scan of the object, no second read."""
    from forwarder.fastcodec import FastCodec
    from forwarder.replay.read import entries

    class Counting(FastCodec):
        reads: list[int]

        def read(self, data: Any) -> Any:
            self.reads.append(len(data))
            return super().read(data)

    events = stopped_events()
    broken = copy.deepcopy(events[0])
    broken["detail"]["lastStatus"] = 5
    huge = json.loads(json.dumps(events[1]))
    huge["detail"]["containers"][0]["exitCode"] = 10**30
    codec = Counting()
    codec.reads = []
    found = list(entries(firehose_object([broken, *events, huge, broken]), "broken", codec))
    errors = [e for e in found if isinstance(e, Exception)]
    assert len(errors) == 2 and "lastStatus" in str(errors[0]) and len(found) == len(events) + 3
    assert len(codec.reads) == 1 + len(events) + 3  # the whole object once (not one document), then each


def _archive_doc_variants() -> dict[str, bytes]:
    """Archive documents as the Lambda writes them, and the damage or oddities one can hold."""
    from forwarder.archive_layout import SCHEMA, encode

    event = make_event(event_id="doc", reason="Essential container exited — ünïcödé")
    record = parse_event(event).to_dict()

    def doc(**change: Any) -> dict[str, Any]:
        document = {"schema": SCHEMA, "event_id": "doc", "event_time": record["time"], "category": "x",
                    "severity": "error", "record": copy.deepcopy(record), "event": copy.deepcopy(event),
                    "deliveries": {"datadog": {"status": "failed"}}}  # fmt: skip
        document.update(change)
        return document

    written = encode(doc())
    extra = copy.deepcopy(record)
    extra["injected"] = "rebuilt without it"
    long_exit = copy.deepcopy(record)
    long_exit["exit_code"] = 10**30
    return {
        "as written": written,
        "no deliveries": encode({k: v for k, v in doc().items() if k != "deliveries"}),
        "deliveries null": encode(doc(deliveries=None)),
        "record rebuilt": encode(doc(record=extra)),
        "record unusable: the event parsed": encode(doc(record={"event_id": 1})),
        "record unusable, event invalid": encode(doc(record=None, event={"detail-type": 3})),
        "integer beyond 64 bits in the record": encode(doc(record=long_exit)),
        "NaN in the event": written.replace(b'"version":', b'"nan":NaN,"version":', 1),
        "lone surrogate in the event": written.replace(b'"version":', b'"s":"\\ud800","version":', 1),
        "not UTF-8 in the event": b"\xff\xfe".join(written.rsplit("ünïcödé".encode(), 1)),  # the event's copy
        "a second document after it": written + written,
        "truncated": written[:-200],
        "rejected document": encode({"schema": "ecs-stop-forwarder/rejected/v1", "record": record}),
    }


@pytest.mark.parametrize("variant", list(_archive_doc_variants()))
def test_archive_documents_read_without_their_event_replay_as_a_full_read(variant: str) -> None:
    """Replay reads an archive document as the Lambda writes it without building its raw event
    (the CLI's codec): whatever the document holds, the entries (encoded logs, deliveries,
    errors) are those of a whole read with the standard library."""
    from forwarder.codec import STDLIB
    from forwarder.fastcodec import FastCodec
    from forwarder.payloads import DatadogEncoder
    from forwarder.replay.read import entries

    data = _archive_doc_variants()[variant]

    def read(codec: Any) -> list[Any]:
        return [repr(e) if isinstance(e, Exception) else (DatadogEncoder()(e[0], None), e[1])
                for e in entries(data, "doc.json", codec)]  # fmt: skip

    assert read(FastCodec()) == read(STDLIB)


def test_an_archive_document_as_written_is_read_without_the_general_reader() -> None:
    """The CLI's codec reads a document as the forwarder writes it in one step, its event
    skipped; two documents in one object are not one document: they are read whole."""
    from forwarder.fastcodec import FastCodec
    from forwarder.replay.read import entries

    class Counting(FastCodec):
        reads: list[int]

        def read(self, data: Any) -> Any:
            self.reads.append(len(data))
            return super().read(data)

    codec = Counting()
    codec.reads = []
    data = _archive_doc_variants()["as written"]
    (record, deliveries), = entries(data, "doc.json", codec)  # fmt: skip
    assert codec.reads == [] and record.event_id == "doc" and deliveries == {"datadog": {"status": "failed"}}
    assert len(list(entries(data + data, "two.json", codec))) == 2 and codec.reads


@pytest.mark.parametrize("start", ["late", "real"])
def test_the_replaying_process_digests_while_the_workers_start(tmp_path: Path, start: str) -> None:
    """A spawned worker takes ~0.1 s to start: the replaying process goes on digesting, in order,
    until one answers, then hands the rest to the workers. With workers that answer late, a small
    archive is all digested here; with real ones, the rest reaches them. Everything is sent once
    either way."""
    import os

    from tests.worker_faults import SlowHere

    pids: list[int] = []

    class Collect(_Collect):
        @property
        def encoder(self) -> Any:
            return SlowHere(0.005)  # digesting here is slow: real workers answer long before it is done

        def send(self, parts: Any, deadline: float) -> list[Any]:
            pids.extend(json.loads(part)["pid"] for part in parts)
            return super().send(parts, deadline)

    class Late(WorkerPool):
        def ready(self) -> bool:
            return False  # as workers on a slow machine: not up before this process is done

    folder = tmp_path / "objects"
    write_objects(folder, 400 if start == "real" else 40)
    sent: list[str] = []
    tuning = Tuning(chunk_events=6, parallel_after_objects=2, batch=6)  # two objects a digest
    Replayer(("stdout",), lambda name: Collect(sent), Selection(), workers=1, start_method="spawn", tuning=tuning,
             pool=Late if start == "late" else WorkerPool, concurrency=1  # one sender: batches arrive in order
             ).run(list_sources([str(folder)], Window(), lambda s: None))  # fmt: skip
    count = len(sent) // 3
    assert sent == [f"o{i}-e{j}" for i in range(count) for j in range(3)]  # all, once, in order
    here = {pid for pid in pids if pid == os.getpid()}
    if start == "late":
        assert count == 40 and set(pids) == here
    else:
        assert count == 400 and here and set(pids) - here
