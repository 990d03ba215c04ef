"""Routing kept with the tickets: the classification of each new ticket, the units officers gave it
(what the recommender learns from), and the accuracy and auto-dispatch figures."""

from __future__ import annotations

import time
import weakref
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from language.triage import Decision
from tickets.masking import mask_text
from tickets.repository import Ticket
from tickets.routing import catalogue
from tickets.routing import similar as routing_similar
from tickets.routing.classify import Classification, classify
from tickets.routing.classify import out_of_scope as referrals_in
from tickets.routing.similar import Precedent, PrecedentIndex
from tickets.storage.schema import routing_corrections, ticket_routing, tickets


@dataclass(frozen=True, slots=True)
class RoutingConfig:
    """How routing runs: the confidence that dispatches without an officer, how much history it learns from."""

    auto_dispatch_confidence: float = 0.6
    learn_from: int = 1000


def ticket_text(ticket: Ticket) -> tuple[str, str]:
    """(description, place) of a ticket as the classifier reads them."""
    return ticket.description, f"{ticket.address} {ticket.location_label}".strip()


_PRECEDENTS_S = 30.0  # how long a process searches the precedents it last read (see `learned`)
_LEARNED: weakref.WeakKeyDictionary[sa.Engine, tuple[float, int, PrecedentIndex]] = weakref.WeakKeyDictionary()


def learned(conn: sa.Connection, limit: int) -> PrecedentIndex:
    """The recent precedents, indexed, as this process last read them (at most 30 s ago; a unit recorded by
    this process is in at once): a new ticket is classified without reading and indexing a thousand rows."""
    cached = _LEARNED.get(conn.engine)
    if cached is not None and cached[1] == limit and time.monotonic() - cached[0] < _PRECEDENTS_S:
        return cached[2]
    built = routing_similar.index(precedents(conn, limit))
    _LEARNED[conn.engine] = (time.monotonic(), limit, built)
    return built


def precedents(conn: sa.Connection, limit: int) -> list[Precedent]:
    """The latest final units of recent tickets (one per ticket, its newest), newest first."""
    rows = conn.execute(sa.select(routing_corrections.c.ticket_id, routing_corrections.c.unit,
                                  routing_corrections.c.text)
                        .order_by(routing_corrections.c.id.desc()).limit(limit)).all()
    seen: set[int] = set()
    found = []
    for row in rows:
        if row.ticket_id not in seen:
            seen.add(row.ticket_id)
            found.append(Precedent(row.ticket_id, row.unit, row.text))
    return found


@dataclass(frozen=True, slots=True)
class Routed:
    """A new ticket's classification, whether it may be dispatched without an officer, and its zone now."""

    result: Classification
    auto_dispatch: bool
    zone: str


def classify_new_ticket(conn: sa.Connection, ticket: Ticket, now: datetime, config: RoutingConfig, *,
                        zone: str = "", decision: Decision | None = None) -> Routed:
    """Classify a just-opened ticket (filed under `zone`, "" for none), keep the result, and file it under
    the hot-topic zone the classifier found when it has none."""
    book = catalogue.current(conn)
    description, place = ticket_text(ticket)
    result = classify(book, description, place, learned(conn, config.learn_from))
    auto = bool(result.recommendations) and result.confidence >= config.auto_dispatch_confidence
    conn.execute(sa.insert(ticket_routing).values(
        ticket_id=ticket.id, catalogue_version=result.catalogue_version, kind=result.kind, zone=result.zone,
        category=result.category, urgency=ticket.urgency, district=result.district,
        triage=decision.to_data() if decision is not None else {},
        out_of_scope=list(result.out_of_scope), recommendations=[r.to_data() for r in result.recommendations],
        top_unit=result.top_unit, confidence=result.confidence, auto_dispatch=auto, created_at=now,
    ))
    if not zone and result.zone in book.hot_topics:
        conn.execute(sa.update(tickets).where(tickets.c.id == ticket.id).values(zone=result.zone))
        zone = result.zone
    return Routed(result, auto, zone)


