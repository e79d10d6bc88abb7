"""The archive: one JSON document per stop, in S3 or a local directory, in the same layout.

``<prefix>YYYY/MM/DD/HH/<event id>.json`` (UTC of the event time): the raw event (redacted), its
stop record, and each destination's outcome — one single-line JSON document, readable by Athena.
Inputs that are not ECS STOPPED task events go under ``<prefix>rejected/YYYY/MM/DD/HH/`` with the
reason. Both stores sit behind the same small interface, so the handler, ``send`` and ``replay``
do not care which one they have.
"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from botocore.exceptions import BotoCoreError, ClientError

from forwarder import fastjson
from forwarder.errors import ArchiveError

SCHEMA = "ecs-stop-forwarder/archive/v1"
REJECTED_SCHEMA = "ecs-stop-forwarder/rejected/v1"
_SAFE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")


def hour_path(moment: datetime) -> str:
    return moment.strftime("%Y/%m/%d/%H/")


def safe_id(event_id: str) -> str:
    """The event id if it is safe in a key, else a stable hash of it."""
    return (
        event_id if _SAFE_ID.match(event_id) else "id-" + hashlib.sha256(event_id.encode()).hexdigest()[:32]
    )


def event_key(prefix: str, event_id: str, event_time: datetime) -> str:
    return f"{prefix}{hour_path(event_time)}{safe_id(event_id)}.json"


def rejected_key(prefix: str, raw: bytes, moment: datetime) -> str:
    """Named by the content's hash: the same bad input retried lands on the same object."""
    return f"{prefix}rejected/{hour_path(moment)}{hashlib.sha256(raw).hexdigest()[:32]}.json"


def encode(document: dict[str, Any]) -> bytes:
    """One line of JSON (Athena reads one document per line), UTF-8."""
    return fastjson.dumps_exact(document) + b"\n"  # the input kept exactly, NaN included


def decode(data: bytes, where: str) -> dict[str, Any]:
    try:
        document = json.loads(data)
    except ValueError as exc:
        raise ArchiveError(f"{where}: not an archive document ({exc})") from None
    if not isinstance(document, dict):
        raise ArchiveError(f"{where}: not an archive document (a JSON {type(document).__name__})")
    return document


class ArchiveStore(Protocol):
    """Where documents live. ``location`` is what to tell a human (``s3://bucket/prefix``)."""

    prefix: str

    @property
    def location(self) -> str: ...

    def get(self, key: str) -> bytes | None:
        """The object's bytes, None when it does not exist; ``ArchiveError`` when unreadable."""
        ...

    def put(self, key: str, data: bytes) -> None:
        """Write durably or raise ``ArchiveError``."""
        ...


class LocalArchive:
    """The same layout in a directory (``send --archive DIR``, tests, demos)."""

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

    def get(self, key: str) -> bytes | None:
        try:
            return self._path(key).read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise ArchiveError(f"{self.root / key}: cannot read ({exc.strerror})") from None

    def put(self, key: str, data: bytes) -> None:
        path = self._path(key)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            partial = path.with_name(path.name + ".partial")
            partial.write_bytes(data)
            partial.replace(path)  # atomic: a reader never sees half a document
        except OSError as exc:
            raise ArchiveError(f"{path}: cannot write ({exc.strerror})") from None


class S3Archive:
    """Objects in S3, server-side encrypted (SSE-S3, or SSE-KMS with ``kms_key_id``)."""

    def __init__(self, client: Any, bucket: str, prefix: str = "", kms_key_id: str | None = None) -> None:
        self.client = client
        self.bucket = bucket
        self.prefix = prefix
        self.kms_key_id = kms_key_id

    @property
    def location(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}"

    def get(self, key: str) -> bytes | None:
        try:
            answer = self.client.get_object(Bucket=self.bucket, Key=key)
            return bytes(answer["Body"].read())
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                return None
            raise ArchiveError(f"s3://{self.bucket}/{key}: cannot read ({_code(exc)})") from None
        except BotoCoreError as exc:
            raise ArchiveError(f"s3://{self.bucket}/{key}: cannot read ({type(exc).__name__})") from None

    def put(self, key: str, data: bytes) -> None:
        encryption: dict[str, str] = {"ServerSideEncryption": "AES256"}
        if self.kms_key_id:
            encryption = {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": self.kms_key_id}
        try:
            self.client.put_object(
                Bucket=self.bucket, Key=key, Body=data, ContentType="application/json", **encryption
            )
        except ClientError as exc:
            raise ArchiveError(f"s3://{self.bucket}/{key}: cannot write ({_code(exc)})") from None
        except BotoCoreError as exc:
            raise ArchiveError(f"s3://{self.bucket}/{key}: cannot write ({type(exc).__name__})") from None


class NoArchive:
    """``--archive none``: nothing is kept (a choice the user makes explicitly)."""

    prefix = ""
    location = "(none)"

    def get(self, key: str) -> bytes | None:
        return None

    def put(self, key: str, data: bytes) -> None:
        """Kept nowhere."""


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
        return S3Archive(client_factory("s3"), bucket, prefix or default_prefix, kms_key_id)
    return LocalArchive(location, default_prefix)
