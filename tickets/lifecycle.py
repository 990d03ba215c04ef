"""The ticket lifecycle (docs/design.md section 7): statuses and the changes allowed between them."""

from __future__ import annotations

from enum import StrEnum

from tickets.errors import InvalidTransition


class Status(StrEnum):
    """Where a ticket stands."""

    RECEIVED = "received"
    ACCEPTED = "accepted"
    DISPATCHED = "dispatched"
    IN_PROGRESS = "in_progress"
    RESOLVED = "resolved"
    CLOSED = "closed"
    REJECTED = "rejected"
    MERGED = "merged"
    REOPENED = "reopened"
    WITHDRAWN = "withdrawn"  # the citizen took it back (with a reason), while it was still being handled


_ALLOWED: dict[Status, frozenset[Status]] = {
    # Auto-dispatch (over 85% of requests) accepts and dispatches in one step.
    Status.RECEIVED: frozenset({Status.ACCEPTED, Status.DISPATCHED, Status.REJECTED, Status.MERGED,
                                Status.WITHDRAWN}),
    Status.ACCEPTED: frozenset({Status.DISPATCHED, Status.IN_PROGRESS, Status.RESOLVED, Status.REJECTED,
                                Status.MERGED, Status.WITHDRAWN}),
    # A unit may hand a ticket back (退单): it returns to accepted for re-dispatch.
    Status.DISPATCHED: frozenset({Status.IN_PROGRESS, Status.ACCEPTED, Status.RESOLVED, Status.MERGED,
                                  Status.WITHDRAWN}),
    Status.IN_PROGRESS: frozenset({Status.RESOLVED, Status.ACCEPTED, Status.MERGED, Status.WITHDRAWN}),
    Status.RESOLVED: frozenset({Status.CLOSED, Status.REOPENED}),
    Status.REOPENED: frozenset({Status.ACCEPTED, Status.DISPATCHED, Status.IN_PROGRESS, Status.RESOLVED,
                                Status.MERGED, Status.WITHDRAWN}),
    Status.REJECTED: frozenset({Status.REOPENED}),
    Status.CLOSED: frozenset({Status.REOPENED}),
    Status.MERGED: frozenset(),
    Status.WITHDRAWN: frozenset(),
}

OPEN_STATUSES: frozenset[Status] = frozenset(
    {Status.RECEIVED, Status.ACCEPTED, Status.DISPATCHED, Status.IN_PROGRESS, Status.REOPENED}
)


def can_move(current: Status, target: Status) -> bool:
    """Whether the lifecycle allows going from `current` to `target`."""
    return target in _ALLOWED[current]


def check_move(current: Status, target: Status) -> None:
    """Raise InvalidTransition unless the lifecycle allows the change."""
    if not can_move(current, target):
        raise InvalidTransition(current.value, target.value)
