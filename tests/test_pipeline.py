"""The pipeline's promises, with destinations the test controls (no timing, no network)."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from forwarder.archive import LocalArchive
from forwarder.destinations.base import DELIVERED, FAILED_RETRYABLE, Outcome
from forwarder.errors import ArchiveError, ConfigError
from forwarder.pipeline import CLEANUP_SECONDS, Forwarder
from tests.fixtures import stopped_events


class Gate:
    """A destination that records the deadline it was given and waits, at a barrier, for the
    other destination to be sending too: sent one after the other, the first would wait alone."""

    def __init__(self, name: str, barrier: threading.Barrier) -> None:
        self.name = name
        self.barrier = barrier
        self.deadlines: list[float] = []

    @property
    def encoder(self) -> Any:
        return lambda record, replay: record.event_id.encode()

    def send(self, parts: Sequence[bytes], deadline: float) -> list[Outcome]:
        self.deadlines.append(deadline)
        self.barrier.wait()  # both in flight at once, or BrokenBarrierError after its timeout
        return [Outcome(self.name, DELIVERED, 1) for _ in parts]

    def close(self) -> None:
        pass


def test_destinations_are_in_flight_at_once_each_with_the_whole_deadline(tmp_path: Path) -> None:
    barrier = threading.Barrier(2, timeout=5)
    gates = [Gate("datadog", barrier), Gate("newrelic", barrier)]
    forwarder = Forwarder(LocalArchive(tmp_path), ("datadog", "newrelic"), lambda: gates)
    deadline = 1_000_000.0  # far off, and exactly what each destination must be handed
    [result] = forwarder.forward([stopped_events()[0]], deadline)
    assert {name: outcome["status"] for name, outcome in result.deliveries.items()} == {
        "datadog": "delivered", "newrelic": "delivered"
    }
    assert [gate.deadlines for gate in gates] == [[deadline], [deadline]]
    assert not barrier.broken


class Delivering:
    """A destination that delivers everything at once."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.sent: list[bytes] = []

    @property
    def encoder(self) -> Any:
        return lambda record, replay: record.event_id.encode()

    def send(self, parts: Sequence[bytes], deadline: float) -> list[Outcome]:
        self.sent.extend(parts)
        return [Outcome(self.name, DELIVERED, 1) for _ in parts]

    def close(self) -> None:
        pass


class KeyUnreadable(Delivering):
    """A destination whose key turns out unreadable as it sends (a rotated secret it may not read)."""

    def send(self, parts: Sequence[bytes], deadline: float) -> list[Outcome]:
        raise ConfigError("NEW_RELIC_LICENSE_KEY_SECRET_ARN=…: cannot read the key (AccessDenied)")


class Limits(LocalArchive):
    """The local archive, keeping the time limit each write was given."""

    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self.limits: list[float] = []

    def create(self, key: str, data: bytes, deadline: float) -> str | None:
        self.limits.append(deadline)
        return super().create(key, data, deadline)

    def replace(self, key: str, data: bytes, tag: str, deadline: float) -> str | None:
        self.limits.append(deadline)
        return super().replace(key, data, tag, deadline)


def test_after_an_error_what_was_sent_is_recorded_and_the_rest_released(tmp_path: Path) -> None:
    """A destination failing with the project's own error (a key unreadable) stops the call, but
    the other destination's delivery is recorded (a retry must not send it again) and the failed
    one's claim is released as "not sent" (a retry need not wait for it to expire), briefly: the
    clean-up has CLEANUP_SECONDS, whatever the deadline."""
    archive = Limits(tmp_path)
    clock = 500.0
    datadog, newrelic = Delivering("datadog"), KeyUnreadable("newrelic")
    forwarder = Forwarder(archive, ("datadog", "newrelic"), lambda: [datadog, newrelic], monotonic=lambda: clock)
    event = stopped_events()[0]
    with pytest.raises(ConfigError, match="cannot read the key"):
        forwarder.forward([event], deadline=clock + 60)
    [document] = [json.loads(path.read_text()) for path in tmp_path.rglob("*.json")]
    deliveries = document["deliveries"]
    assert deliveries["datadog"]["status"] == DELIVERED and deliveries["datadog"]["attempts"] == 1
    assert deliveries["newrelic"] == {"status": FAILED_RETRYABLE, "attempts": 0, "http_status": None,
                                      "error": "not sent: ConfigError: NEW_RELIC_LICENSE_KEY_SECRET_ARN=…: "
                                               "cannot read the key (AccessDenied)"}  # fmt: skip
    assert archive.limits[-1] == clock + CLEANUP_SECONDS  # the clean-up's write, however far the deadline
    # The retry sends only what was not sent.
    retried = Delivering("newrelic")
    Forwarder(LocalArchive(tmp_path), ("datadog", "newrelic"), lambda: [datadog, retried]).forward([event], 1e9)
    assert len(datadog.sent) == 1 and len(retried.sent) == 1


