"""Who may send an event to a destination, and how concurrent writers of one archive document merge.

EventBridge and Lambda's asynchronous queue deliver at least once: the same event can reach two
containers at the same moment. So each destination's entry in an archive document's ``deliveries``
is also a lock. Before sending, an invocation *claims* the destination, writing

    {"status": "in-flight", "claimed_by": <token>, "expires": <ISO time>, "attempts": <so far>, "at": …}

with a conditional write (``forwarder.archive``). An invocation that finds a live claim of another
waits for its outcome instead of sending again; a claim past its ``expires`` (its container was
killed) may be taken over. Outcomes are written the same way. A writer whose condition fails
re-reads the document and applies its own changes again to what it found (never its whole earlier
copy): a destination delivered by either writer stays delivered, and attempts add up.

``in-flight`` is not delivered: replay's ``--only-undelivered`` sends it.

Pure: no I/O and no clock; the time is passed in.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from forwarder.parse import iso
from forwarder.status import DELIVERED, FAILED_RETRYABLE

IN_FLIGHT = "in-flight"
SKIPPED = "skipped"
#: Statuses nothing changes any more (``skipped``: a filter decided it).
FINAL = frozenset({DELIVERED, SKIPPED})

State = Literal["done", "mine", "theirs", "free"]


def attempts(entry: Any) -> int:
    """The attempts an entry records (0 when it records none, or nonsense)."""
    value = entry.get("attempts") if isinstance(entry, dict) else None
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0


def expiry(entry: Any) -> datetime | None:
    value = entry.get("expires") if isinstance(entry, dict) else None
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


def state(entry: Any, token: str, now: datetime) -> State:
    """``done`` (delivered or skipped), ``mine`` (claimed by ``token``), ``theirs`` (claimed by
    another invocation, not yet expired) or ``free`` (never tried, failed, or a claim that expired)."""
    status = entry.get("status") if isinstance(entry, dict) else None
    if status in FINAL:
        return "done"
    if status != IN_FLIGHT:
        return "free"
    assert isinstance(entry, dict)
    if entry.get("claimed_by") == token:
        return "mine"
    expires = expiry(entry)
    return "theirs" if expires is not None and now < expires else "free"


def claim_entry(entry: Any, token: str, expires: datetime, now: datetime) -> dict[str, Any]:
    """``entry`` claimed by ``token`` until ``expires``, keeping the attempts made so far."""
    claim: dict[str, Any] = {"status": IN_FLIGHT, "claimed_by": token, "expires": iso(expires),
                             "attempts": attempts(entry), "at": iso(now)}  # fmt: skip
    if isinstance(entry, dict) and entry.get("status") == IN_FLIGHT:
        claim["took_over_from"] = entry.get("claimed_by")  # a claim that expired: its container died
    return claim


@dataclass(frozen=True)
class Claimed:
    """What claiming found: the deliveries to write, the destinations this invocation now holds,
    and those another live invocation holds (to wait for)."""

    deliveries: dict[str, Any]
    mine: frozenset[str]
    theirs: frozenset[str]


def claim(
    deliveries: Mapping[str, Any],
    names: Sequence[str],
    skips: Mapping[str, dict[str, Any]],
    *,
    token: str,
    expires: datetime,
    now: datetime,
) -> Claimed:
    """Claim each of ``names`` that is free; ``skips`` are the filters' decisions (recorded instead)."""
    new = dict(deliveries)
    mine: set[str] = set()
    theirs: set[str] = set()
    for name in names:
        found = state(new.get(name), token, now)
        if found == "done":
            continue
        if found == "theirs":
            theirs.add(name)
        elif name in skips:
            new[name] = skips[name]
        else:
            if found == "free":
                new[name] = claim_entry(new.get(name), token, expires, now)
            mine.add(name)
    return Claimed(new, frozenset(mine), frozenset(theirs))


def settled(entry: Any, outcome: Mapping[str, Any], token: str, now: datetime) -> dict[str, Any]:
    """What the archive keeps when this invocation's ``outcome`` (its ``attempts``: the ones it
    made) meets ``entry``, what the document holds now."""
    total = attempts(entry) + attempts(outcome)
    if outcome.get("status") == DELIVERED:
        return {**outcome, "attempts": total}
    found = state(entry, token, now)
    if found in ("done", "theirs"):  # delivered or skipped already, or another live invocation's now
        assert isinstance(entry, dict)
        return {**entry, "attempts": total} if "attempts" in entry or total else dict(entry)
    return {**outcome, "attempts": total}


def settle(
    deliveries: Mapping[str, Any], outcomes: Mapping[str, Mapping[str, Any]], token: str, now: datetime
) -> dict[str, Any]:
    """``deliveries`` with this invocation's ``outcomes`` merged in."""
    new = dict(deliveries)
    for name, outcome in outcomes.items():
        new[name] = settled(new.get(name), outcome, token, now)
    return new


def not_sent(reason: str) -> dict[str, Any]:
    """The outcome that releases a claim this invocation could not use (a key it could not read)."""
    return {"status": FAILED_RETRYABLE, "attempts": 0, "http_status": None, "error": f"not sent: {reason}"}
