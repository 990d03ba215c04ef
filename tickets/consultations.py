"""Questions answered at once from the city's knowledge base (即问即答), counted without becoming tickets.

The knowledge base is the catalogue's (catalogue/knowledge/, read by language/knowledge); each answer is a
row of `consultations`: which entry, for which topic, the question (personal data masked), and whether the
citizen said it helped (False when they went on to file a request instead). `figures` gives the "online
answer" rate of the seeds.
"""

from __future__ import annotations

from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from language.knowledge import KnowledgeBase, load_knowledge
from tickets.masking import mask_text
from tickets.settings import CATALOGUE_DIR
from tickets.storage.schema import consultations


@cache
def knowledge(folder: Path = CATALOGUE_DIR / "knowledge") -> KnowledgeBase:
    """The knowledge base of the catalogue, read once per process."""
    return load_knowledge(folder)


def record(conn: sa.Connection, *, channel: str, citizen_id: int | None, entry: str, topic: str, question: str,
           now: datetime) -> int:
    """Count one question answered; returns its id."""
    return int(conn.execute(sa.insert(consultations).values(
        channel=channel, citizen_id=citizen_id, entry=entry[:64], topic=topic[:32], question=mask_text(question)[:500],
        created_at=now).returning(consultations.c.id)).scalar_one())


def mark(conn: sa.Connection, consultation_id: int, *, helped: bool) -> None:
    """Keep whether the answer helped the citizen."""
    conn.execute(sa.update(consultations).where(consultations.c.id == consultation_id).values(helped=helped))


def figures(conn: sa.Connection, since: datetime | None = None) -> dict[str, Any]:
    """Questions answered at once, by topic, and how many citizens still filed a request after the answer."""
    query = sa.select(consultations.c.topic, consultations.c.helped)
    if since is not None:
        query = query.where(consultations.c.created_at >= since)
    by_topic: dict[str, int] = {}
    answered = not_helped = 0
    for topic, helped in conn.execute(query):
        answered += 1
        not_helped += helped is False
        by_topic[topic] = by_topic.get(topic, 0) + 1
    return {"answered": answered, "filed_after": not_helped, "by_topic": by_topic}
