"""Where replay and report read from: S3 prefixes, directories and files, listed lazily in key
order, then fetched ahead of use.

Both archives this tool knows (its own and Firehose's S3 backup) lay objects out under
``<prefix>YYYY/MM/DD/HH/``; when a time window is given, only the hours inside it are listed (S3)
or walked (directories). ``rejected/`` holds inputs that were never events and is passed over.
S3 objects are fetched several at a time ahead of use (each GET is a round trip, and this tool's
own archive holds one event per object); a local file is read where it is used.
"""

from __future__ import annotations

import os
import re
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from functools import partial
from pathlib import Path
from typing import Any, NamedTuple

from botocore.exceptions import BotoCoreError, ClientError

from forwarder.errors import InputError
from forwarder.inputs import read_file, walk
from forwarder.replay.selection import Window


class SourceObject(NamedTuple):
    """One object or file: ``name`` for humans and checkpoints, ``read`` to fetch its bytes;
    ``path`` when it is a local file (a worker process can read it itself). ``size`` is None for
    files found by walking a folder: a stat per file costs more than it tells. A tuple: one is
    made per object listed."""

    name: str
    size: int | None
    read: Callable[[], bytes]
    path: str | None = None


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


class Fetched(NamedTuple):
    """An object listed, and its bytes (S3), the path of a local file (read where it is used: a
    worker process reads it itself), or why it could not be read."""

    source: SourceObject
    data: bytes | str | InputError


def fetched(sources: Iterable[SourceObject], ahead: int, ahead_bytes: int) -> Iterator[Fetched]:
    """Each object with its data, in order, with up to ``ahead`` S3 GETs (and ``ahead_bytes`` as S3
    lists them) in flight or fetched and not yet handed on."""
    window: deque[tuple[SourceObject, Future[bytes] | str]] = deque()
    pool: ThreadPoolExecutor | None = None
    held = 0  # bytes being fetched, or fetched and not yet handed on
    try:
        for source in sources:
            if source.path is not None:
                window.append((source, source.path))
            else:
                pool = pool or ThreadPoolExecutor(ahead, thread_name_prefix="fetch")
                window.append((source, pool.submit(source.read)))
                held += source.size or 0
            while window and (len(window) > ahead or held > ahead_bytes or isinstance(window[0][1], str)):
                head, pending = window.popleft()
                held -= 0 if isinstance(pending, str) else head.size or 0
                yield _fetched(head, pending)
        while window:
            yield _fetched(*window.popleft())
    finally:
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)


def _fetched(source: SourceObject, pending: Future[bytes] | str) -> Fetched:
    if isinstance(pending, str):
        return Fetched(source, pending)
    try:
        return Fetched(source, pending.result())
    except InputError as exc:
        return Fetched(source, exc)
