"""The one exception hierarchy. Library errors are translated at the boundary with ``raise ... from``."""

from __future__ import annotations


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
