"""Citizens' consent to subscription notifications, per template (WeChat popup and settings events)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

import sqlalchemy as sa

from tickets.storage.db import dialect_insert
from tickets.storage.schema import consents

ACCEPT, REJECT = "accept", "reject"


def record(conn: sa.Connection, citizen_id: int, decisions: Iterable[tuple[str, str]], now: datetime) -> int:
    """Store each (template_id, accept|reject); the latest decision wins. Returns how many were stored."""
    stored = 0
    for template_id, status in decisions:
        if status not in (ACCEPT, REJECT) or not template_id:
            continue
        stmt = dialect_insert(conn, consents).values(citizen_id=citizen_id, template_id=template_id,
                                                     status=status, updated_at=now)
        conn.execute(stmt.on_conflict_do_update(index_elements=[consents.c.citizen_id, consents.c.template_id],
                                                set_={"status": status, "updated_at": now}))
        stored += 1
    return stored


def has_consent(conn: sa.Connection, citizen_id: int, template_id: str) -> bool:
    """Whether the citizen accepted this template and has not withdrawn."""
    status = conn.execute(sa.select(consents.c.status).where(
        consents.c.citizen_id == citizen_id, consents.c.template_id == template_id)).scalar_one_or_none()
    return status == ACCEPT


def revoke(conn: sa.Connection, citizen_id: int, template_id: str, now: datetime) -> None:
    """The platform says consent is gone (43101)."""
    record(conn, citizen_id, [(template_id, REJECT)], now)