def test_claims_are_released_when_no_destination_could_be_built(tmp_path: Path) -> None:
    """The error comes before anything is sent (no key readable at all): every claim of the call
    is released as "not sent"; an event already delivered in the same call is left as it was."""
    delivered, new = stopped_events()[:2]
    ok = [Delivering("datadog"), Delivering("newrelic")]
    Forwarder(LocalArchive(tmp_path), ("datadog", "newrelic"), lambda: ok).forward([delivered], 1e9)

    def unreadable() -> list[Any]:
        raise ConfigError("DD_API_KEY_SSM_PARAMETER=…: cannot read the key (ParameterNotFound)")

    with pytest.raises(ConfigError):
        Forwarder(LocalArchive(tmp_path), ("datadog", "newrelic"), unreadable).forward([delivered, new], 1e9)
    documents = {d["event_id"]: d for d in (json.loads(p.read_text()) for p in tmp_path.rglob("*.json"))}
    assert {n: o["status"] for n, o in documents[delivered["id"]]["deliveries"].items()} == {
        "datadog": DELIVERED, "newrelic": DELIVERED
    }
    for outcome in documents[new["id"]]["deliveries"].values():
        assert outcome["status"] == FAILED_RETRYABLE and outcome["error"].startswith("not sent: ConfigError: ")


class FailsOnce(LocalArchive):
    """The local archive, whose first conditional replace fails as an unreachable store would."""

    failed = False

    def replace(self, key: str, data: bytes, tag: str, deadline: float) -> str | None:
        if not self.failed:
            self.failed = True
            raise ArchiveError(f"{key}: injected: the store did not answer", retryable=True)
        return super().replace(key, data, tag, deadline)


def test_outcomes_whose_write_failed_are_written_again_in_the_clean_up(tmp_path: Path) -> None:
    """Both vendors took the event, then writing their outcomes failed: the call raises (Lambda
    retries it), but the clean-up writes them once more, so the retry finds them delivered and
    sends nothing."""
    destinations = [Delivering("datadog"), Delivering("newrelic")]
    forwarder = Forwarder(FailsOnce(tmp_path), ("datadog", "newrelic"), lambda: destinations)
    event = stopped_events()[0]
    with pytest.raises(ArchiveError, match="injected"):
        forwarder.forward([event], 1e9)
    [document] = [json.loads(path.read_text()) for path in tmp_path.rglob("*.json")]
    assert {n: o["status"] for n, o in document["deliveries"].items()} == {"datadog": DELIVERED, "newrelic": DELIVERED}
    forwarder.forward([event], 1e9)
    assert [len(d.sent) for d in destinations] == [1, 1]


# -- what the archive holds, exactly (mutants of pipeline that no test noticed) --------------------

from datetime import UTC, datetime, timedelta  # noqa: E402

from forwarder.errors import InvalidEvent  # noqa: E402
from forwarder.parse import parse_event  # noqa: E402
from forwarder.pipeline import deliver  # noqa: E402

MOMENT = datetime(2026, 11, 30, 8, 15, 42, 123000, tzinfo=UTC)


class Short(Delivering):
    """A destination that answers for fewer logs than it was given (a broken one)."""

    def send(self, parts: Sequence[bytes], deadline: float) -> list[Outcome]:
        return super().send(parts, deadline)[:-1]


def test_a_destination_answering_for_fewer_logs_than_it_was_given_is_an_error() -> None:
    """Never a silent loss: a record left without an outcome would be recorded as nothing at all."""
    records = [parse_event(event) for event in stopped_events()[:2]]
    with pytest.raises(ValueError, match="shorter"):
        deliver(records, [Short("datadog")], 1e9)


