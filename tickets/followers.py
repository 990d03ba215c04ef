"""Who else hears of a ticket's progress: citizens who chose to follow it instead of filing the same
problem again, and the reporters of tickets an officer merged into it (with their own followers)."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from tickets.storage.db import dialect_insert
from tickets.storage.schema import cluster_members, ticket_followers, tickets


def follow(conn: sa.Connection, ticket_id: int, citizen_id: int, now: datetime) -> bool:
    """Let the citizen hear of the ticket's progress; False when they already follow it."""
    inserted = conn.execute(
        dialect_insert(conn, ticket_followers).values(ticket_id=ticket_id, citizen_id=citizen_id, created_at=now)
        .on_conflict_do_nothing(index_elements=["ticket_id", "citizen_id"]).returning(ticket_followers.c.id)
    ).scalar_one_or_none()
    return inserted is not None


def linked_citizens(conn: sa.Connection, ticket_id: int) -> list[int]:
    """Followers of the ticket, reporters of tickets merged into it and their followers (each once)."""
    merged = sa.select(cluster_members.c.ticket_id).where(cluster_members.c.merged_into == ticket_id)
    reporters = sa.select(tickets.c.citizen_id.label("citizen_id"), tickets.c.id.label("ticket_id")).where(
        tickets.c.id.in_(merged), tickets.c.citizen_id.is_not(None))
    following = sa.select(ticket_followers.c.citizen_id, ticket_followers.c.ticket_id).where(
        sa.or_(ticket_followers.c.ticket_id == ticket_id, ticket_followers.c.ticket_id.in_(merged)))
    rows = conn.execute(sa.union_all(reporters, following).subquery().select().order_by("ticket_id"))
    seen: dict[int, None] = {}
    for row in rows:
        seen.setdefault(int(row.citizen_id), None)
    return list(seen)


def followed_by(conn: sa.Connection, citizen_id: int, limit: int = 10) -> list[int]:
    """The tickets the citizen follows, the newest first."""
    return [int(t) for t in conn.execute(
        sa.select(ticket_followers.c.ticket_id).where(ticket_followers.c.citizen_id == citizen_id)
        .order_by(ticket_followers.c.id.desc()).limit(limit)).scalars()]
