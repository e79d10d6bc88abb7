"""What a destination reports for each record, and what archive documents keep of it.

Its own module, free of HTTP: replay's worker processes read archived statuses without importing
the destinations.
"""

from __future__ import annotations

from typing import Literal

Status = Literal["delivered", "failed-retryable", "failed-permanent"]
DELIVERED: Status = "delivered"
FAILED_RETRYABLE: Status = "failed-retryable"  # trying again later can help: throttling, outage, deadline
FAILED_PERMANENT: Status = "failed-permanent"  # it cannot: a wrong key, a payload the vendor refuses