def out_of_scope(conn: sa.Connection, text: str, config: RoutingConfig) -> tuple[str, ...]:
    """The out-of-scope matters the text names, by the catalogue in force."""
    return referrals_in(catalogue.current(conn), text) if text.strip() else ()


def routing_of(conn: sa.Connection, ticket_id: int) -> dict[str, Any] | None:
    """The stored classification of a ticket, or None for a ticket opened without one."""
    row = conn.execute(sa.select(ticket_routing).where(ticket_routing.c.ticket_id == ticket_id)).one_or_none()
    if row is None:
        return None
    return {"type": row.kind, "zone": row.zone, "category": row.category, "urgency": row.urgency,
            "district": row.district, "out_of_scope": list(row.out_of_scope),
            "recommendations": list(row.recommendations), "confidence": row.confidence,
            "auto_dispatch": row.auto_dispatch, "final_unit": row.final_unit,
            "catalogue_version": row.catalogue_version}


def record_unit(conn: sa.Connection, ticket_id: int, unit: str, *, actor: str, now: datetime) -> bool:
    """Keep the unit a ticket was given (by id or name) as its final unit; True when it changed.

    The change is a lesson for the recommender: the ticket's text, masked, with the unit.
    """
    if not unit.strip():
        return False
    unit_id = catalogue.current(conn).unit_id(unit)[:128]
    previous = final_unit(conn, ticket_id)
    if previous == unit_id:
        return False
    # The description only: the place decides the district, not the matter.
    text = mask_text(conn.execute(sa.select(tickets.c.description).where(tickets.c.id == ticket_id)).scalar_one())
    conn.execute(sa.insert(routing_corrections).values(ticket_id=ticket_id, unit=unit_id, previous_unit=previous,
                                                       text=text, actor=actor[:64], created_at=now))
    conn.execute(sa.update(ticket_routing).where(ticket_routing.c.ticket_id == ticket_id)
                 .values(final_unit=unit_id, final_at=now))
    _LEARNED.pop(conn.engine, None)  # the lesson counts in this process from the next ticket on
    return True


def final_unit(conn: sa.Connection, ticket_id: int) -> str:
    """The unit a ticket was last given ("" for none yet)."""
    unit = conn.execute(sa.select(routing_corrections.c.unit).where(routing_corrections.c.ticket_id == ticket_id)
                        .order_by(routing_corrections.c.id.desc()).limit(1)).scalar_one_or_none()
    return str(unit or "")


def figures(conn: sa.Connection, since: datetime | None = None) -> dict[str, Any]:
    """Recommendation accuracy (top-1, top-3 against the final unit) and the auto-dispatch rate."""
    query = sa.select(ticket_routing.c.recommendations, ticket_routing.c.top_unit, ticket_routing.c.auto_dispatch,
                      ticket_routing.c.final_unit)
    if since is not None:
        query = query.where(ticket_routing.c.created_at >= since)
    total = decided = top1 = top3 = confident = auto_kept = 0
    for row in conn.execute(query):
        total += 1
        confident += bool(row.auto_dispatch)
        if not row.final_unit:
            continue
        decided += 1
        units = [r["unit"] for r in row.recommendations]
        top1 += row.final_unit == row.top_unit
        top3 += row.final_unit in units[:3]
        auto_kept += bool(row.auto_dispatch) and row.final_unit == row.top_unit

    def rate(n: int, d: int) -> float | None:
        return round(n / d, 4) if d else None

    return {"classified": total, "with_final_unit": decided, "top1": top1, "top3": top3,
            "top1_accuracy": rate(top1, decided), "top3_accuracy": rate(top3, decided),
            "auto_dispatched": confident, "auto_dispatched_and_kept": auto_kept,
            "auto_dispatch_rate": rate(auto_kept, decided), "auto_dispatch_share": rate(confident, total)}
