"""Early warnings (预警): raised once per level, with the numbers behind them, delivered through the outbox.

Two rules for a petition:

- threshold: its trusted signers reach a level's count (per hot-topic zone, default 5 / 20 / 50);
- velocity: trusted signatures in the last hour reach a level's count (default 10 / 30 / 100) and are
  at least `factor` times the petition's own hourly rate over the day before.

Flagged signatures (a surge from one source) count for neither rule. A warning is a row, unique per
(subject, kind, level), and an outbox row `warning.deliver` that posts it as a signed webhook.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from language.triage import Decision
from tickets import outbox, repository
from tickets.errors import NotFound
from tickets.masking import mask_text
from tickets.metrics import WARNINGS, on_commit
from tickets.storage.db import dialect_insert
from tickets.storage.schema import petitions, signatures, warnings

THRESHOLD, VELOCITY = "threshold", "velocity"
BASELINE_HOURS = 24


@dataclass(frozen=True, slots=True)
class Warning:
    """A raised warning."""

    id: int
    subject: str
    petition_id: int | None
    kind: str
    level: int
    zone: str
    figures: dict[str, Any]
    created_at: datetime
    acknowledged_at: datetime | None
    acknowledged_by: str
    ack_note: str


def thresholds_for(config: Mapping[str, Sequence[int]], zone: str) -> list[int]:
    """The signer counts of each level for a zone (its own, or the default)."""
    return list(config.get(zone) or config["default"])


def level_for(count: int, levels: Sequence[int]) -> int:
    """How many of the increasing `levels` `count` reaches (0: none)."""
    return sum(1 for level in levels if count >= level)


def subject_of(petition_id: int) -> str:
    """The warning subject of a petition."""
    return f"petition:{petition_id}"


def raise_warning(conn: sa.Connection, *, subject: str, petition_id: int | None, kind: str, level: int, zone: str,
                  figures: dict[str, Any], now: datetime) -> int | None:
    """Record a warning and its delivery; None when this level was raised before."""
    insert = dialect_insert(conn, warnings).values(
        subject=subject, petition_id=petition_id, kind=kind, level=level, zone=zone, figures=figures,
        created_at=now,
    ).on_conflict_do_nothing(index_elements=["subject", "kind", "level"]).returning(warnings.c.id)
    warning_id = conn.execute(insert).scalar_one_or_none()
    if warning_id is None:
        return None
    outbox.put(conn, outbox.Topic.WARNING, {"warning_id": int(warning_id)}, now)
    on_commit(conn, WARNINGS.labels(kind, str(level)).inc)
    return int(warning_id)


URGENT = "urgent"


def raise_urgent(conn: sa.Connection, ticket: repository.Ticket, zone: str, decision: Decision,
                 now: datetime) -> int | None:
    """Raise the warning of an urgent ticket (a danger now), once: what, where, and why it is urgent."""
    figures = {"ticket_id": ticket.id, "number": ticket.number, "concepts": list(decision.concepts),
               "place": mask_text(ticket.address or ticket.location_label)[:120]}
    return raise_warning(conn, subject=f"ticket:{ticket.id}", petition_id=None, kind=URGENT, level=1, zone=zone,
                         figures=figures, now=now)


def check_thresholds(conn: sa.Connection, petition_id: int, zone: str, *, before: int, after: int, flagged: int,
                     thresholds: Sequence[int], now: datetime) -> list[int]:
    """Raise the threshold levels crossed between `before` and `after` trusted signers."""
    raised: list[int] = []
    for level, count in enumerate(thresholds, start=1):
        if before < count <= after:
            figures = {"signers": after, "threshold": count, "flagged": flagged}
            warning_id = raise_warning(conn, subject=subject_of(petition_id), petition_id=petition_id,
                                       kind=THRESHOLD, level=level, zone=zone, figures=figures, now=now)
            if warning_id is not None:
                raised.append(warning_id)
    return raised


def scan_velocity(conn: sa.Connection, now: datetime, *, levels: Sequence[int], factor: float) -> list[int]:
    """Raise velocity warnings for open petitions signed fast in the last hour (a periodic sweep)."""
    hour_ago = now - timedelta(hours=1)
    day_before = hour_ago - timedelta(hours=BASELINE_HOURS)
    trusted = sa.and_(signatures.c.status == "signed", signatures.c.flagged.is_(False))
    recent = conn.execute(
        sa.select(petitions.c.id, petitions.c.zone, petitions.c.created_at,
                  sa.func.count(signatures.c.id).filter(signatures.c.created_at >= hour_ago),
                  sa.func.count(signatures.c.id).filter(signatures.c.created_at < hour_ago))
        .join(signatures, signatures.c.petition_id == petitions.c.id)
        .where(petitions.c.status == "open", petitions.c.last_signed_at >= hour_ago, trusted,
               signatures.c.created_at >= day_before)
        .group_by(petitions.c.id, petitions.c.zone, petitions.c.created_at)
    ).all()
    raised: list[int] = []
    for petition_id, zone, created_at, last_hour, earlier in recent:
        # The petition's own rate before this hour: over the day before, or over its life if younger.
        hours = max(1.0, min(float(BASELINE_HOURS), (hour_ago - created_at).total_seconds() / 3600))
        baseline = earlier / hours
        if last_hour < factor * baseline:
            continue
        figures = {"last_hour": last_hour, "baseline_per_hour": round(baseline, 2), "factor": factor}
        for level in range(1, level_for(last_hour, levels) + 1):
            warning_id = raise_warning(conn, subject=subject_of(petition_id), petition_id=petition_id,
                                       kind=VELOCITY, level=level, zone=zone,
                                       figures={**figures, "threshold": levels[level - 1]}, now=now)
            if warning_id is not None:
                raised.append(warning_id)
    return raised


def _from_row(row: Any) -> Warning:
    return Warning(row.id, row.subject, row.petition_id, row.kind, row.level, row.zone, dict(row.figures),
                   row.created_at, row.acknowledged_at, row.acknowledged_by, row.ack_note)


def get(conn: sa.Connection, warning_id: int) -> Warning:
    """A warning by id; raises NotFound."""
    row = conn.execute(sa.select(warnings).where(warnings.c.id == warning_id)).one_or_none()
    if row is None:
        raise NotFound(f"warning {warning_id}")
    return _from_row(row)


def list_warnings(conn: sa.Connection, *, acknowledged: bool | None = None, petition_id: int | None = None,
                  limit: int = 50, offset: int = 0) -> tuple[list[Warning], int]:
    """Warnings, newest first, with the total count of the filter."""
    conditions: list[sa.ColumnElement[bool]] = []
    if acknowledged is not None:
        conditions.append(warnings.c.acknowledged_at.is_not(None) if acknowledged
                          else warnings.c.acknowledged_at.is_(None))
    if petition_id is not None:
        conditions.append(warnings.c.petition_id == petition_id)
    rows = conn.execute(sa.select(warnings).where(*conditions).order_by(warnings.c.id.desc())
                        .limit(limit).offset(offset))
    total = conn.execute(sa.select(sa.func.count()).select_from(warnings).where(*conditions)).scalar_one()
    return [_from_row(r) for r in rows], int(total)


def acknowledge(conn: sa.Connection, warning_id: int, *, by: str, note: str, now: datetime) -> Warning:
    """An officer has seen the warning; acknowledging again keeps the first acknowledgement."""
    conn.execute(sa.update(warnings).where(warnings.c.id == warning_id, warnings.c.acknowledged_at.is_(None))
                 .values(acknowledged_at=now, acknowledged_by=by[:64], ack_note=note.strip()[:1000]))
    return get(conn, warning_id)


def webhook_body(warning: Warning, petition: Mapping[str, Any] | None) -> dict[str, Any]:
    """What the warning webhook carries: the warning, its numbers, and the petition it is about."""
    return {
        "event": "warning.raised", "warning_id": warning.id, "subject": warning.subject, "kind": warning.kind,
        "level": warning.level, "zone": warning.zone, "figures": warning.figures,
        "created_at": warning.created_at.isoformat(), "petition": dict(petition) if petition else None,
    }
