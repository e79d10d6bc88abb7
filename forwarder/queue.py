"""The on-failure SQS queue, for ``redrive``: receive, delete, and hand back what was not deleted.

The queue is named by URL or ARN. Its messages hold raw events (RunTask-time secrets included),
so botocore's debug logging of response bodies is muted while messages are received.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from forwarder.errors import ConfigError, QueueError
from forwarder.quiet import unlogged
from forwarder.wiring import ClientFactory

#: What SQS accepts in one ReceiveMessage / DeleteMessageBatch / ChangeMessageVisibilityBatch.
BATCH = 10
#: Long polling (seconds): an empty answer after this long means the queue is drained.
WAIT_SECONDS = 1

_ARN = re.compile(r"^arn:(aws[a-z-]*):sqs:([a-z0-9-]+):(\d{12}):([A-Za-z0-9_-]{1,80}(?:\.fifo)?)$")
_URL = re.compile(r"^https?://([^/]+)/(\d{12})/([A-Za-z0-9_-]{1,80}(?:\.fifo)?)/?$")
_REGION_HOST = re.compile(
    r"^(?:sqs\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?|([a-z0-9-]+)\.queue\.amazonaws\.com)$"
)


@dataclass(frozen=True)
class Message:
    id: str
    receipt: str = ""
    body: str = ""


@dataclass(frozen=True)
class QueueName:
    """Where the queue is: its URL when given one, else its ARN's parts; and its region when known."""

    text: str
    url: str | None
    region: str | None
    account: str | None = None
    name: str | None = None


def parse_queue(text: str) -> QueueName:
    """A queue URL (``https://sqs.<region>.amazonaws.com/<account>/<name>``) or ARN."""
    value = text.strip()
    arn = _ARN.match(value)
    if arn:
        return QueueName(value, None, arn.group(2), arn.group(3), arn.group(4))
    url = _URL.match(value)
    if url:
        host = _REGION_HOST.match(url.group(1).split(":")[0])
        return QueueName(value, value.rstrip("/"), (host.group(1) or host.group(2)) if host else None)
    raise ConfigError(
        f"QUEUE: not an SQS queue URL or ARN: {text!r} (e.g. https://sqs.eu-west-1.amazonaws.com/"
        "111122223333/ecs-stop-forwarder-failures or "
        "arn:aws:sqs:eu-west-1:111122223333:ecs-stop-forwarder-failures)"
    )


class SqsQueue:
    """One queue through an injected client factory (``wiring.aws_client``)."""

    def __init__(self, queue: QueueName, client_factory: ClientFactory) -> None:
        self.queue = queue
        self.client: Any = (
            client_factory("sqs", region=queue.region) if queue.region else client_factory("sqs")
        )
        self._url = queue.url

    @property
    def url(self) -> str:
        if self._url is None:
            answer = self._call("find", lambda: self.client.get_queue_url(
                QueueName=self.queue.name, QueueOwnerAWSAccountId=self.queue.account))  # fmt: skip
            self._url = str(answer["QueueUrl"])
        return self._url

    def receive(self, limit: int, visibility: int) -> list[Message]:
        """Up to ``limit`` (at most 10) messages, hidden from others for ``visibility`` seconds."""
        url = self.url
        with unlogged():  # the bodies are raw events: botocore's debug log must not get them
            answer = self._call("receive from", lambda: self.client.receive_message(
                QueueUrl=url, MaxNumberOfMessages=max(1, min(limit, BATCH)), WaitTimeSeconds=WAIT_SECONDS,
                VisibilityTimeout=visibility))  # fmt: skip
        return [
            Message(str(m["MessageId"]), str(m["ReceiptHandle"]), str(m.get("Body", "")))
            for m in answer.get("Messages", [])
        ]

    def delete(self, messages: Sequence[Message]) -> list[Message]:
        """Delete ``messages``; those SQS did not delete (they come back later)."""
        left: list[Message] = []
        for start in range(0, len(messages), BATCH):
            chunk = {str(i): m for i, m in enumerate(messages[start : start + BATCH])}
            entries = [{"Id": i, "ReceiptHandle": m.receipt} for i, m in chunk.items()]
            answer = self._call("delete from", lambda entries=entries: self.client.delete_message_batch(
                QueueUrl=self.url, Entries=entries))  # fmt: skip
            left.extend(chunk[failure["Id"]] for failure in answer.get("Failed", []))
        return left

    def release(self, messages: Sequence[Message]) -> None:
        """Make ``messages`` visible again now rather than when their visibility timeout ends."""
        for start in range(0, len(messages), BATCH):
            entries = [{"Id": str(i), "ReceiptHandle": m.receipt, "VisibilityTimeout": 0}
                       for i, m in enumerate(messages[start : start + BATCH])]  # fmt: skip
            try:
                self.client.change_message_visibility_batch(QueueUrl=self.url, Entries=entries)
            except (ClientError, BotoCoreError):
                return  # they become visible when their visibility timeout ends anyway

    def _call(self, verb: str, call: Any) -> Any:
        try:
            return call()
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "error")
            raise QueueError(f"{self.queue.text}: cannot {verb} the queue ({code})") from exc
        except BotoCoreError as exc:
            raise QueueError(f"{self.queue.text}: cannot {verb} the queue ({type(exc).__name__})") from exc
