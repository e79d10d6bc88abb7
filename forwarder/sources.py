"""Where replay reads from: S3 prefixes, directories and files, listed lazily in key order.

Both archives this tool knows (its own and Firehose's S3 backup) lay objects out under
``<prefix>YYYY/MM/DD/HH/``; when a time window is given, only the hours inside it are listed (S3)
or walked (directories). ``rejected/`` holds inputs that were never events and is passed over.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any, NamedTuple

from botocore.exceptions import BotoCoreError, ClientError

from forwarder.errors import InputError
from forwarder.inputs import read_file, walk

_HOUR = re.compile(r"(?:^|/)(\d{4})/(\d{2})/(\d{2})/(\d{2})/")
# Firehose names the hour by arrival and events arrive a little late: look one hour either side.
SLACK = timedelta(hours=1)
MAX_HOURS_LISTED = 24 * 400  # past this window, one full listing is cheaper than per-hour calls


class SourceObject(NamedTuple):
    """One object or file: ``name`` for humans and checkpoints, ``read`` to fetch its bytes;
    ``path`` when it is a local file (a worker process can read it itself). ``size`` is None for
    files found by walking a folder: a stat per file costs more than it tells. A tuple: one is
    made per object listed (a frozen dataclass cost ~0.6 µs more)."""

    name: str
    size: int | None
    read: Callable[[], bytes]
    path: str | None = None


@dataclass(frozen=True)
class Window:
    """A time window in UTC (aware datetimes); either end may be open."""

    since: datetime | None = None
    until: datetime | None = None

    def keeps_hour(self, key: str) -> bool:
        """False only when ``key`` sits under an hour folder clearly outside the window."""
        if self.since is None and self.until is None:  # no window: no hour to read (~3 µs an object)
            return True
        match = _HOUR.search(key)
        if match is None:
            return True
        year, month, day, hour_of_day = (int(part) for part in match.groups())
        try:
            hour = datetime(year, month, day, hour_of_day, tzinfo=UTC)
        except ValueError:
            return True
        if self.since is not None and hour + timedelta(hours=1) + SLACK <= self.since:
            return False
        return not (self.until is not None and hour - SLACK > self.until)

    def hours(self) -> list[str] | None:
        """``YYYY/MM/DD/HH/`` folders to list, or None when the whole prefix must be listed."""
        if self.since is None or self.until is None:
            return None
        start = (self.since - SLACK).replace(minute=0, second=0, microsecond=0)
        end = self.until + SLACK
        count = int((end - start).total_seconds() // 3600) + 1
        if count > MAX_HOURS_LISTED:
            return None
        return [(start + timedelta(hours=i)).strftime("%Y/%m/%d/%H/") for i in range(count)]


def _skip(key: str) -> bool:
    return "/rejected/" in f"/{key}" or key.endswith(".partial") or key.rsplit("/", 1)[-1].startswith(".")


def list_sources(
    sources: list[str], window: Window, client_factory: Callable[[str], Any]
) -> Iterator[SourceObject | InputError]:
    """Every object under ``sources``, in order; a source that cannot be listed is an error item."""
    for source in sources:
        if source.startswith("s3://"):
            yield from _s3(source, window, client_factory)
        else:
            yield from _local(source, window)


def _local(source: str, window: Window) -> Iterator[SourceObject | InputError]:
    root = Path(source)
    if not root.exists():
        yield InputError("no such file or directory", source)
        return
    if root.is_file():
        yield SourceObject(str(root), root.stat().st_size, partial(read_file, str(root)), str(root))
        return
    base = len(os.path.join(str(root), ""))
    for path in walk(str(root)):
        relative = path[base:].replace(os.sep, "/")
        if not _skip(relative) and window.keeps_hour(relative):
            yield SourceObject(path, None, partial(read_file, path), path)


def _s3(
    source: str, window: Window, client_factory: Callable[[str], Any]
) -> Iterator[SourceObject | InputError]:
    bucket, _, prefix = source[5:].partition("/")
    if not bucket:
        yield InputError("no bucket in the S3 URL", source)
        return
    client = client_factory("s3")
    prefixes = [prefix]
    hours = window.hours()
    if hours is not None and (folder := _hour_folder(client, bucket, prefix)) is not None:
        prefixes = [folder + hour for hour in hours]
    paginator = client.get_paginator("list_objects_v2")
    for listed in prefixes:
        try:
            for page in paginator.paginate(Bucket=bucket, Prefix=listed):
                for item in page.get("Contents", []):
                    key = str(item["Key"])
                    if not _skip(key) and window.keeps_hour(key[len(prefix) :]):
                        yield SourceObject(
                            f"s3://{bucket}/{key}", int(item["Size"]), _reader(client, bucket, key)
                        )
        except (ClientError, BotoCoreError) as exc:
            yield InputError(f"cannot list ({_error(exc)})", f"s3://{bucket}/{listed}")
            return


def _hour_folder(client: Any, bucket: str, prefix: str) -> str | None:
    """Where ``YYYY/MM/DD/HH/`` folders can be listed one hour at a time: ``prefix`` when it holds
    only year folders (and ``rejected/``); ``prefix/`` when ``prefix`` names such a folder without
    its slash (``s3://bucket/ecs-task-stop-log``); else None, and the whole prefix is listed. An
    object beside the year folders rules it out: listing by hour would never find it."""
    try:
        answer = client.list_objects_v2(Bucket=bucket, Prefix=prefix, Delimiter="/", MaxKeys=50)
    except (ClientError, BotoCoreError):
        return None
    if answer.get("Contents"):
        return None
    folders = [str(p["Prefix"])[len(prefix) :] for p in answer.get("CommonPrefixes", [])]
    if folders == ["/"] and not prefix.endswith("/"):  # a folder named without its slash, alone
        return _hour_folder(client, bucket, prefix + "/")
    if folders and all(re.fullmatch(r"\d{4}/|rejected/", folder) for folder in folders):
        return prefix
    return None


def _reader(client: Any, bucket: str, key: str) -> Callable[[], bytes]:
    def read() -> bytes:
        try:
            return bytes(client.get_object(Bucket=bucket, Key=key)["Body"].read())
        except (ClientError, BotoCoreError) as exc:
            raise InputError(f"cannot read ({_error(exc)})", f"s3://{bucket}/{key}") from None

    return read


def _error(exc: Exception) -> str:
    if isinstance(exc, ClientError):
        return str(exc.response.get("Error", {}).get("Code", "error"))
    return type(exc).__name__
