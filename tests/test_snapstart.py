"""SnapStart: the runtime is built before the snapshot, and checked after each restore."""

from __future__ import annotations

import importlib
import json
import sys
import types
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from forwarder import handler
from tests.aws import MotoServer
from tests.fixtures import stopped_events
from tests.intakes import DatadogIntake


@pytest.fixture
def hooks(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, list[Callable[[], None]]]]:
    """A stand-in for the Lambda runtime's ``snapshot_restore_py``, recording the hooks."""
    registered: dict[str, list[Callable[[], None]]] = {"before": [], "after": []}
    fake = types.ModuleType("snapshot_restore_py")
    fake.register_before_snapshot = registered["before"].append  # type: ignore[attr-defined]
    fake.register_after_restore = registered["after"].append  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "snapshot_restore_py", fake)
    monkeypatch.delitem(sys.modules, "forwarder.snapstart", raising=False)
    handler.runtime.cache_clear()
    yield registered
    handler.runtime.cache_clear()


class Context:
    def get_remaining_time_in_millis(self) -> int:
        return 10_000


def test_snapshot_holds_the_runtime_and_a_restore_reads_keys_again(
    aws: MotoServer, hooks: dict[str, list[Callable[[], None]]], monkeypatch: pytest.MonkeyPatch
) -> None:
    aws.client("s3").create_bucket(Bucket="snap")
    secrets = aws.client("secretsmanager")
    arn = secrets.create_secret(Name="dd", SecretString="dd-key-1")["ARN"]
    with DatadogIntake(valid_keys={"dd-key-1"}) as dd:
        for name, value in {"FORWARDER_DESTINATIONS": "datadog", "DD_API_KEY_SECRET_ARN": arn,
                            "DD_LOGS_URL": dd.url, "ARCHIVE_BUCKET": "snap"}.items():  # fmt: skip
            monkeypatch.setenv(name, value)
        snapstart = importlib.import_module("forwarder.snapstart")
        assert hooks["before"] == [snapstart.before_snapshot] and hooks["after"] == [snapstart.after_restore]
        hooks["before"][0]()  # the runtime's init, into the snapshot
        assert handler.runtime.cache_info().currsize == 1
        built: Any = handler.runtime()
        assert built.vendors.built == {}  # no key read, no vendor client: nothing secret in the snapshot
        events = stopped_events()
        assert snapstart.lambda_handler(events[0], Context())["deliveries"] == {"datadog": "delivered"}
        archive_client = built.forwarder.archive.client

        secrets.put_secret_value(SecretId=arn, SecretString="dd-key-2")  # rotated while snapshotted
        dd.valid_keys = {"dd-key-2"}
        hooks["after"][0]()  # a copy restored
        assert built.vendors.built == {} and built.forwarder.archive.client is not archive_client
        # like the first, without botocore's retries: the archive retries within the deadline itself
        assert built.forwarder.archive.client.meta.config.retries == archive_client.meta.config.retries
        assert archive_client.meta.config.retries["total_max_attempts"] == 1
        answer = snapstart.lambda_handler(events[1], Context())
        assert answer["deliveries"] == {"datadog": "delivered"}  # the key was read again
        assert json.dumps(dd.accepted).count('"event_id"') == 2


def test_without_the_runtime_module_there_is_nothing_to_register(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "snapshot_restore_py", None)  # import fails, as on a laptop
    monkeypatch.delitem(sys.modules, "forwarder.snapstart", raising=False)
    snapstart = importlib.import_module("forwarder.snapstart")
    assert snapstart.lambda_handler is handler.lambda_handler
