"""The one retry policy for every vendor request and archive call (tenacity), bounded by a caller's
deadline.

Retried: 408, 429, 5xx, connection errors and timeouts, with exponential backoff and full jitter,
or exactly as long as the vendor says (``Retry-After`` in seconds or as an HTTP date, Datadog's
``X-RateLimit-Reset``). Never retried: every other status (400, 401, 403, 404, 413 — the sender
splits on 413 itself). No attempt starts, and no sleep is taken, that would end past the deadline,
so retries never outlive a Lambda invocation. The archive (``forwarder.archive``) runs its S3 calls
through the same policy: ``SlowDown``, 5xx and unreachable are retried, everything else is not.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import TypeVar

import tenacity

from forwarder.errors import DeliveryError, TransientError

T = TypeVar("T")

#: Timeouts and throttling; every server error (5xx) is retryable too.
RETRYABLE_STATUSES = frozenset({408, 429})
MAX_RETRY_AFTER = 120.0  # seconds: a longer ask is capped (the deadline still applies)


def is_retryable_status(status: int) -> bool:
    return status in RETRYABLE_STATUSES or status >= 500


def retry_after_seconds(headers: Mapping[str, str], now: float) -> float | None:
    """Seconds to wait as the response asks: ``Retry-After`` (seconds or HTTP date) or Datadog's
    ``X-RateLimit-Reset`` (seconds). ``now`` is the wall clock (epoch seconds) for HTTP dates."""
    lowered = {key.lower(): value for key, value in headers.items()}
    for name in ("retry-after", "x-ratelimit-reset"):
        value = lowered.get(name)
        if value is None:
            continue
        value = value.strip()
        try:
            seconds = float(value)
        except ValueError:
            try:
                seconds = parsedate_to_datetime(value).timestamp() - now
            except (TypeError, ValueError, IndexError):
                continue
        return min(max(seconds, 0.0), MAX_RETRY_AFTER)
    return None


@dataclass(frozen=True)
class RetryPolicy:
    """Backoff settings; ``clock``/``sleep`` are injectable so tests can run without waiting."""

    initial: float = 0.5
    maximum: float = 20.0
    max_attempts: int = 10
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep

    def run(
        self,
        attempt: Callable[[float], T],
        deadline: float,
        late: type[TransientError] = DeliveryError,
    ) -> tuple[T, int]:
        """Call ``attempt(timeout)`` until it returns or fails for good; (result, attempts made).

        ``attempt`` raises a ``TransientError`` (``DeliveryError``, ``ArchiveError``); its
        ``retryable`` and ``retry_after`` decide what happens next. ``timeout`` is what is left
        before the deadline, for the request's own timeout. When the deadline stops the retries the
        last error is raised, still marked retryable; when it has passed before the first attempt,
        a retryable ``late`` error says so.
        """
        jitter = tenacity.wait_random_exponential(multiplier=self.initial, max=self.maximum)

        def wait(state: tenacity.RetryCallState) -> float:
            error = state.outcome.exception() if state.outcome else None
            if isinstance(error, TransientError) and error.retry_after is not None:
                return error.retry_after
            return float(jitter(state))

        def stop(state: tenacity.RetryCallState) -> bool:
            out_of_time = self.clock() + state.upcoming_sleep >= deadline
            return out_of_time or state.attempt_number >= self.max_attempts

        retrying = tenacity.Retrying(
            retry=tenacity.retry_if_exception(lambda e: isinstance(e, TransientError) and e.retryable),
            wait=wait,
            stop=stop,
            sleep=self.sleep,
            reraise=True,
        )
        attempts = 0

        def once() -> T:
            nonlocal attempts
            remaining = deadline - self.clock()
            if remaining <= 0:
                raise late("deadline reached before the request could be sent", retryable=True)
            attempts += 1
            return attempt(remaining)

        try:
            return retrying(once), attempts
        except TransientError as exc:
            exc.attempts = attempts
            raise
