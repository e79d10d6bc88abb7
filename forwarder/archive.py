"""The archive's stores: S3 and a local directory, the same layout (``forwarder.archive_layout``:
the keys, and the document each holds) behind one small interface, so the handler, ``send`` and
``redrive`` do not care which one they have.

Writes are conditional, so that concurrent invocations of the same event cannot undo each other's
work (see ``forwarder.claims``): ``create`` writes only where nothing is yet (S3 ``If-None-Match: *``;
a hard link in a folder), ``replace`` only over the version that was read (S3 ``If-Match`` on the
ETag; a content hash compared under a lock on the folder). Either answers None when the condition
does not hold: the caller re-reads and merges. S3 calls that are throttled (``SlowDown``), fail
(5xx) or cannot reach S3 are retried by the one retry policy within the caller's deadline, and
counted (``retried``).
"""

from __future__ import annotations

import errno
import hashlib
import os
import tempfile
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NamedTuple, Protocol

from botocore.exceptions import BotoCoreError, ClientError, HTTPClientError
from botocore.exceptions import ConnectionError as BotoConnectionError

from forwarder.errors import ArchiveError
from forwarder.retry import RetryPolicy, is_retryable_status

#: S3 error codes worth another try (besides any 5xx): throttling and transient failures.
RETRYABLE_CODES = frozenset(
    {"SlowDown", "ServiceUnavailable", "InternalError", "RequestTimeout", "Throttling",
     "ThrottlingException", "RequestLimitExceeded", "TooManyRequests"}
)  # fmt: skip
#: A conditional write whose condition does not hold (412), or that raced another one (409).
CONFLICT_CODES = frozenset({"PreconditionFailed", "ConditionalRequestConflict"})


class Stored(NamedTuple):
    """A document as read, with the version it was read at (``tag``): what ``replace`` compares."""

    data: bytes
    tag: str


class ArchiveStore(Protocol):
    """Where documents live. ``location`` is what to tell a human (``s3://bucket/prefix``);
    ``retried`` counts calls made again after throttling, a 5xx or an unreachable store."""

    prefix: str
    retried: int

    @property
    def location(self) -> str: ...

    def read(self, key: str, deadline: float) -> Stored | None:
        """The document and its version, None when it does not exist; ``ArchiveError`` when unreadable."""
        ...

    def create(self, key: str, data: bytes, deadline: float) -> str | None:
        """Write ``data`` only where nothing is yet: its version, or None when a document exists."""
        ...

    def replace(self, key: str, data: bytes, tag: str, deadline: float) -> str | None:
        """Write ``data`` only over version ``tag``: the new version, or None when the document
        changed (or is gone) since it was read."""
        ...


def content_tag(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class LocalArchive:
    """The same layout in a directory (``send --archive DIR``, tests, demos).

    ``create`` is a hard link of a finished temporary file: exclusive (it fails when the document
    exists) and atomic (a reader never sees half a document). ``replace`` holds an exclusive
    ``flock`` on the document's folder while it compares the content hash and renames over it.
    Temporary files are hidden (``.name.*.partial``), which replay passes over. POSIX only.
    """

    retried = 0

    def __init__(self, root: str | Path, prefix: str = "") -> None:
        self.root = Path(root)
        self.prefix = prefix

    @property
    def location(self) -> str:
        return str(self.root / self.prefix)

    def _path(self, key: str) -> Path:
        path = (self.root / key).resolve()
        if not path.is_relative_to(self.root.resolve()):
            raise ArchiveError(f"archive key escapes the archive directory: {key!r}")
        return path

    def read(self, key: str, deadline: float) -> Stored | None:
        try:
            data = self._path(key).read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise ArchiveError(f"{self.root / key}: cannot read ({exc.strerror})") from exc
        return Stored(data, content_tag(data))

    def create(self, key: str, data: bytes, deadline: float) -> str | None:
        path = self._path(key)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            temporary = _written(path, data)
            try:
                os.link(temporary, path)
            except FileExistsError:
                return None
            except OSError as exc:
                if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV):
                    raise
                with _locked(path.parent):  # a file system without hard links: exclusive by the lock
                    if path.exists():
                        return None
                    os.replace(temporary, path)
            finally:
                if os.path.exists(temporary):
                    os.unlink(temporary)
        except OSError as exc:
            raise ArchiveError(f"{path}: cannot write ({exc.strerror})") from exc
        return content_tag(data)

    def replace(self, key: str, data: bytes, tag: str, deadline: float) -> str | None:
        path = self._path(key)
        if not path.parent.is_dir():  # no document there to swap (folders are never removed)
            return None
        try:
            with _locked(path.parent):
                try:
                    current = path.read_bytes()
                except FileNotFoundError:
                    return None
                if content_tag(current) != tag:
                    return None
                os.replace(_written(path, data), path)  # atomic: a reader never sees half a document
        except OSError as exc:
            raise ArchiveError(f"{path}: cannot write ({exc.strerror})") from exc
        return content_tag(data)


def _written(path: Path, data: bytes) -> str:
    """A hidden temporary file beside ``path`` holding ``data``."""
    handle, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".partial")
    with os.fdopen(handle, "wb") as file:
        file.write(data)
    return name


@contextmanager
def _locked(folder: Path) -> Iterator[None]:
    """An exclusive lock on ``folder`` between processes and threads (each open is its own lock)."""
    import fcntl  # noqa: PLC0415 - POSIX only; the Lambda never uses a local archive

    handle = os.open(folder, os.O_RDONLY)
    try:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield
    finally:
        os.close(handle)  # releases the lock


