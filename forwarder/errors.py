"""The one exception hierarchy. Library errors are translated at the boundary with ``raise ... from``."""

from __future__ import annotations

import json


class ForwarderError(Exception):
    """Base of every error this package raises on purpose. ``exit_code`` is what the CLI returns."""

    exit_code = 1


class InvalidEvent(ForwarderError):
    """The input is not something the forwarder can turn into a stop record.

    ``path`` names the field (``detail.containers[0].exitCode``) when one is to blame.
    """

    kind = "invalid-event"

    def __init__(self, message: str, path: str | None = None) -> None:
        self.path = path
        self.detail = message
        super().__init__(f"{path}: {message}" if path else message)

    def __reduce__(self) -> tuple[type[InvalidEvent], tuple[str, str | None]]:
        return type(self), (self.detail, self.path)  # replay's worker processes send these back


class NotTaskEvent(InvalidEvent):
    """Valid JSON, but not an ECS Task State Change (another source or detail-type)."""

    kind = "not-task-event"


class NotStopped(InvalidEvent):
    """An ECS Task State Change whose lastStatus is not STOPPED."""

    kind = "not-stopped"


class InputError(ForwarderError):
    """A file or object could not be read or decoded (bad gzip, broken JSON). Carries where."""

    def __init__(self, message: str, source: str, offset: int | None = None) -> None:
        self.source = source
        self.offset = offset
        self.detail = message
        where = f"{source} at offset {offset}" if offset is not None else source
        super().__init__(f"{where}: {message}")

    def __reduce__(self) -> tuple[type[InputError], tuple[str, str, int | None]]:
        return type(self), (self.detail, self.source, self.offset)


class ConfigError(ForwarderError):
    """Configuration is missing or wrong. Messages name the variable, never a secret value."""

    exit_code = 2


class TransientError(ForwarderError):
    """An error the retry policy (``forwarder.retry``) understands: ``retryable`` says whether trying
    again can help; ``retry_after`` is how long the other side asked us to wait; ``attempts`` how
    many requests were made; ``status`` the HTTP status when there was one."""

    def __init__(
        self,
        message: str,
        *,
        retryable: bool,
        status: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        self.retryable = retryable
        self.status = status
        self.retry_after = retry_after
        self.attempts = 0
        super().__init__(message)


class DeliveryError(TransientError):
    """A destination did not accept a batch."""


class ArchiveError(TransientError):
    """The archive could not be read or written; nothing is sent without a durable copy.
    Retryable when S3 throttled (``SlowDown``) or failed (5xx) or could not be reached."""

    def __init__(self, message: str, *, retryable: bool = False, status: int | None = None) -> None:
        super().__init__(message, retryable=retryable, status=status)


class QueueError(ForwarderError):
    """The on-failure queue could not be read or written (``redrive``)."""


class BatchError(ForwarderError):
    """A replay worker's batch (``forwarder.replay_worker``) did not finish. The class name is
    the error Step Functions matches (a Lambda error's ``errorType``): the state machine retries
    ``VendorThrottled``, ``VendorUnavailable`` and ``BatchUnfinished`` with backoff (the per-run
    checkpoint lets a retry skip what was done), never ``BatchRejected`` or
    ``BatchMisconfigured``. The message is JSON (``{"message": ..., "result": {...}}``): the
    batch's counts so far reach the run's results through the error's cause."""

    def __init__(self, message: str, result: dict[str, object] | None = None) -> None:
        self.message = message
        self.result = result or {}
        super().__init__(json.dumps({"message": message, "result": self.result}, sort_keys=True))


class VendorThrottled(BatchError):
    """A destination still answered 429 when the worker's deadline came (retried)."""


class VendorUnavailable(BatchError):
    """A destination still failed retryably (5xx, timeout, unreachable) at the deadline (retried)."""


class BatchUnfinished(BatchError):
    """The deadline came before every object of the batch was read and sent (retried: the next
    attempt goes on from the checkpoint)."""


class BatchRejected(BatchError):
    """A destination refused records for good (bad key, bad payload): not retried."""


class BatchMisconfigured(BatchError):
    """The batch input or the worker's configuration is wrong (unknown destination, no key,
    a bad filter): not retried."""
