"""Where stop records go: Datadog, New Relic, stdout — one small interface."""

from forwarder.destinations.base import DELIVERED, FAILED_PERMANENT, FAILED_RETRYABLE, Destination, Outcome

__all__ = ["DELIVERED", "FAILED_PERMANENT", "FAILED_RETRYABLE", "Destination", "Outcome"]