def test_a_rejected_input_is_kept_once_whatever_its_key_order(tmp_path: Path) -> None:
    """The rejected object is named by the input's content: the same bad input written by another
    JSON library (its keys in another order) is the same input, kept once, with what the
    rejected schema holds: when it came, the kind of error, why, and the input."""
    bad = {"source": "aws.ecs", "detail-type": "ECS Task State Change", "id": "e-1",
           "detail": {"lastStatus": "STOPPED", "stoppedAt": "not a time"}}  # fmt: skip
    reordered = {"detail": {"stoppedAt": "not a time", "lastStatus": "STOPPED"}, "id": "e-1",
                 "detail-type": "ECS Task State Change", "source": "aws.ecs"}  # fmt: skip
    forwarder = Forwarder(LocalArchive(tmp_path), ("datadog",), lambda: [Delivering("datadog")], now=lambda: MOMENT)
    first, second = forwarder.forward([bad], 1e9)[0], forwarder.forward([reordered], 1e9)[0]
    assert first.key == second.key and isinstance(first.rejected, InvalidEvent)
    [path] = list(tmp_path.rglob("*.json"))
    document = json.loads(path.read_text())
    assert document == {"schema": "ecs-stop-forwarder/rejected/v1", "received_at": "2026-11-30T08:15:42.123Z",
                        "kind": first.rejected.kind, "reason": str(first.rejected), "input": bad}  # fmt: skip


def test_each_outcome_is_recorded_with_the_time_it_was_known(tmp_path: Path) -> None:
    times = iter([MOMENT + timedelta(seconds=n) for n in range(100)])
    forwarder = Forwarder(LocalArchive(tmp_path), ("datadog",), lambda: [Delivering("datadog")], now=lambda: next(times))
    forwarder.forward([stopped_events()[0]], 1e9)
    [document] = [json.loads(path.read_text()) for path in tmp_path.rglob("*.json")]
    outcome = document["deliveries"]["datadog"]
    claimed_at = datetime.fromisoformat(outcome["at"])
    assert outcome["status"] == DELIVERED and MOMENT < claimed_at < MOMENT + timedelta(seconds=100)


class Counting(LocalArchive):
    """The local archive, counting its calls."""

    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self.calls: list[str] = []

    def read(self, key: str, deadline: float) -> Any:
        self.calls.append("read")
        return super().read(key, deadline)

    def create(self, key: str, data: bytes, deadline: float) -> str | None:
        self.calls.append("create")
        return super().create(key, data, deadline)

    def replace(self, key: str, data: bytes, tag: str, deadline: float) -> str | None:
        self.calls.append("replace")
        return super().replace(key, data, tag, deadline)


def test_a_new_event_costs_two_archive_writes_and_no_read(tmp_path: Path) -> None:
    """One create-only write archives and claims; one conditional write, on the version that write
    returned, records the outcomes (the README's "two S3 calls per event")."""
    archive = Counting(tmp_path)
    Forwarder(archive, ("datadog", "newrelic"), lambda: [Delivering("datadog"), Delivering("newrelic")]).forward(
        [stopped_events()[0]], 1e9
    )
    assert archive.calls == ["create", "replace"]


class Vanishing(Delivering):
    """A destination during whose send the archive document is deleted (a lifecycle rule, a
    person): the outcome must be written all the same."""

    def __init__(self, name: str, root: Path) -> None:
        super().__init__(name)
        self.root = root

    def send(self, parts: Sequence[bytes], deadline: float) -> list[Outcome]:
        for path in self.root.rglob("*.json"):
            path.unlink()
        return super().send(parts, deadline)


def test_a_document_deleted_while_its_event_is_sent_is_written_again(tmp_path: Path) -> None:
    event = stopped_events()[0]
    Forwarder(LocalArchive(tmp_path), ("datadog",), lambda: [Vanishing("datadog", tmp_path)]).forward([event], 1e9)
    [document] = [json.loads(path.read_text()) for path in tmp_path.rglob("*.json")]
    assert document["event_id"] == event["id"] and document["deliveries"]["datadog"]["status"] == DELIVERED


