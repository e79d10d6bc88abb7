"""Vendor payloads (golden files) and the limits, each tested at its edge."""

from __future__ import annotations

import gzip
import json
import random
import string
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from forwarder.model import Container, StopRecord
from forwarder.parse import parse_event
from forwarder.payloads import (
    DD_MAX_LOG_BYTES,
    DD_MAX_REQUEST_BYTES,
    GZIP_SLICE,
    NR_MAX_ATTRIBUTES,
    NR_MAX_BODY_BYTES,
    TRUNCATION_MARKER,
    Replay,
    datadog_batches,
    datadog_log,
    encode,
    fit,
    json_size,
    newrelic_batches,
    newrelic_body,
    newrelic_log,
)
from tests.events import container, make_event
from tests.fixtures import ROOT
from tests.golden import check_golden

GOLDEN = Path(__file__).parent / "golden" / "payloads"
GOLDEN_FIXTURES = [
    "events/seed-arm64-on-x86-scheduled.json",
    "events/out-of-memory--log-router-sidecar-killed.json",
    "events/scheduler-stopped--deployment-replaced.json",
]


def record_of(name: str) -> StopRecord:
    return parse_event(json.loads((ROOT / name).read_text()))


@pytest.mark.parametrize("name", GOLDEN_FIXTURES)
def test_golden_datadog_log(name: str) -> None:
    log = datadog_log(record_of(name), tags=("env:prod",))
    check_golden(GOLDEN / "datadog" / (Path(name).stem + ".json"), log)


@pytest.mark.parametrize("name", GOLDEN_FIXTURES)
def test_golden_newrelic_body(name: str) -> None:
    body = json.loads(gzip.decompress(newrelic_body([encode(newrelic_log(record_of(name)))])))
    check_golden(GOLDEN / "newrelic" / (Path(name).stem + ".json"), body)


def test_datadog_mapping() -> None:
    record = record_of("events/seed-arm64-on-x86-scheduled.json")
    log = datadog_log(record, source="ecs-stops", tags=("env:prod", "team:books"))
    tags = log["ddtags"].split(",")
    assert "ecs_cluster_name:" + str(record.cluster) in tags
    assert "task_family:newarrivals-batch" in tags and f"task_version:{record.revision}" in tags
    assert "stop_category:image-platform-mismatch" in tags and "stop_code:TaskFailedToStart" in tags
    assert tags[-2:] == ["env:prod", "team:books"]
    assert not any(t.startswith("ecs_service:") for t in tags)  # a scheduled task has no service
    assert log["service"] == "newarrivals-batch" and log["status"] == "error"
    assert log["ddsource"] == "ecs-stops" and log["message"] == record.message
    assert log["ecs_stop"] == record.to_dict()


def test_timestamp_is_stopped_at_in_epoch_milliseconds() -> None:
    record = parse_event(make_event())  # stoppedAt 2026-11-28T10:05:00.000Z
    assert datadog_log(record)["timestamp"] == 1_795_860_300_000
    assert newrelic_log(record)["timestamp"] == 1_795_860_300_000


def test_replay_marks_and_time() -> None:
    record = record_of("events/seed-arm64-on-x86-scheduled.json")
    replay = Replay(timestamp_ms=1_800_000_000_000, original_timestamp_ms=1_700_000_000_000)
    dd = datadog_log(record, replay=replay)
    assert dd["timestamp"] == 1_800_000_000_000 and dd["original_timestamp"] == 1_700_000_000_000
    assert dd["replayed"] is True and "replayed:true" in dd["ddtags"].split(",")
    nr = newrelic_log(record, replay=replay)
    assert nr["timestamp"] == 1_800_000_000_000
    assert (
        nr["attributes"]["replayed"] is True and nr["attributes"]["original_timestamp"] == 1_700_000_000_000
    )


def test_datadog_batches_at_the_count_edge() -> None:
    assert [len(b) for b in datadog_batches([50] * 1000)] == [1000]
    assert [len(b) for b in datadog_batches([50] * 1001)] == [1000, 1]
    assert list(datadog_batches([])) == []


