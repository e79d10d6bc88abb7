"""Build ECS STOPPED events for tests without repeating the whole documented shape each time."""

from __future__ import annotations

import copy
import uuid
from typing import Any

_BASE_DETAIL: dict[str, Any] = {
    "attributes": [{"name": "ecs.cpu-architecture", "value": "x86_64"}],
    "availabilityZone": "eu-west-1a",
    "clusterArn": "arn:aws:ecs:eu-west-1:111122223333:cluster/prod",
    "containers": [
        {
            "name": "app",
            "image": "111122223333.dkr.ecr.eu-west-1.amazonaws.com/web:1.0",
            "lastStatus": "STOPPED",
        }
    ],
    "createdAt": "2026-11-28T10:00:00.000Z",
    "desiredStatus": "STOPPED",
    "group": "service:web",
    "launchType": "FARGATE",
    "lastStatus": "STOPPED",
    "platformVersion": "1.4.0",
    "startedBy": "ecs-svc/1234567890123456789",
    "stoppedAt": "2026-11-28T10:05:00.000Z",
    "taskArn": "arn:aws:ecs:eu-west-1:111122223333:task/prod/0123456789abcdef0123456789abcdef",
    "taskDefinitionArn": "arn:aws:ecs:eu-west-1:111122223333:task-definition/web:7",
}


def make_event(
    *,
    reason: str | None = None,
    stop_code: str | None = None,
    containers: list[dict[str, Any]] | None = None,
    event_id: str | None = None,
    **detail: Any,
) -> dict[str, Any]:
    """An EventBridge ECS Task State Change, STOPPED, with the given stop evidence."""
    body = copy.deepcopy(_BASE_DETAIL)
    if reason is not None:
        body["stoppedReason"] = reason
    if stop_code is not None:
        body["stopCode"] = stop_code
    if containers is not None:
        body["containers"] = containers
    body.update(detail)
    return {
        "version": "0",
        "id": event_id or str(uuid.uuid4()),
        "detail-type": "ECS Task State Change",
        "source": "aws.ecs",
        "account": "111122223333",
        "time": "2026-11-28T10:05:01Z",
        "region": "eu-west-1",
        "resources": [body["taskArn"]],
        "detail": body,
    }


def container(name: str = "app", exit_code: int | None = None, reason: str | None = None) -> dict[str, Any]:
    item: dict[str, Any] = {"name": name, "image": f"example/{name}:1", "lastStatus": "STOPPED"}
    if exit_code is not None:
        item["exitCode"] = exit_code
    if reason is not None:
        item["reason"] = reason
    return item
