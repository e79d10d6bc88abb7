"""Stop record -> vendor log, and logs -> request-sized batches. Pure: no I/O, no clock.

Datadog (HTTP intake v2) and New Relic (Log API, detailed format) get
the same facts; the field mapping is documented in the README ("What the vendors receive"). JSON
and gzip are the caller's codec (``forwarder.codec``), the standard library unless told otherwise.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

from forwarder import NAME, __version__
from forwarder.codec import STDLIB, Codec
from forwarder.model import Record

# Datadog: https://docs.datadoghq.com/api/latest/logs/ (see shared/docs/vendor-apis.md)
DD_MAX_LOGS = 1000
DD_MAX_REQUEST_BYTES = 5_000_000  # uncompressed; decimal MB, the stricter reading
DD_MAX_LOG_BYTES = 1_000_000
DD_NAMESPACE = "ecs_stop"  # the whole record lives under this attribute
MAX_CONTAINERS = 50  # ECS allows 10 per task definition; more is bad input, kept readable
# New Relic Log API
NR_MAX_BODY_BYTES = 1_000_000  # the gzipped POST body
NR_MAX_ATTRIBUTES = 255  # per log, counting message, timestamp and the common attributes
NR_LOGTYPE = "ecs-task-stop"
NR_COMMON: dict[str, Any] = {"logtype": NR_LOGTYPE, "forwarder.name": NAME, "forwarder.version": __version__}
# A batch is compressed and measured; this much uncompressed JSON is tried at once.
NR_RAW_BATCH_BYTES = 4_000_000

TRUNCATION_MARKER = "…[truncated by ecs-stop-forwarder]"


class Replay(NamedTuple):
    """How a replayed record is sent: its time (epoch ms) and the original one, kept as attributes.
    A tuple: replay makes one for every record it encodes."""

    timestamp_ms: int
    original_timestamp_ms: int | None


def epoch_ms(iso_time: str | None) -> int | None:
    if not iso_time:
        return None
    return int(datetime.fromisoformat(iso_time).timestamp() * 1000)


def record_timestamp_ms(record: Record) -> int | None:
    """When the stop happened (stoppedAt), else the event time."""
    return epoch_ms(record.stopped_at or record.time)


def encode(value: Any, codec: Codec = STDLIB) -> bytes:
    """The wire form of one log: compact JSON, UTF-8. Every size limit is measured on this."""
    return codec.encode(value)


def encode_within(item: dict[str, Any], limit: int | None, codec: Codec = STDLIB) -> bytes:
    """``encode(item)``; an item over ``limit`` bytes is cut first (``fit``), visibly."""
    encoded = codec.encode(item)
    if limit is not None and len(encoded) > limit:
        encoded = codec.encode(fit(item, limit, codec))
    return encoded


def json_size(value: Any, codec: Codec = STDLIB) -> int:
    return len(codec.encode(value))


def gzip_bytes(data: bytes, codec: Codec = STDLIB) -> bytes:
    """One gzip member of ``data`` (level 1, as every body)."""
    compressor = codec.gzip()
    return compressor.compress(data) + compressor.flush()


GZIP_SLICE = 128  # parts joined and compressed at a time (~300 KB of 2.5 KB logs)


def gzip_joined(head: bytes, parts: Sequence[bytes], tail: bytes, codec: Codec = STDLIB) -> bytes:
    """A gzip member of ``head + b",".join(parts) + tail``, compressed a slice of parts at a time:
    the body itself (~2.5 MB for 1000 Datadog logs) never exists whole in a sender."""
    compressor = codec.gzip()
    out = [compressor.compress(head)]
    for start in range(0, len(parts), GZIP_SLICE):
        if start:
            out.append(compressor.compress(b","))
        out.append(compressor.compress(b",".join(parts[start : start + GZIP_SLICE])))
    out.append(compressor.compress(tail))
    out.append(compressor.flush())
    return b"".join(out)


def _string_leaves(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[tuple[Any, ...], str]]:
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _string_leaves(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _string_leaves(item, (*path, index))


def _set(value: Any, path: tuple[Any, ...], new: str) -> None:
    for key in path[:-1]:
        value = value[key]
    value[path[-1]] = new


def fit(log: dict[str, Any], limit: int, codec: Codec = STDLIB) -> dict[str, Any]:
    """``log`` itself when it serialises within ``limit`` bytes; else a copy whose longest strings
    are cut, each ending in a visible marker, until it fits (vendors would cut it silently)."""
    size = json_size(log, codec)
    if size <= limit:
        return log
    log = codec.decode(codec.encode(log))  # a deep copy we may cut
    while size > limit:
        path, longest = max(_string_leaves(log), key=lambda leaf: len(leaf[1]), default=((), ""))
        if len(longest) <= len(TRUNCATION_MARKER) * 2 or not path:
            break  # nothing long left to cut: the sender reports it as too large
        # Characters, not bytes: a character takes up to 4 bytes (6 escaped), so this may take a few rounds.
        keep = max(len(longest) - (size - limit) - len(TRUNCATION_MARKER) * 3, 0)
        _set(log, path, longest[:keep] + TRUNCATION_MARKER)
        size = json_size(log, codec)
    return log


def shrink(part: bytes, codec: Codec = STDLIB) -> bytes | None:
    """An encoded log a vendor will not take as it is (answered 413, or a body over the limit
    alone) at about half its size: its longest strings cut, each marked (``fit``); None when
    nothing is left to cut. The one way a log is made smaller after it was encoded."""
    smaller = codec.encode(fit(codec.decode(part), len(part) // 2, codec))
    return smaller if len(smaller) < len(part) else None


_TAG_NAMES = (
    "ecs_cluster_name", "task_family", "task_version", "ecs_service", "region", "availability-zone",
    "aws_account", "stop_category", "stop_code", "launch_type", "severity",
)  # fmt: skip


def datadog_tags(record: Record, extra: Sequence[str] = (), replayed: bool = False) -> str:
    """``ddtags``: Datadog's own ECS integration tag names where they exist, then ours, then DD_TAGS.

    No per-task tag (task ARN, event id): tags are for grouping, and per-task values are the
    high-cardinality kind Datadog advises against; they are in ``ecs_stop.*`` and ``hostname``.
    Being low-cardinality, the string is cached on the values (and so costs one lookup)."""
    key = (
        record.cluster, record.family, record.revision, record.service, record.region,
        record.availability_zone, record.account, record.category, record.stop_code, record.launch_type,
        record.severity, tuple(extra), replayed,
    )  # fmt: skip
    tags = _TAGS.get(key)
    if tags is None:
        tags = _tags(key[:-2], key[-2], replayed)
        if len(tags) <= _TAGS_CACHED_LENGTH:  # a long value is not kept: the cache stays under ~4 MB
            if len(_TAGS) >= _TAGS_CACHED:
                _TAGS.clear()
            _TAGS[key] = tags
    return tags


_TAGS: dict[tuple[object, ...], str] = {}
_TAGS_CACHED = 4096  # a large account's services x task definitions x zones x categories
_TAGS_CACHED_LENGTH = 512


def _tags(values: tuple[object, ...], extra: tuple[str, ...], replayed: bool) -> str:
    # Datadog splits ddtags on commas: a comma inside a value becomes "_".
    tags = [
        f"{name}:{value}".replace(",", "_")
        for name, value in zip(_TAG_NAMES, values, strict=True)
        if value is not None and value != ""
    ]
    if replayed:
        tags.append("replayed:true")
    tags.extend(tag for tag in extra if tag)
    return ",".join(tags)


def datadog_log(
    record: Record,
    *,
    source: str = "ecs",
    tags: Sequence[str] = (),
    replay: Replay | None = None,
) -> dict[str, Any]:
    """One Datadog log item: reserved fields, then the whole record under ``ecs_stop``.

    A task has at most 10 containers; a record claiming more than ``MAX_CONTAINERS`` keeps the first
    ones and says ``containers_total`` / ``containers_truncated`` (as for New Relic), so the log
    stays under Datadog's 1 MB instead of being cut by the vendor.
    """
    body = record.to_dict()
    containers = body["containers"]
    if len(containers) > MAX_CONTAINERS:
        body["containers"] = containers[:MAX_CONTAINERS]
        body["containers_total"] = len(containers)
        body["containers_truncated"] = True
    log: dict[str, Any] = {
        "ddsource": source,
        "ddtags": datadog_tags(record, tags, replayed=replay is not None),
        "hostname": record.task_arn or record.cluster_arn or "ecs",
        "service": record.group_name or "ecs",
        "status": record.severity,
        "message": record.message,
        DD_NAMESPACE: body,
    }
    timestamp = replay.timestamp_ms if replay else record_timestamp_ms(record)
    if timestamp is not None:
        log["timestamp"] = timestamp
    if replay is not None:
        log["replayed"] = True
        log["original_timestamp"] = replay.original_timestamp_ms
    return log


def datadog_batches(sizes: Sequence[int]) -> Iterator[list[int]]:
    """Indices of encoded logs (given their sizes) grouped into requests of <= 1000 logs and
    <= 5 MB as a JSON array."""
    batch: list[int] = []
    total = 2  # "[" and "]"
    for index, size in enumerate(sizes):
        item = size + (1 if batch else 0)  # "," between items
        if batch and (len(batch) == DD_MAX_LOGS or total + item > DD_MAX_REQUEST_BYTES):
            yield batch
            batch, total, item = [], 2, size
        batch.append(index)
        total += item
    if batch:
        yield batch


def flatten(value: Any, prefix: str = "", out: dict[str, Any] | None = None) -> dict[str, Any]:
    """Nested objects and arrays -> dotted names (``containers.0.name``); nulls are dropped."""
    out = {} if out is None else out
    if isinstance(value, dict):
        for key, item in value.items():
            flatten(item, f"{prefix}.{key}" if prefix else str(key), out)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            flatten(item, f"{prefix}.{index}" if prefix else str(index), out)
    elif value is not None:
        out[prefix] = value
    return out


def newrelic_log(record: Record, *, replay: Replay | None = None) -> dict[str, Any]:
    """One New Relic log (detailed format): ``timestamp`` (ms), ``message``, flattened attributes.

    At most 255 attributes counting ``message``, ``timestamp`` and the common attributes: when a
    task has so many containers that they do not fit, the first ones are kept and
    ``containers_total`` / ``containers_truncated`` say so.
    """
    body = record.to_dict()
    containers = body.pop("containers")
    del body["message"]
    attributes = flatten(body)
    attributes["level"] = record.severity
    if record.group_name:  # New Relic's standard grouping attribute: ECS service, else task family
        attributes["service.name"] = record.group_name
    if replay is not None:
        attributes["replayed"] = True
        if replay.original_timestamp_ms is not None:
            attributes["original_timestamp"] = replay.original_timestamp_ms
    budget = NR_MAX_ATTRIBUTES - len(NR_COMMON) - 2 - len(attributes) - 2  # message, timestamp, totals
    kept = 0
    for index, container in enumerate(containers):
        flat = flatten(container, f"containers.{index}")
        if len(flat) > budget:
            break
        attributes.update(flat)
        budget -= len(flat)
        kept += 1
    if kept < len(containers):
        attributes["containers_total"] = len(containers)
        attributes["containers_truncated"] = True
    log: dict[str, Any] = {"message": record.message, "attributes": attributes}
    timestamp = replay.timestamp_ms if replay else record_timestamp_ms(record)
    if timestamp is not None:
        log["timestamp"] = timestamp
    return log


_NR_HEAD = b'[{"common":' + STDLIB.encode({"attributes": NR_COMMON}) + b',"logs":['
_NR_TAIL = b"]}]"


def newrelic_body(parts: Sequence[bytes], codec: Codec = STDLIB) -> bytes:
    """The gzipped detailed-format POST body for encoded logs."""
    return gzip_joined(_NR_HEAD, parts, _NR_TAIL, codec)


def datadog_body(parts: Sequence[bytes], codec: Codec = STDLIB) -> bytes:
    """The gzipped POST body for encoded logs: a JSON array."""
    return gzip_joined(b"[", parts, b"]", codec)


def newrelic_batches(parts: Sequence[bytes], codec: Codec = STDLIB) -> Iterator[tuple[list[int], bytes]]:
    """(indices, gzipped body) for encoded logs: filled by raw size, then halved while a body is
    over 1 MB. A single log whose body alone is too large comes out as it is: the caller shrinks it."""
    pending: list[int] = []
    raw = 0
    for index, part in enumerate(parts):
        if pending and raw + len(part) > NR_RAW_BATCH_BYTES:
            yield from _newrelic_fit(parts, pending, codec)
            pending, raw = [], 0
        pending.append(index)
        raw += len(part) + 1
    if pending:
        yield from _newrelic_fit(parts, pending, codec)


def _newrelic_fit(
    parts: Sequence[bytes], indices: list[int], codec: Codec
) -> Iterator[tuple[list[int], bytes]]:
    body = newrelic_body([parts[i] for i in indices], codec)
    if len(body) <= NR_MAX_BODY_BYTES or len(indices) == 1:
        yield indices, body
    else:
        middle = len(indices) // 2
        yield from _newrelic_fit(parts, indices[:middle], codec)
        yield from _newrelic_fit(parts, indices[middle:], codec)


def record_item(record: Record, replay: Replay | None = None) -> dict[str, Any]:
    """The stop record as it is (stdout), marked when replayed."""
    item = record.to_dict()
    if replay is not None:
        item["replayed"] = True
        item["original_timestamp"] = replay.original_timestamp_ms
    return item


#: A destination's wire form of one record: ``build`` and encode in one step. The ones below are
#: plain values, so they can be pickled to replay's worker processes.
Encoder = Callable[[Record, Replay | None], bytes]


@dataclass(frozen=True, slots=True)
class DatadogEncoder:
    source: str = "ecs"
    tags: tuple[str, ...] = ()
    codec: Codec = STDLIB

    def __call__(self, record: Record, replay: Replay | None = None) -> bytes:
        log = datadog_log(record, source=self.source, tags=self.tags, replay=replay)
        return encode_within(log, DD_MAX_LOG_BYTES, self.codec)


@dataclass(frozen=True, slots=True)
class NewRelicEncoder:
    codec: Codec = STDLIB

    def __call__(self, record: Record, replay: Replay | None = None) -> bytes:
        return self.codec.encode(newrelic_log(record, replay=replay))


@dataclass(frozen=True, slots=True)
class RecordEncoder:
    codec: Codec = STDLIB

    def __call__(self, record: Record, replay: Replay | None = None) -> bytes:
        return self.codec.encode(record_item(record, replay))