def test_datadog_batches_at_the_byte_edge() -> None:
    # n logs of s bytes make a JSON array of 2 + n*s + (n-1) bytes: fill exactly to the limit, then one over.
    n = 10
    s = (DD_MAX_REQUEST_BYTES - 2 - (n - 1)) // n
    exact = [s] * (n - 1) + [DD_MAX_REQUEST_BYTES - 2 - (n - 1) - s * (n - 1)]
    assert 2 + sum(exact) + (n - 1) == DD_MAX_REQUEST_BYTES
    assert [len(b) for b in datadog_batches(exact)] == [n]
    over = [*exact[:-1], exact[-1] + 1]
    batches = list(datadog_batches(over))
    assert [len(b) for b in batches] == [n - 1, 1]
    for batch in batches:
        assert 2 + sum(over[i] for i in batch) + len(batch) - 1 <= DD_MAX_REQUEST_BYTES


def test_datadog_batches_match_the_real_body_size() -> None:
    from forwarder.payloads import datadog_body

    logs = [{"message": "é" * (i % 7), "n": i} for i in range(50)]
    parts = [encode(log) for log in logs]
    [batch] = list(datadog_batches([len(p) for p in parts]))
    body = gzip.decompress(datadog_body([parts[i] for i in batch]))
    assert len(body) == 2 + sum(len(p) for p in parts) + len(parts) - 1
    assert json.loads(body) == logs


def test_a_log_over_1mb_is_truncated_visibly() -> None:
    event = make_event(
        reason="CannotPullContainerError: " + "x" * 2_000_000, containers=[container("app", 1)]
    )
    log = fit(datadog_log(parse_event(event)), DD_MAX_LOG_BYTES)
    assert json_size(log) <= DD_MAX_LOG_BYTES
    reason = log["ecs_stop"]["stopped_reason"]
    assert reason.startswith("CannotPullContainerError: xxx") and reason.endswith(TRUNCATION_MARKER)
    assert log["ecs_stop"]["category"] == "image-pull-failed"  # decided on the full text


def test_fit_handles_escaped_characters_and_leaves_small_logs_alone() -> None:
    small = {"a": "b"}
    assert fit(small, 100) is small
    emoji = {"a": "😀" * 100_000, "b": "short"}
    fitted = fit(emoji, 50_000)
    assert json_size(fitted) <= 50_000 and fitted["b"] == "short" and emoji["a"] == "😀" * 100_000


def test_newrelic_attributes_are_flat_and_bounded_with_10000_containers() -> None:
    many = [container(f"c{i}", 1, "boom " * 10) for i in range(10_000)]
    log = newrelic_log(parse_event(make_event(containers=many, stop_code="EssentialContainerExited")))
    attributes = log["attributes"]
    assert len(attributes) + 2 + 3 <= NR_MAX_ATTRIBUTES  # + message, timestamp + common attributes
    assert attributes["containers_total"] == 10_000 and attributes["containers_truncated"] is True
    assert attributes["containers.0.name"] == "c0"
    assert not any(isinstance(v, (list, dict)) for v in attributes.values())


def test_newrelic_bodies_stay_under_1mb_gzipped() -> None:
    rng = random.Random(7)
    noisy = [
        {"message": "m", "attributes": {"r": "".join(rng.choices(string.ascii_letters, k=50_000))}}
        for _ in range(60)
    ]
    batches = list(newrelic_batches([encode(log) for log in noisy]))
    assert len(batches) > 1
    assert sorted(i for indices, _ in batches for i in indices) == list(range(60))
    for indices, body in batches:
        assert len(body) <= NR_MAX_BODY_BYTES
        assert [log["attributes"]["r"] for log in json.loads(gzip.decompress(body))[0]["logs"]] == [
            noisy[i]["attributes"]["r"] for i in indices
        ]


def test_record_without_times_has_no_timestamp() -> None:
    record = replace(record_of("events/seed-arm64-on-x86-scheduled.json"), stopped_at=None, time=None)
    assert "timestamp" not in datadog_log(record) and "timestamp" not in newrelic_log(record)
    assert isinstance(record.containers[0], Container)


