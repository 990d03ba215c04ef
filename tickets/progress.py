"""Status updates from the dispatch system and the citizen's evaluation, with who is told what.

Every change a citizen should hear about writes notification rows in the same transaction;
an unsatisfied or unsolved evaluation reopens the ticket and tells the dispatch system.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa

from tickets import followers, notifications, outbox, petitions, repository
from tickets.errors import InvalidTransition
from tickets.lifecycle import Status
from tickets.masking import mask_text
from tickets.repository import Ticket
from tickets.routing import store as routing_store
from tickets.storage.schema import citizens, evaluations, tickets

# Changes the citizen is told about (received was answered in the chat already).
TOLD = frozenset({Status.ACCEPTED, Status.DISPATCHED, Status.IN_PROGRESS, Status.RESOLVED, Status.REJECTED,
                  Status.MERGED, Status.REOPENED, Status.CLOSED})
# Who a citizen told of a ticket is to it: the one who filed it, a co-signer of its petition, a follower.
FILER, COSIGNER, FOLLOWER = "filer", "cosigner", "follower"


class Satisfaction(StrEnum):
    """The three grades citizens answer with (满意 / 基本满意 / 不满意)."""

    SATISFIED = "satisfied"
    BASICALLY = "basically"
    UNSATISFIED = "unsatisfied"


@dataclass(frozen=True, slots=True)
class StatusUpdate:
    """A change reported by the handling side."""

    status: Status
    actor: str
    note: str = ""
    unit: str = ""
    expected_at: datetime | None = None
    external_id: str | None = None


@dataclass(frozen=True, slots=True)
class Applied:
    """The outcome of an update: the ticket, its event, and whether this call recorded it."""

    ticket: Ticket
    event_id: int
    created: bool


def apply_update(conn: sa.Connection, ticket_id: int, update: StatusUpdate, now: datetime) -> Applied:
    """Record a status change or note; a repeated external id returns the first outcome unchanged."""
    if update.external_id:
        seen = repository.find_event(conn, update.external_id)
        if seen is not None:
            if seen[0] != ticket_id:
                raise InvalidTransition("event id used for another ticket", update.status.value)
            return Applied(repository.get_ticket(conn, ticket_id), seen[1], created=False)
    change = repository.change_status(
        conn, ticket_id, update.status, actor=update.actor, note=update.note, now=now, unit=update.unit,
        expected_at=update.expected_at, external_id=update.external_id,
    )
    ticket = change.ticket
    if update.unit:  # the unit the ticket went to: a lesson for the recommender when it differs
        routing_store.record_unit(conn, ticket_id, update.unit, actor=update.actor, now=now)
    moved = change.previous is not ticket.status
    if (moved and ticket.status in TOLD) or (not moved and update.note):
        _tell(conn, ticket, change.event_id, update, now)
    return Applied(ticket, change.event_id, created=True)


def audience(conn: sa.Connection, ticket: Ticket) -> list[int]:
    """The citizens to tell about a ticket: whoever filed it, then the co-signers of its joint petition who
    consented to hear of its progress and have not withdrawn, then its followers and the reporters of tickets
    merged into it (each once). An Open311 client is no citizen to push to: it polls."""
    return [citizen_id for citizen_id, _ in _audience(conn, ticket)]


def _audience(conn: sa.Connection, ticket: Ticket) -> list[tuple[int, str]]:
    filer = [ticket.citizen_id] if ticket.citizen_id is not None and ticket.channel != "open311" else []
    cosigners = [c for c in petitions.consenting_signers(conn, ticket.id) if c != ticket.citizen_id]
    told = filer + cosigners
    others = [c for c in followers.linked_citizens(conn, ticket.id) if c not in told]
    return ([(c, FILER) for c in filer] + [(c, COSIGNER) for c in cosigners] + [(c, FOLLOWER) for c in others])


def _purpose(role: str, resolved: bool) -> str:
    """What a notice says (templates/messages/push_{purpose}.j2): whoever filed the ticket is asked to rate it
    once resolved; co-signers hear of the request they co-signed, in its own words; followers of their own."""
    if role == FILER:
        return "evaluation" if resolved else "progress"
    return "cosigned_progress" if role == COSIGNER else "progress"


def _tell(conn: sa.Connection, ticket: Ticket, event_id: int, update: StatusUpdate, now: datetime) -> None:
    resolved = ticket.status is Status.RESOLVED
    # The notice tells of this event: its status and time are kept on the row, since the ticket may have moved
    # on by the time a worker sends it.
    payload = {"status": ticket.status.value, "at": now.isoformat(), "note": update.note,
               "unit": update.unit or ticket.unit,
               "expected_at": update.expected_at.isoformat() if update.expected_at else None}
    audience = _audience(conn, ticket)
    notifications.create_many(conn, [(citizen_id, _purpose(role, resolved)) for citizen_id, role in audience],
                              payload=payload, now=now, ticket_id=ticket.id, event_id=event_id)
    if resolved:
        for citizen_id in (c for c, role in audience if role == FILER):
            expect_evaluation(conn, citizen_id, ticket.id)
    if resolved:
        conn.execute(sa.update(tickets).where(tickets.c.id == ticket.id)
                     .values(evaluation_asked_at=now, evaluation_asks=1))


def expect_evaluation(conn: sa.Connection, citizen_id: int, ticket_id: int) -> None:
    """Let the citizen's conversation take the next rating words as the answer for this ticket."""
    data = conn.execute(sa.select(citizens.c.dialog_data).where(citizens.c.id == citizen_id)).scalar_one()
    data = dict(data or {})
    data["evaluation"] = {"ticket_id": ticket_id, "step": "satisfaction"}
    conn.execute(sa.update(citizens).where(citizens.c.id == citizen_id).values(dialog_data=data))