class TakenOver(Delivering):
    """A send that fails after another invocation took the claim over (this one's claim had
    expired: it was that slow)."""

    def __init__(self, name: str, root: Path, expires: datetime) -> None:
        super().__init__(name)
        self.root, self.expires = root, expires

    def send(self, parts: Sequence[bytes], deadline: float) -> list[Outcome]:
        [path] = list(self.root.rglob("*.json"))
        document = json.loads(path.read_text())
        document["deliveries"][self.name] = {"status": "in-flight", "claimed_by": "another", "attempts": 1,
                                             "expires": self.expires.isoformat(), "at": MOMENT.isoformat()}  # fmt: skip
        path.write_text(json.dumps(document))
        return [Outcome(self.name, FAILED_RETRYABLE, 1, 503, "unavailable") for _ in parts]


def test_a_failure_never_overwrites_another_invocations_live_claim(tmp_path: Path) -> None:
    """The other invocation is sending it now: this one's failure is not recorded over its claim
    (a retry would send it a second time), only its attempt is counted."""
    live = MOMENT + timedelta(minutes=5)
    sender = TakenOver("datadog", tmp_path, live)
    Forwarder(LocalArchive(tmp_path), ("datadog",), lambda: [sender], now=lambda: MOMENT).forward(
        [stopped_events()[0]], 1e9
    )
    [document] = [json.loads(path.read_text()) for path in tmp_path.rglob("*.json")]
    entry = document["deliveries"]["datadog"]
    assert (entry["status"], entry["claimed_by"], entry["attempts"]) == ("in-flight", "another", 2)


def test_a_filtered_stop_is_recorded_skipped_with_why_and_when(tmp_path: Path) -> None:
    """Below FORWARDER_MIN_SEVERITY: nothing is sent, and each destination's entry says so."""
    from forwarder.pipeline import Filters

    event = next(e for e in stopped_events() if parse_event(e).severity != "error")
    datadog = Delivering("datadog")
    Forwarder(LocalArchive(tmp_path), ("datadog",), lambda: [datadog], Filters(min_severity="error"),
              now=lambda: MOMENT).forward([event], 1e9)  # fmt: skip
    [document] = [json.loads(path.read_text()) for path in tmp_path.rglob("*.json")]
    severity = parse_event(event).severity
    assert document["deliveries"] == {"datadog": {
        "status": "skipped", "reason": f"severity {severity} is below FORWARDER_MIN_SEVERITY=error",
        "at": "2026-11-30T08:15:42.123Z",
    }}  # fmt: skip
    assert datadog.sent == [] and document["archived_at"] == "2026-11-30T08:15:42.123Z"


class Peeking(Delivering):
    """A destination that reads the archive document while it sends (the claim in flight)."""

    def __init__(self, name: str, root: Path) -> None:
        super().__init__(name)
        self.root = root
        self.claims: list[dict[str, Any]] = []

    def send(self, parts: Sequence[bytes], deadline: float) -> list[Outcome]:
        [path] = list(self.root.rglob("*.json"))
        self.claims.append(json.loads(path.read_text())["deliveries"][self.name])
        return super().send(parts, deadline)


@pytest.mark.parametrize("left", [60.0, 0.25, -10.0])
def test_a_claim_expires_after_the_calls_deadline_and_the_time_to_record(tmp_path: Path, left: float) -> None:
    """Another invocation may take a claim over only once this one can no longer be sending or
    recording: the deadline's time left (none once it has passed) plus the time a record takes."""
    from forwarder.pipeline import RECORD_SECONDS

    peek = Peeking("datadog", tmp_path)
    Forwarder(LocalArchive(tmp_path), ("datadog",), lambda: [peek], now=lambda: MOMENT,
              monotonic=lambda: 100.0).forward([stopped_events()[0]], 100.0 + left)  # fmt: skip
    [claim] = peek.claims
    assert claim["status"] == "in-flight"
    expires = datetime.fromisoformat(claim["expires"])
    assert expires == MOMENT + timedelta(seconds=max(left, 0.0) + RECORD_SECONDS)