def test_datadog_tags_are_cached_per_value_and_long_values_are_not_kept() -> None:
    from forwarder import payloads

    record = parse_event(make_event(stop_code="EssentialContainerExited", containers=[container("app", 1)]))
    first = payloads.datadog_tags(record)
    assert "ecs_cluster_name:prod" in first.split(",")
    # another value, another string; extra tags and the replay mark are part of what is cached on
    assert "ecs_cluster_name:staging" in payloads.datadog_tags(replace(record, cluster="staging")).split(",")
    assert payloads.datadog_tags(record, ("team:core",)) == first + ",team:core"
    assert payloads.datadog_tags(record, replayed=True).endswith(",replayed:true")
    assert payloads.datadog_tags(record) == first
    assert payloads.datadog_tags(record) is first  # the cached string itself, not built again
    long_cluster = replace(record, cluster="c" * 600)
    kept = len(payloads._TAGS)
    assert f"ecs_cluster_name:{'c' * 600}" in payloads.datadog_tags(long_cluster).split(",")
    assert len(payloads._TAGS) == kept


@pytest.mark.parametrize("count", [0, 1, 2, 3, GZIP_SLICE - 1, GZIP_SLICE, GZIP_SLICE + 1, 3 * GZIP_SLICE])
def test_bodies_hold_every_part_once_in_order(count: int) -> None:
    """Bodies are compressed a slice of GZIP_SLICE parts at a time: the slices join with commas."""
    from forwarder.payloads import datadog_body

    parts = [json.dumps({"n": n}).encode() for n in range(count)]
    assert json.loads(gzip.decompress(datadog_body(parts))) == [{"n": n} for n in range(count)]
    assert json.loads(gzip.decompress(newrelic_body(parts)))[0]["logs"] == [{"n": n} for n in range(count)]


def test_an_encoded_log_holds_no_more_memory_than_its_size() -> None:
    """Replay holds thousands of encoded logs at once: an encoded log must not keep the buffer it
    grew in (a JSON library's bytes may be larger than their content), with either codec."""
    from forwarder.codec import STDLIB
    from forwarder.fastcodec import FastCodec

    for codec in (STDLIB, FastCodec()):
        _held_for(datadog_log(record_of(GOLDEN_FIXTURES[0])), codec)


def _held_for(log: Any, codec: Any) -> None:
    import sys
    import tracemalloc

    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        kept = [encode(log, codec) for _ in range(200)]
        held = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert held < 1.2 * sum(sys.getsizeof(part) for part in kept) + sys.getsizeof(kept)


def test_the_cli_codec_writes_every_fixture_as_the_standard_library_does() -> None:
    """msgspec (the CLI) and the standard library (the Lambda) send the same bytes: every stop
    under fixtures/ (those users posted included), with an exit code beyond 64 bits too, to every
    vendor, replayed or not; and the same request bodies."""
    import copy

    from forwarder.codec import STDLIB
    from forwarder.fastcodec import FastCodec
    from forwarder.payloads import DatadogEncoder, NewRelicEncoder, RecordEncoder, Replay, datadog_body

    fast = FastCodec()
    root = Path(__file__).parent.parent / "fixtures"
    events = [json.loads(path.read_text()) for path in sorted([*root.glob("events/*.json"), *root.glob("real/*.json")])]
    huge = copy.deepcopy(events[0])
    huge["detail"]["containers"][0]["exitCode"] = 10**30
    records = [parse_event(event) for event in [*events, huge]]
    for make in (DatadogEncoder, NewRelicEncoder, RecordEncoder):
        for replay in (None, Replay(1_700_000_000_000, 1_600_000_000_000)):
            lines = [make(codec=STDLIB)(record, replay) for record in records]  # type: ignore[operator]
            assert [make(codec=fast)(record, replay) for record in records] == lines  # type: ignore[operator]
    assert b"1" + b"0" * 30 in DatadogEncoder(codec=fast)(records[-1], None)
    parts = [DatadogEncoder(codec=STDLIB)(record, None) for record in records]
    assert gzip.decompress(datadog_body(parts, fast)) == gzip.decompress(datadog_body(parts, STDLIB))