def evaluate(conn: sa.Connection, ticket_id: int, *, channel: str, satisfaction: Satisfaction, solved: bool,
             reason: str, now: datetime, citizen_id: int | None = None) -> Ticket:
    """Record the citizen's rating of a resolved ticket: close it, or reopen it and tell dispatch.

    Raises InvalidTransition unless the ticket is resolved (rated once per resolution).
    """
    ticket = repository.get_ticket(conn, ticket_id)
    if ticket.status is not Status.RESOLVED:
        raise InvalidTransition(ticket.status.value, "evaluated")
    reason = reason.strip()[:1000]
    conn.execute(sa.insert(evaluations).values(
        ticket_id=ticket_id, citizen_id=citizen_id, channel=channel, satisfaction=satisfaction.value,
        solved=solved, reason=reason, created_at=now,
    ))
    unhappy = satisfaction is Satisfaction.UNSATISFIED or not solved
    target = Status.REOPENED if unhappy else Status.CLOSED
    note = reason if unhappy else ""
    change = repository.change_status(conn, ticket_id, target, actor=f"citizen:{channel}", note=note, now=now)
    if unhappy:
        outbox.put(conn, outbox.Topic.DISPATCH, {
            "event": "ticket.reopened", "ticket_id": ticket_id, "number": ticket.number,
            "satisfaction": satisfaction.value, "solved": solved, "reason": reason, "event_id": change.event_id,
        }, now)
    return change.ticket


def satisfaction_figures(conn: sa.Connection, since: datetime | None = None) -> dict[str, Any]:
    """Counts and rates of evaluations (for the API and the console)."""
    query = sa.select(evaluations.c.satisfaction, evaluations.c.solved, sa.func.count()).group_by(
        evaluations.c.satisfaction, evaluations.c.solved)
    if since is not None:
        query = query.where(evaluations.c.created_at >= since)
    counts = {s.value: 0 for s in Satisfaction}
    solved = total = 0
    for grade, was_solved, n in conn.execute(query):
        counts[grade] = counts.get(grade, 0) + n
        total += n
        solved += n if was_solved else 0
    happy = counts[Satisfaction.SATISFIED.value] + counts[Satisfaction.BASICALLY.value]
    return {"total": total, "by_grade": counts, "solved": solved,
            "satisfaction_rate": round(happy / total, 4) if total else None,
            "solved_rate": round(solved / total, 4) if total else None}


def withdraw(conn: sa.Connection, ticket_id: int, *, channel: str, reason: str, now: datetime) -> Ticket:
    """The citizen takes back a request still being handled, with their reason: a lifecycle change the
    dispatch system hears about (`ticket.withdrawn`), so the unit stops. Raises InvalidTransition otherwise."""
    note = f"市民撤回：{reason}" if reason else "市民撤回"
    applied = apply_update(conn, ticket_id, StatusUpdate(Status.WITHDRAWN, actor=f"citizen:{channel}",
                                                         note=mask_text(note)[:500]), now)
    ticket = applied.ticket
    outbox.put(conn, outbox.Topic.DISPATCH, {
        "event": "ticket.withdrawn", "ticket_id": ticket.id, "number": ticket.number, "unit": ticket.unit,
        "reason": mask_text(reason)[:500], "at": now.isoformat()}, now)
    return ticket


def supplement(conn: sa.Connection, ticket_id: int, *, channel: str, text: str, now: datetime) -> Ticket:
    """What the citizen adds to a request after filing it (按了警铃没人应, 现场没人指挥): a note on its timeline,
    in its current status, that the dispatch system hears about (`ticket.supplemented`)."""
    note = mask_text(f"市民补充：{text.strip()}")[:500]
    ticket = repository.get_ticket(conn, ticket_id)
    repository.change_status(conn, ticket_id, ticket.status, actor=f"citizen:{channel}", note=note, now=now)
    outbox.put(conn, outbox.Topic.DISPATCH, {
        "event": "ticket.supplemented", "ticket_id": ticket.id, "number": ticket.number, "unit": ticket.unit,
        "note": note, "at": now.isoformat()}, now)
    return ticket