def test_a_retry_sends_the_diagnosis_it_archived(tmp_path: Path) -> None:
    """Diagnosis reads logs and images that change: a retried event is sent as it was archived the
    first time (and as the archive says it was diagnosed), not as a new diagnosis finds it."""
    import dataclasses

    event = stopped_events()[0]
    failing = Delivering("datadog")
    failing.send = lambda parts, deadline: [Outcome("datadog", FAILED_RETRYABLE, 1, 503, "busy") for _ in parts]  # type: ignore[method-assign]

    deadlines: list[float] = []

    def diagnosed(hint: str) -> Any:
        def diagnose(record: Any, deadline: float) -> Any:
            deadlines.append(deadline)  # diagnosis has the call's deadline to keep
            return dataclasses.replace(record, hint=hint)

        return diagnose

    class Hints(Delivering):
        @property
        def encoder(self) -> Any:
            return lambda record, replay: record.hint.encode()

    hints = Hints("datadog")
    Forwarder(LocalArchive(tmp_path), ("datadog",), lambda: [failing], enrich=diagnosed("first")).forward([event], 1e9)
    Forwarder(LocalArchive(tmp_path), ("datadog",), lambda: [hints], enrich=diagnosed("second")).forward([event], 1e9)
    assert hints.sent == [b"first"] and deadlines == [1e9, 1e9]


def test_a_document_gone_while_waiting_for_another_invocation_is_written_again(tmp_path: Path) -> None:
    """This invocation waits for another's claim; meanwhile the document is deleted: it is written
    again from what this invocation holds (the other's claim in it), and once that claim expires
    (its container died) taken over and sent. Never lost, never sent while the other may be."""
    event = stopped_events()[0]
    Forwarder(LocalArchive(tmp_path), ("datadog",), lambda: [TakenOver("datadog", tmp_path, MOMENT + timedelta(seconds=1))],
              now=lambda: MOMENT).forward([event], 1e9)  # fmt: skip
    clock = [0.0]
    deleted: list[Path] = []

    def sleep(seconds: float) -> None:  # the document disappears during the first wait
        clock[0] += seconds
        for path in [] if deleted else list(tmp_path.rglob("*.json")):
            path.unlink()
            deleted.append(path)

    datadog = Peeking("datadog", tmp_path)
    [result] = Forwarder(LocalArchive(tmp_path), ("datadog",), lambda: [datadog],
                         now=lambda: MOMENT + timedelta(seconds=clock[0]), monotonic=lambda: clock[0],
                         sleep=sleep).forward([event], 60.0)  # fmt: skip
    assert len(deleted) == 1 and len(datadog.sent) == 1 and result.deliveries["datadog"]["status"] == DELIVERED
    [document] = [json.loads(path.read_text()) for path in tmp_path.rglob("*.json")]
    assert document["event_id"] == event["id"] and document["deliveries"]["datadog"]["status"] == DELIVERED
    [claim] = datadog.claims  # taken over in this call's own name
    assert claim["took_over_from"] == "another" and re.fullmatch(r"[0-9a-f]{32}", claim["claimed_by"])


def test_a_damaged_document_at_the_events_key_is_an_error_naming_it(tmp_path: Path) -> None:
    event = stopped_events()[0]
    [result] = Forwarder(LocalArchive(tmp_path), (), lambda: []).forward([event], 1e9)
    (tmp_path / result.key).write_text("{half a docu")
    with pytest.raises(ArchiveError, match=re.escape(f"{result.key}: not an archive document (")):
        Forwarder(LocalArchive(tmp_path), ("datadog",), lambda: [Delivering("datadog")]).forward([event], 1e9)


class Contended(LocalArchive):
    """An archive whose every conditional write loses to another writer."""

    def replace(self, key: str, data: bytes, tag: str, deadline: float) -> str | None:
        return None


def test_a_document_that_keeps_changing_under_a_write_is_a_retryable_error_naming_it(tmp_path: Path) -> None:
    from forwarder.pipeline import MAX_CONFLICTS

    datadog = Delivering("datadog")
    with pytest.raises(ArchiveError, match=re.escape(f": changed {MAX_CONFLICTS} times while it was being written")) as raised:
        Forwarder(Contended(tmp_path), ("datadog",), lambda: [datadog]).forward([stopped_events()[0]], 1e9)
    assert raised.value.retryable and str(raised.value).startswith("20")  # the key: the event's hour folder


