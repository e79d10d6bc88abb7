"""An archive with a known crash loop among normal traffic, for the report tests.

The seed incident: the once-a-minute scheduled task ``books-batch/newarrivals-batch`` runs fine
for an hour (app-completed), then fails every minute for three hours with the seed fixture's stop
(image-platform-mismatch), then runs fine again for an hour. Around it, six services in two other
clusters stop every 8 minutes with every other fixture, in turn: their error stops are never 3
within 15 minutes, so they make no loop. Half the events are this tool's archive documents (in hour
folders by event time, named by event id: in no time order within an hour), half Firehose backup
objects (gzip, concatenated, in hour folders by arrival). What to expect is kept from how the
events were made, not from the report: categories come from fixtures/expected.csv.
"""

from __future__ import annotations

import copy
import gzip
import json
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from forwarder.archive_layout import SCHEMA, encode, event_key
from forwarder.classify import SEVERITY_OF
from forwarder.parse import parse_event
from forwarder.redact import redact
from tests.fixtures import ROOT, expected_rows

START = datetime(2026, 11, 28, 0, 0, tzinfo=UTC)
LOOP = ("books-batch", None, "newarrivals-batch")
SEED = "events/seed-arm64-on-x86-scheduled.json"
COMPLETED = "events/app-completed--batch-exit0.json"
SERVICES = [("storefront-prod", "checkout"), ("storefront-prod", "search-api"), ("storefront-prod", "web"),
            ("orders-prod", "orders-api"), ("orders-prod", "orders-worker"), ("orders-prod", "mailer")]  # fmt: skip
PREFIX = "ecs-task-stop-log/"
Group = tuple[str, str | None, str]


@dataclass
class Expected:
    """What the archive holds, by construction."""

    loop_first: datetime
    loop_last: datetime
    loop_count: int
    loop_category: str
    loop_hint: str
    end: datetime  # the last event's time
    stops: Counter[Group] = field(default_factory=Counter)
    errors: Counter[Group] = field(default_factory=Counter)
    series: set[tuple[Group, str]] = field(default_factory=set)  # (group, category) pairs
    categories: Counter[str] = field(default_factory=Counter)
    last: dict[Group, datetime] = field(default_factory=dict)  # each group's last stop


def rehome(event: dict[str, Any], cluster: str, service: str | None, family: str, moment: datetime) -> dict[str, Any]:
    """A copy of ``event`` as a stop of another task, at ``moment``."""
    event = copy.deepcopy(event)
    detail = event["detail"]
    region, account = event["region"], event["account"]
    task = uuid.uuid4().hex
    event["id"] = str(uuid.uuid4())
    event["time"] = moment.strftime("%Y-%m-%dT%H:%M:%SZ")
    detail["clusterArn"] = f"arn:aws:ecs:{region}:{account}:cluster/{cluster}"
    detail["taskArn"] = f"arn:aws:ecs:{region}:{account}:task/{cluster}/{task}"
    event["resources"] = [detail["taskArn"]]
    detail["taskDefinitionArn"] = f"arn:aws:ecs:{region}:{account}:task-definition/{family}:7"
    detail["group"] = f"service:{service}" if service else f"family:{family}"
    if service:
        detail["startedBy"] = "ecs-svc/1234567890123456789"
    if isinstance(detail.get("stoppedAt"), str):  # the task's own times, moved along with it
        shift = moment - timedelta(seconds=1) - _parse(detail["stoppedAt"])
        for key, value in list(detail.items()):
            if key.endswith("At") and isinstance(value, str):
                detail[key] = (_parse(value) + shift).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    for container in detail.get("containers") or []:
        container["taskArn"] = detail["taskArn"]
    return event


def events() -> tuple[list[tuple[dict[str, Any], str]], Expected]:
    """Every event (with its fixture's expected category), in time order, and what to expect."""
    rows = {row.path.relative_to(ROOT).as_posix(): row for row in expected_rows()}
    seed, completed = rows[SEED], rows[COMPLETED]
    out: list[tuple[dict[str, Any], str]] = []
    incident = START + timedelta(hours=1)
    for minute in range(5 * 60):  # the scheduled task, every minute for five hours
        moment = START + timedelta(minutes=minute, seconds=1)
        failing = incident <= moment < incident + timedelta(hours=3)
        row = seed if failing else completed
        out.append((rehome(row.load(), *LOOP, moment), row.expected))
    others = [row for path, row in sorted(rows.items()) if path.startswith("events/") and path != SEED]
    turn = 0
    for index, (cluster, service) in enumerate(SERVICES):
        moment = START + timedelta(seconds=37 * index + 5)
        while moment < START + timedelta(hours=5):
            row = others[turn % len(others)]
            turn += 1
            out.append((rehome(row.load(), cluster, service, f"{service}-td", moment), row.expected))
            moment += timedelta(minutes=8)
    out.sort(key=lambda pair: pair[0]["time"])
    failures = [event for event, category in out if category == seed.expected and _group(event) == LOOP]
    expected = Expected(
        loop_first=_time(failures[0]), loop_last=_time(failures[-1]), loop_count=len(failures),
        loop_category=seed.expected, loop_hint=parse_event(seed.load()).hint, end=_time(out[-1][0]),
    )  # fmt: skip
    for event, category in out:
        group = _group(event)
        expected.stops[group] += 1
        expected.errors[group] += SEVERITY_OF[category] == "error"
        expected.series.add((group, category))
        expected.categories[category] += 1
        expected.last[group] = max(expected.last.get(group, START), _time(event))
    return out, expected


def _group(event: dict[str, Any]) -> Group:
    detail = event["detail"]
    cluster = detail["clusterArn"].rsplit("/", 1)[1]
    kind, _, name = detail["group"].partition(":")
    family = detail["taskDefinitionArn"].rsplit("/", 1)[1].split(":")[0]
    return cluster, name if kind == "service" else None, family


def _parse(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _time(event: dict[str, Any]) -> datetime:
    return _parse(event["time"])


def build(folder: Path, firehose_every: int = 2, per_object: int = 40) -> Expected:
    """Write the archive under ``folder`` (this tool's layout, ``ecs-task-stop-log/``); every
    ``firehose_every``-th event goes to a Firehose backup object instead of an archive document."""
    stream, expected = events()
    pending: list[dict[str, Any]] = []
    for index, (event, _) in enumerate(stream):
        if index % firehose_every == 0:
            pending.append(event)
            if len(pending) == per_object:
                _firehose(folder, pending)
                pending = []
            continue
        record = parse_event(event)
        document = {"schema": SCHEMA, "event_id": record.event_id, "event_time": record.time,
                    "archived_at": record.time, "category": record.category, "severity": record.severity,
                    "record": record.to_dict(), "event": redact(event), "deliveries": {}}  # fmt: skip
        path = folder / event_key(PREFIX, record.event_id, _time(event))
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(encode(document))
    if pending:
        _firehose(folder, pending)
    return expected


def _firehose(folder: Path, batch: list[dict[str, Any]]) -> None:
    """One Firehose backup object: its hour folder and name by arrival (a minute after the last)."""
    arrival = _time(batch[-1]) + timedelta(minutes=1)
    path = folder / PREFIX / arrival.strftime("%Y/%m/%d/%H") / f"stops-1-{arrival:%Y-%m-%d-%H-%M-%S}-{uuid.uuid4()}.gz"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress("".join(json.dumps(e, separators=(",", ":")) for e in batch).encode()))
