"""The archive stores' conditional writes and S3 throttling: the emulator over HTTP (through a fault
proxy where S3 must throttle), botocore's Stubber only for the 409 moto never answers."""

from __future__ import annotations

import functools
import json
import re
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from botocore.stub import Stubber

from forwarder import archive as archive_module
from forwarder.archive import ArchiveStore, LocalArchive, NoArchive, S3Archive, Stored, open_archive
from forwarder.errors import ArchiveError
from forwarder.handler import Runtime
from forwarder.retry import RetryPolicy
from tests.aws import MotoServer
from tests.fixtures import stopped_events
from tests.intakes import DatadogIntake, NewRelicIntake
from tests.s3_faults import DENIED, SLOW_DOWN, FaultProxy, S3Error, s3_puts

BUCKET = "archive-tests"
FAST = RetryPolicy(initial=0.01, maximum=0.05)
WRITERS, INCREMENTS = 8, 15


def far() -> float:
    return time.monotonic() + 30


@pytest.fixture(params=["s3", "local"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> ArchiveStore:
    if request.param == "local":
        return LocalArchive(tmp_path / "archive", "p/")
    aws: MotoServer = request.getfixturevalue("aws")
    aws.client("s3").create_bucket(Bucket=BUCKET)
    return S3Archive(aws.client("s3", retries=False), BUCKET, "p/", policy=FAST)


def test_create_is_create_only_and_replace_swaps_only_the_version_read(store: ArchiveStore) -> None:
    key = "p/2026/11/28/10/e.json"
    assert store.read(key, far()) is None
    assert store.replace(key, b"x\n", "any", far()) is None  # nothing to swap
    first = store.create(key, b"one\n", far())
    assert first is not None
    assert store.create(key, b"two\n", far()) is None  # exists: not overwritten
    assert store.read(key, far()) == Stored(b"one\n", first)
    second = store.replace(key, b"three\n", first, far())
    assert second is not None and second != first
    assert store.replace(key, b"four\n", first, far()) is None  # a stale version loses
    assert store.read(key, far()) == Stored(b"three\n", second)


def increment(store: ArchiveStore, key: str, barrier: threading.Barrier) -> int:
    """INCREMENTS read-modify-write rounds on a counter document; the conflicts met."""
    conflicts = 0
    barrier.wait()
    for _ in range(INCREMENTS):
        while True:
            stored = store.read(key, far())
            assert stored is not None
            count = json.loads(stored.data)["count"]
            if store.replace(key, json.dumps({"count": count + 1}).encode(), stored.tag, far()) is not None:
                break
            conflicts += 1
    return conflicts


def test_concurrent_writers_lose_no_update(store: ArchiveStore) -> None:
    key = "p/counter.json"
    assert store.create(key, b'{"count": 0}', far()) is not None
    barrier = threading.Barrier(WRITERS)
    conflicts: list[int] = []
    threads = [
        threading.Thread(target=lambda: conflicts.append(increment(store, key, barrier))) for _ in range(WRITERS)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    stored = store.read(key, far())
    assert stored is not None and json.loads(stored.data)["count"] == WRITERS * INCREMENTS
    assert sum(conflicts) > 0  # the writers did race


def test_concurrent_creates_have_one_winner(store: ArchiveStore) -> None:
    for round_ in range(10):
        key = f"p/race-{round_}.json"
        barrier = threading.Barrier(WRITERS)
        won: list[int] = []

        def create(index: int, key: str = key, barrier: threading.Barrier = barrier, won: list[int] = won) -> None:
            barrier.wait()
            if store.create(key, f"{index}\n".encode(), far()) is not None:
                won.append(index)

        threads = [threading.Thread(target=create, args=(i,)) for i in range(WRITERS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert len(won) == 1
        stored = store.read(key, far())
        assert stored is not None and stored.data == f"{won[0]}\n".encode()


def test_local_archive_leaves_no_temporary_file(tmp_path: Path) -> None:
    store = LocalArchive(tmp_path, "p/")
    tag = store.create("p/a/b.json", b"1\n", far())
    assert tag is not None and store.create("p/a/b.json", b"2\n", far()) is None
    assert store.replace("p/a/b.json", b"3\n", tag, far()) is not None
    assert sorted(p.name for p in (tmp_path / "p" / "a").iterdir()) == ["b.json"]


@pytest.mark.parametrize("method", ["create", "replace"])
def test_a_409_conditional_request_conflict_is_a_conflict(aws: MotoServer, method: str) -> None:
    """S3 answers 409 ConditionalRequestConflict when conditional writes to a key race; the
    emulator never does, so this call alone is stubbed (botocore's real PutObject shapes)."""
    client = aws.client("s3", retries=False)
    store = S3Archive(client, BUCKET, "p/", policy=FAST)
    condition = {"IfNoneMatch": "*"} if method == "create" else {"IfMatch": '"abc"'}
    with Stubber(client) as stub:
        stub.add_client_error(
            "put_object",
            service_error_code="ConditionalRequestConflict",
            service_message="A conflicting operation occurred. Retry the request.",
            http_status_code=409,
            expected_params={"Bucket": BUCKET, "Key": "p/k.json", "Body": b"{}\n",
                             "ContentType": "application/json", "ServerSideEncryption": "AES256",
                             "ChecksumAlgorithm": "CRC32", **condition},
        )  # fmt: skip
        write: Callable[[], str | None] = (
            (lambda: store.create("p/k.json", b"{}\n", far()))
            if method == "create"
            else (lambda: store.replace("p/k.json", b"{}\n", '"abc"', far()))
        )
        assert write() is None
        stub.assert_no_pending_responses()
    assert store.retried == 0


def test_slow_down_is_retried_within_the_deadline_and_counted(s3_faults: FaultProxy) -> None:
    s3_faults.upstream.client("s3").create_bucket(Bucket=BUCKET)
    store = S3Archive(s3_faults.client("s3", retries=False), BUCKET, "p/", policy=FAST)
    s3_faults.fail(s3_puts(BUCKET), SLOW_DOWN, times=3)
    assert store.create("p/a.json", b"1\n", far()) is not None
    assert store.retried == 3 and s3_faults.injected["SlowDown"] == 3
    # Throttled past the deadline: raised, retryable (the handler raises, Lambda retries), counted.
    # On an injected clock that only the retries' sleeps move: every sleep ends by the deadline.
    s3_faults.fail(s3_puts(BUCKET), SLOW_DOWN)
    clock = [0.0]
    policy = RetryPolicy(initial=0.01, maximum=0.05, clock=lambda: clock[0],
                         sleep=lambda seconds: clock.__setitem__(0, clock[0] + seconds))  # fmt: skip
    timed = S3Archive(s3_faults.client("s3", retries=False), BUCKET, "p/", policy=policy)
    with pytest.raises(ArchiveError, match=r"s3://archive-tests/p/b.json: cannot write \(SlowDown\)") as raised:
        timed.create("p/b.json", b"2\n", 0.5)
    assert raised.value.retryable and 0 < clock[0] <= 0.5  # stopped by the deadline, not past it
    assert timed.retried >= 1


def test_access_denied_is_not_retried(s3_faults: FaultProxy) -> None:
    s3_faults.upstream.client("s3").create_bucket(Bucket=BUCKET)
    store = S3Archive(s3_faults.client("s3", retries=False), BUCKET, "p/", policy=FAST)
    s3_faults.fail(s3_puts(BUCKET), DENIED)
    with pytest.raises(ArchiveError, match="AccessDenied") as raised:
        store.create("p/a.json", b"1\n", far())
    assert not raised.value.retryable and store.retried == 0 and s3_faults.injected["AccessDenied"] == 1


class Context:
    def get_remaining_time_in_millis(self) -> int:
        return 30_000


def test_the_handler_retries_a_throttled_archive_and_says_so_in_its_metrics(
    s3_faults: FaultProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(archive_module, "RetryPolicy", functools.partial(RetryPolicy, initial=0.01, maximum=0.05))
    s3_faults.upstream.client("s3").create_bucket(Bucket=BUCKET)
    lines: list[str] = []
    with DatadogIntake(valid_keys={"k"}) as dd, NewRelicIntake(valid_keys={"k"}) as nr:
        env = {"FORWARDER_DESTINATIONS": "datadog,newrelic", "DD_API_KEY": "k", "DD_LOGS_URL": dd.url,
               "NEW_RELIC_LICENSE_KEY": "k", "NEW_RELIC_LOGS_URL": nr.url, "ARCHIVE_BUCKET": BUCKET}  # fmt: skip
        runtime = Runtime.from_env(env, client_factory=s3_faults.client, emit=lines.append)
        for event, times in zip(stopped_events()[:2], (2, 1), strict=True):  # each invocation counts its own
            s3_faults.fail(s3_puts(BUCKET), SLOW_DOWN, times=times)  # the archive-first write
            answer = runtime.handle(event, Context())
            assert answer["deliveries"] == {"datadog": "delivered", "newrelic": "delivered"}
        assert len(dd.accepted) == len(nr.accepted) == 2
    emfs = [json.loads(line) for line in lines if '"Received"' in line]
    assert [emf["ArchiveRetries"] for emf in emfs] == [2, 1]
    assert {"Name": "ArchiveRetries", "Unit": "Count"} in emfs[0]["_aws"]["CloudWatchMetrics"][0]["Metrics"]


def test_a_handler_whose_archive_stays_throttled_raises_with_the_count(
    s3_faults: FaultProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(archive_module, "RetryPolicy", functools.partial(RetryPolicy, initial=0.01, maximum=0.05))
    s3_faults.upstream.client("s3").create_bucket(Bucket=BUCKET)
    lines: list[str] = []
    with DatadogIntake(valid_keys={"k"}) as dd:
        env = {"FORWARDER_DESTINATIONS": "datadog", "DD_API_KEY": "k", "DD_LOGS_URL": dd.url,
               "ARCHIVE_BUCKET": BUCKET}  # fmt: skip
        runtime = Runtime.from_env(env, client_factory=s3_faults.client, emit=lines.append)
        s3_faults.fail(s3_puts(BUCKET), SLOW_DOWN)

        class Short:
            def get_remaining_time_in_millis(self) -> int:
                return 3_500  # 0.5 s of deadline, then the 2.5 s kept to record outcomes

        counts = []
        for event in stopped_events()[:2]:  # each invocation counts its own retries
            before_ms, injected = int(time.time() * 1000), s3_faults.injected["SlowDown"]
            with pytest.raises(ArchiveError, match="SlowDown"):
                runtime.handle(event, Short())
            counts.append((before_ms, int(time.time() * 1000), s3_faults.injected["SlowDown"] - injected - 1))
        assert dd.requests == []
    errors = [json.loads(line) for line in lines if '"ERROR"' in line]
    assert len(errors) == 2 and all(e["level"] == "ERROR" and e["message"].startswith("ArchiveError: ") for e in errors)
    emfs = [json.loads(line) for line in lines if "ArchiveRetries" in line]
    assert [emf["ArchiveRetries"] for emf in emfs] == [count for _, _, count in counts]
    assert all(count > 0 for _, _, count in counts)
    assert all(start <= emf["_aws"]["Timestamp"] <= end for emf, (start, end, _) in zip(emfs, counts, strict=True))


def test_an_archive_call_after_the_deadline_names_the_object(aws: MotoServer) -> None:
    aws.client("s3").create_bucket(Bucket=BUCKET)
    store = S3Archive(aws.client("s3", retries=False), BUCKET, "p/", policy=FAST)
    with pytest.raises(ArchiveError, match=r"s3://archive-tests/p/late.json: cannot write \(deadline reached"):
        store.create("p/late.json", b"1\n", time.monotonic() - 1)
    assert store.retried == 0
    with pytest.raises(ArchiveError) as late:
        store.create("p/late.json", b"1\n", time.monotonic() - 1)
    assert late.value.retryable  # Lambda's retry, with a new deadline, writes it


class Unreachable:
    """An S3 client whose every call fails before S3 answers, as botocore raises it."""

    def __init__(self, error: Exception) -> None:
        self.error = error

    def put_object(self, **_: object) -> None:
        raise self.error


def test_s3_that_cannot_be_reached_is_a_retryable_error_naming_the_object() -> None:
    """No connection (a VPC without an S3 endpoint, a timeout): retryable, each try counted."""
    from botocore.exceptions import EndpointConnectionError

    store = S3Archive(Unreachable(EndpointConnectionError(endpoint_url="https://s3")), BUCKET, "p/",
                      policy=RetryPolicy(initial=0.001, maximum=0.002, max_attempts=3))  # fmt: skip
    with pytest.raises(ArchiveError, match=re.escape("s3://archive-tests/p/a.json: cannot write (EndpointConnectionError)")) as raised:
        store.create("p/a.json", b"{}", time.monotonic() + 10)
    assert raised.value.retryable and store.retried == 2


def test_a_client_that_cannot_sign_is_an_error_naming_the_object_and_the_cause() -> None:
    """No credentials (botocore's own error, no request made): not retried, named."""
    from botocore.exceptions import NoCredentialsError

    store = S3Archive(Unreachable(NoCredentialsError()), BUCKET, "p/", policy=FAST)
    with pytest.raises(ArchiveError, match=re.escape("s3://archive-tests/p/a.json: cannot write (NoCredentialsError)")) as raised:
        store.create("p/a.json", b"{}", time.monotonic() + 10)
    assert not raised.value.retryable and store.retried == 0


def test_a_first_write_that_fails_while_reads_work_sends_nothing_and_raises(s3_faults: FaultProxy) -> None:
    """Archive first, held by the write itself: the bucket is there and readable, only the
    archive-first PUT is refused (AccessDenied: not retried). No vendor hears of the event."""
    s3_faults.upstream.client("s3").create_bucket(Bucket=BUCKET)
    with DatadogIntake(valid_keys={"k"}) as dd, NewRelicIntake(valid_keys={"k"}) as nr:
        env = {"FORWARDER_DESTINATIONS": "datadog,newrelic", "DD_API_KEY": "k", "DD_LOGS_URL": dd.url,
               "NEW_RELIC_LICENSE_KEY": "k", "NEW_RELIC_LOGS_URL": nr.url, "ARCHIVE_BUCKET": BUCKET}  # fmt: skip
        runtime = Runtime.from_env(env, client_factory=s3_faults.client, emit=lambda _: None)
        s3_faults.fail(s3_puts(BUCKET), DENIED)
        with pytest.raises(ArchiveError, match="AccessDenied"):
            runtime.handle(stopped_events()[0], Context())
        assert dd.requests == [] and nr.requests == []
        assert s3_faults.injected["AccessDenied"] >= 1


def test_locations_open_the_archive_they_name(tmp_path: Path) -> None:
    calls: list[tuple[str, dict[str, object]]] = []

    def factory(service: str, **options: object) -> object:
        calls.append((service, options))
        return object()

    default = "ecs-task-stop-log/"
    s3 = open_archive("s3://bkt", default, factory, "alias/archive")
    assert isinstance(s3, S3Archive) and (s3.bucket, s3.prefix, s3.kms_key_id) == ("bkt", default, "alias/archive")
    assert calls == [("s3", {"retries": False})]  # the archive retries within the deadline itself
    assert open_archive("s3://bkt/team/stops", default, factory).prefix == "team/stops/"
    assert open_archive("s3://bkt/team/stops/", default, factory).prefix == "team/stops/"
    with pytest.raises(ArchiveError, match=r"no bucket in 's3:///stops'"):
        open_archive("s3:///stops", default, factory)
    assert isinstance(open_archive("none", default, factory), NoArchive)
    local = open_archive(str(tmp_path), default, factory)
    assert isinstance(local, LocalArchive) and local.prefix == default


def test_a_kms_key_encrypts_every_write(aws: MotoServer) -> None:
    """With ``ARCHIVE_KMS_KEY_ID`` each document is written SSE-KMS under that key (first write
    and conditional rewrites alike), else SSE-S3."""
    s3 = aws.client("s3")
    s3.create_bucket(Bucket=BUCKET)
    key_id = aws.client("kms").create_key()["KeyMetadata"]["Arn"]
    encrypted = S3Archive(aws.client("s3"), BUCKET, "p/", key_id)
    tag = encrypted.create("p/a.json", b"{}", time.monotonic() + 10)
    assert tag is not None
    first = s3.head_object(Bucket=BUCKET, Key="p/a.json")
    assert (first["ServerSideEncryption"], first["SSEKMSKeyId"]) == ("aws:kms", key_id)
    encrypted.replace("p/a.json", b'{"v": 2}', tag, time.monotonic() + 10)
    second = s3.head_object(Bucket=BUCKET, Key="p/a.json")
    assert (second["ServerSideEncryption"], second["SSEKMSKeyId"]) == ("aws:kms", key_id)
    S3Archive(aws.client("s3"), BUCKET, "p/").create("p/b.json", b"{}", time.monotonic() + 10)
    plain = s3.head_object(Bucket=BUCKET, Key="p/b.json")
    assert plain["ServerSideEncryption"] == "AES256" and "SSEKMSKeyId" not in plain


def test_a_server_error_s3_does_not_name_is_retried(s3_faults: FaultProxy) -> None:
    """Any 5xx is worth another try, whatever its code; a 4xx that is not throttling is not."""
    s3_faults.upstream.client("s3").create_bucket(Bucket=BUCKET)
    store = S3Archive(s3_faults.client("s3", retries=False), BUCKET, "p/", policy=RetryPolicy(initial=0.01, maximum=0.05))
    s3_faults.fail(s3_puts(BUCKET), S3Error(502, "BadGateway", "upstream hiccup"), times=2)
    assert store.create("p/a.json", b"{}", time.monotonic() + 10) is not None
    assert store.retried == 2
    s3_faults.fail(s3_puts(BUCKET), S3Error(400, "InvalidRequest", "no"), times=1)
    with pytest.raises(ArchiveError, match=r"s3://archive-tests/p/b.json: cannot write \(InvalidRequest\)") as raised:
        store.create("p/b.json", b"{}", time.monotonic() + 10)
    assert not raised.value.retryable and raised.value.status == 400 and store.retried == 2


def test_local_archive_errors_say_which_file_and_why(tmp_path: Path) -> None:
    store = LocalArchive(tmp_path)
    (tmp_path / "a.json").mkdir()  # a directory where the document should be
    with pytest.raises(ArchiveError, match=re.escape(f"{tmp_path}/a.json: cannot read (Is a directory)")):
        store.read("a.json", time.monotonic() + 10)
    (tmp_path / "plain").write_text("a file, not a folder")
    with pytest.raises(ArchiveError, match=re.escape(f"{tmp_path}/plain/b.json: cannot write (")):
        store.create("plain/b.json", b"{}", time.monotonic() + 10)
    with pytest.raises(ArchiveError, match=r"archive key escapes the archive directory: '../c.json'"):
        store.create("../c.json", b"{}", time.monotonic() + 10)


def test_a_local_archive_without_a_prefix_keeps_documents_at_its_root(tmp_path: Path) -> None:
    """``send --archive DIR`` lays documents out under DIR as the bucket holds them (no prefix
    unless given): the key the pipeline reports is the file's path in DIR."""
    from forwarder.pipeline import Forwarder

    archive = LocalArchive(tmp_path)
    assert archive.location == str(tmp_path)
    [result] = Forwarder(archive, (), lambda: []).forward([stopped_events()[0]], 1e9)
    [path] = list(tmp_path.rglob("*.json"))
    assert path.relative_to(tmp_path).as_posix() == result.key


@pytest.mark.parametrize("refused", ["EPERM", "ENOTSUP", "EOPNOTSUPP", "EXDEV"])
def test_a_file_system_without_hard_links_still_creates_exclusively(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, refused: str
) -> None:
    """Where ``link`` is refused (some network and FUSE file systems), ``create`` takes the folder's
    lock and renames: the document is written whole, only once, and no temporary file is left."""
    import errno
    import os

    def no_links(source: str, target: object) -> None:
        raise OSError(getattr(errno, refused), "links refused")

    monkeypatch.setattr(os, "link", no_links)
    store = LocalArchive(tmp_path)
    assert store.create("h/a.json", b'{"n":1}', 1e9) is not None
    assert store.create("h/a.json", b'{"n":2}', 1e9) is None
    assert (tmp_path / "h" / "a.json").read_bytes() == b'{"n":1}'
    assert sorted(p.name for p in (tmp_path / "h").iterdir()) == ["a.json"]


def test_a_link_failing_otherwise_is_an_error_naming_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import errno
    import os

    def broken(source: str, target: object) -> None:
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(os, "link", broken)
    with pytest.raises(ArchiveError, match=re.escape(f"{tmp_path}/h/a.json: cannot write (Input/output error)")):
        LocalArchive(tmp_path).create("h/a.json", b"{}", 1e9)
    assert list((tmp_path / "h").iterdir()) == []


def test_a_replace_that_cannot_write_says_which_file_and_why(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import errno
    import os

    store = LocalArchive(tmp_path)
    tag = store.create("h/a.json", b"{}", 1e9)
    assert tag is not None

    def full(source: str, target: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "replace", full)
    with pytest.raises(ArchiveError, match=re.escape(f"{tmp_path}/h/a.json: cannot write (No space left on device)")):
        store.replace("h/a.json", b'{"n":1}', tag, 1e9)


def test_a_document_is_written_through_a_hidden_file_beside_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The temporary file is in the document's own folder (a rename within one file system is
    atomic) and hidden as ``.name.*.partial``, which replay passes over."""
    import os

    seen: list[str] = []
    real_link = os.link

    def spy(source: str, target: str) -> None:
        seen.append(source)
        real_link(source, target)

    monkeypatch.setattr(os, "link", spy)
    LocalArchive(tmp_path).create("h/a.json", b"{}", 1e9)
    [temporary] = [Path(name) for name in seen]
    assert temporary.parent == tmp_path / "h"
    assert temporary.name.startswith(".a.json.") and temporary.name.endswith(".partial")


def test_the_lambda_archives_under_its_kms_key(aws: MotoServer) -> None:
    """``ARCHIVE_KMS_KEY_ID`` reaches the handler's archive: the event's document is SSE-KMS."""
    s3 = aws.client("s3")
    s3.create_bucket(Bucket=BUCKET)
    key_id = aws.client("kms").create_key()["KeyMetadata"]["Arn"]
    env = {"ARCHIVE_BUCKET": BUCKET, "ARCHIVE_KMS_KEY_ID": key_id, "FORWARDER_DESTINATIONS": "stdout"}
    runtime = Runtime.from_env(env, client_factory=aws.client, emit=lambda line: None)
    answer = runtime.handle(stopped_events()[0], Context())
    head = s3.head_object(Bucket=BUCKET, Key=answer["archive_key"])
    assert (head["ServerSideEncryption"], head["SSEKMSKeyId"]) == ("aws:kms", key_id)


def test_an_unreadable_document_says_which_and_why(aws: MotoServer) -> None:
    store = S3Archive(aws.client("s3"), "no-such-bucket", "p/", policy=RetryPolicy(initial=0.01, maximum=0.05))
    with pytest.raises(ArchiveError, match=r"^s3://no-such-bucket/p/a.json: cannot read \(NoSuchBucket\)$"):
        store.read("p/a.json", time.monotonic() + 10)
