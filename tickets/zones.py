"""Hot-topic zones (热点专区) a ticket may be filed under: housing delivery, unpaid wages, winter heating ...

A zone picks the answer deadlines and warning thresholds of its topic; "" is none. Which zones exist is
configuration (HOT_TOPIC_ZONES); the ticket keeps the name it was filed under.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import sqlalchemy as sa

from tickets.storage.schema import tickets

ZONE_NAME = re.compile(r"[a-z][a-z0-9_]{0,31}")


def set_zone(conn: sa.Connection, ticket_id: int, zone: str) -> None:
    """File the ticket under a zone ("" for none); the name must look like one (lower-case, at most 32)."""
    if zone and not ZONE_NAME.fullmatch(zone):
        raise ValueError(f"not a zone name: {zone[:40]!r}")
    conn.execute(sa.update(tickets).where(tickets.c.id == ticket_id).values(zone=zone))


def zones_of(conn: sa.Connection, ticket_ids: Iterable[int]) -> dict[int, str]:
    """The zone of each ticket ("" for none)."""
    ids = list(ticket_ids)
    if not ids:
        return {}
    rows = conn.execute(sa.select(tickets.c.id, tickets.c.zone).where(tickets.c.id.in_(ids)))
    return {int(row.id): str(row.zone) for row in rows}