def test_waiting_for_another_invocation_reads_and_never_creates_again(tmp_path: Path) -> None:
    """The document exists: each look at another invocation's claim is a read (and the take-over a
    conditional write), never a create-only write that can only fail."""
    event = stopped_events()[0]
    Forwarder(LocalArchive(tmp_path), ("datadog",), lambda: [TakenOver("datadog", tmp_path, MOMENT + timedelta(seconds=1))],
              now=lambda: MOMENT).forward([event], 1e9)  # fmt: skip
    clock = [0.0]

    def sleep(seconds: float) -> None:
        clock[0] += seconds

    archive = Counting(tmp_path)
    Forwarder(archive, ("datadog",), lambda: [Delivering("datadog")], now=lambda: MOMENT + timedelta(seconds=clock[0]),
              monotonic=lambda: clock[0], sleep=sleep).forward([event], 60.0)  # fmt: skip
    assert archive.calls[:2] == ["create", "read"] and "create" not in archive.calls[2:]
    assert archive.calls[-2:] == ["replace", "replace"] and set(archive.calls[2:-2]) == {"read"}


@pytest.mark.parametrize(("deadline", "pauses"), [(3.0, [0.05, 0.1, 0.2, 0.4, 0.8, 1.0]), (0.05, [])])
def test_waiting_for_a_live_claim_backs_off_and_stops_at_the_deadline(
    tmp_path: Path, deadline: float, pauses: list[float]
) -> None:
    """Another invocation holds the event for longer than this call may wait: this one looks again
    after 0.05 s, doubling up to 1 s, never sleeps past its deadline, sends nothing and returns the
    other's claim as the event's state (Lambda's retry, or that invocation, settles it)."""
    from forwarder.pipeline import FIRST_POLL

    event = stopped_events()[0]
    Forwarder(LocalArchive(tmp_path), ("datadog",), lambda: [TakenOver("datadog", tmp_path, MOMENT + timedelta(hours=1))],
              now=lambda: MOMENT).forward([event], 1e9)  # fmt: skip
    clock, slept = [0.0], []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        clock[0] += seconds

    datadog = Delivering("datadog")
    [result] = Forwarder(LocalArchive(tmp_path), ("datadog",), lambda: [datadog], now=lambda: MOMENT,
                         monotonic=lambda: clock[0], sleep=sleep).forward([event], deadline)  # fmt: skip
    assert slept == pytest.approx(pauses) and (not pauses or pauses[0] == FIRST_POLL)
    assert datadog.sent == [] and result.deliveries["datadog"]["claimed_by"] == "another"


@pytest.mark.parametrize(("label", "pattern"), [("req-7f3a", r"req-7f3a/[0-9a-f]{12}"), (None, r"[0-9a-f]{32}")])
def test_a_claim_names_its_invocation(tmp_path: Path, label: str | None, pattern: str) -> None:
    """A claim is held by a token unique to the call, starting with the Lambda request id when
    there is one (a person reading the archive can find that invocation's logs)."""
    peek = Peeking("datadog", tmp_path)
    Forwarder(LocalArchive(tmp_path), ("datadog",), lambda: [peek]).forward([stopped_events()[0]], 1e9, label)
    [claim] = peek.claims
    assert re.fullmatch(pattern, claim["claimed_by"])


def test_the_pipelines_clock_is_utc_whatever_the_hosts_time_zone(monkeypatch: pytest.MonkeyPatch) -> None:
    import time

    from forwarder.pipeline import utc_now

    monkeypatch.setenv("TZ", "Asia/Tokyo")
    time.tzset()
    try:
        moment = utc_now()
        assert moment.utcoffset() == timedelta(0) and abs(moment - datetime.now(UTC)) < timedelta(seconds=5)
    finally:
        monkeypatch.undo()
        time.tzset()


def test_a_task_without_a_time_is_archived_under_the_hour_it_arrived(tmp_path: Path) -> None:
    """A bare Task (DescribeTasks output) may carry no stop time and has no event time."""
    task = dict(stopped_events()[0]["detail"])
    task.pop("stoppedAt", None)
    [result] = Forwarder(LocalArchive(tmp_path), (), lambda: [], now=lambda: MOMENT).forward([task], 1e9)
    assert result.record is not None and result.record.time is None
    assert result.key.startswith("2026/11/30/08/")