_CONFLICT = object()


class S3Archive:
    """Objects in S3, server-side encrypted (SSE-S3, or SSE-KMS with ``kms_key_id``).

    Give it a client without botocore's own retries (``wiring.aws_client(..., retries=False)``):
    ``policy`` retries throttling, 5xx and unreachable S3 within the caller's deadline."""

    def __init__(
        self,
        client: Any,
        bucket: str,
        prefix: str = "",
        kms_key_id: str | None = None,
        policy: RetryPolicy | None = None,
    ) -> None:
        self.client = client
        self.bucket = bucket
        self.prefix = prefix
        self.kms_key_id = kms_key_id
        self.policy = policy or RetryPolicy()
        self.retried = 0
        self._lock = threading.Lock()

    @property
    def location(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}"

    def read(self, key: str, deadline: float) -> Stored | None:
        def call() -> Stored:
            answer = self.client.get_object(Bucket=self.bucket, Key=key)
            return Stored(bytes(answer["Body"].read()), str(answer["ETag"]))

        stored: Stored | None = self._run("read", key, call, deadline, frozenset({"NoSuchKey", "404"}))
        return stored

    def create(self, key: str, data: bytes, deadline: float) -> str | None:
        return self._put(key, data, deadline, {"IfNoneMatch": "*"}, CONFLICT_CODES)

    def replace(self, key: str, data: bytes, tag: str, deadline: float) -> str | None:
        # NoSuchKey: the document is gone (deleted by hand); the caller reads None and creates it.
        return self._put(key, data, deadline, {"IfMatch": tag}, CONFLICT_CODES | {"NoSuchKey"})

    def _put(
        self, key: str, data: bytes, deadline: float, condition: dict[str, str], conflicts: frozenset[str]
    ) -> str | None:
        encryption: dict[str, str] = {"ServerSideEncryption": "AES256"}
        if self.kms_key_id:
            encryption = {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": self.kms_key_id}

        def call() -> str:
            # A checksum on every write: a bucket with Object Lock refuses a PUT without one (boto3
            # sends CRC32 by default only from 1.36 on; the Lambda runtime's may be older).
            answer = self.client.put_object(
                Bucket=self.bucket, Key=key, Body=data, ContentType="application/json", **encryption,
                ChecksumAlgorithm="CRC32", **condition,
            )  # fmt: skip
            return str(answer["ETag"])

        tag: str | None = self._run("write", key, call, deadline, conflicts)
        return tag

    def _run(
        self, verb: str, key: str, call: Callable[[], Any], deadline: float, conflicts: frozenset[str]
    ) -> Any:
        """``call()``'s answer, None when S3 answers one of ``conflicts``; retried as the policy says."""
        where = f"s3://{self.bucket}/{key}"

        def attempt(timeout: float) -> Any:
            try:
                return call()
            except ClientError as exc:
                code = _code(exc)
                if code in conflicts:
                    return _CONFLICT
                status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
                retryable = code in RETRYABLE_CODES or (
                    isinstance(status, int) and is_retryable_status(status)
                )
                raise ArchiveError(
                    f"{where}: cannot {verb} ({code})", retryable=retryable, status=status
                ) from exc
            except (BotoConnectionError, HTTPClientError) as exc:  # unreachable, timed out, cut off
                raise ArchiveError(f"{where}: cannot {verb} ({type(exc).__name__})", retryable=True) from exc
            except BotoCoreError as exc:
                raise ArchiveError(f"{where}: cannot {verb} ({type(exc).__name__})") from exc

        try:
            answer, attempts = self.policy.run(attempt, deadline, late=ArchiveError)
        except ArchiveError as exc:
            self._count(exc.attempts - 1)
            if exc.attempts == 0:  # the deadline had passed: say which object was not written
                raise ArchiveError(f"{where}: cannot {verb} ({exc})", retryable=True) from exc
            raise
        self._count(attempts - 1)
        return None if answer is _CONFLICT else answer

    def _count(self, retries: int) -> None:
        if retries > 0:
            with self._lock:
                self.retried += retries


class NoArchive:
    """``--archive none``: nothing is kept (a choice the user makes explicitly)."""

    prefix = ""
    location = "(none)"
    retried = 0

    def read(self, key: str, deadline: float) -> Stored | None:
        return None

    def create(self, key: str, data: bytes, deadline: float) -> str | None:
        return "none"

    def replace(self, key: str, data: bytes, tag: str, deadline: float) -> str | None:
        return "none"


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", "error"))


def open_archive(
    location: str, default_prefix: str, client_factory: Any, kms_key_id: str | None = None
) -> ArchiveStore:
    """``s3://bucket[/prefix]``, ``none``, or a directory; the default prefix applies when none is given."""
    if location == "none":
        return NoArchive()
    if location.startswith("s3://"):
        bucket, _, prefix = location[5:].partition("/")
        if not bucket:
            raise ArchiveError(f"no bucket in {location!r}")
        if prefix and not prefix.endswith("/"):
            prefix += "/"
        # No botocore retries: the archive retries with the deadline-aware policy itself.
        return S3Archive(client_factory("s3", retries=False), bucket, prefix or default_prefix, kms_key_id)
    return LocalArchive(location, default_prefix)
