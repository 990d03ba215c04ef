"""Routing kept with the tickets: the classification of each new ticket, the units officers gave it
(what the recommender learns from), and the accuracy and auto-dispatch figures."""

from __future__ import annotations

import time
import weakref
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from language.routing.problem import problem_of
from language.triage import Decision
from tickets import places
from tickets.masking import mask_text
from tickets.repository import Ticket
from tickets.routing import catalogue, learned
from tickets.routing import similar as routing_similar
from tickets.routing.classify import Classification, classify
from tickets.routing.similar import Precedent, PrecedentIndex
from tickets.storage import fastsql
from tickets.storage.schema import routing_corrections, ticket_routing, tickets


@dataclass(frozen=True, slots=True)
class RoutingConfig:
    """How routing runs: the confidence that dispatches without an officer, how much history it learns from."""

    auto_dispatch_confidence: float = 0.6  # benchmarks/routing_accuracy.py: >= 90% right above it
    learn_from: int = 1000


def ticket_text(ticket: Ticket) -> tuple[str, str]:
    """(description, place) of a ticket as the classifier reads them."""
    return ticket.description, f"{ticket.address} {ticket.location_label}".strip()


_PRECEDENTS_S = 30.0  # how long a process searches the precedents it last read (see `learned`)
_LEARNED: weakref.WeakKeyDictionary[sa.Engine, tuple[float, int, PrecedentIndex]] = weakref.WeakKeyDictionary()


def precedent_index(conn: sa.Connection, limit: int) -> PrecedentIndex:
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


# Every new ticket's classification is written in the opening transaction: once, as SQL (storage/fastsql.py).
_ROUTED = fastsql.Sql(
    "INSERT INTO ticket_routing (ticket_id, catalogue_version, kind, zone, category, urgency, district, triage,"
    " out_of_scope, recommendations, top_unit, confidence, auto_dispatch, created_at, district_source, place,"
    " place_keys, problem, model_version, vague) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


def classify_new_ticket(conn: sa.Connection, ticket: Ticket, now: datetime, config: RoutingConfig, *,
                        zone: str = "", decision: Decision | None = None) -> Routed:
    """Classify a just-opened ticket (filed under `zone`, "" for none), keep the result, and file it under
    the hot-topic zone the classifier found when it has none."""
    book = catalogue.current(conn)
    model = learned.current(conn, book)
    place = places.place_of(f"{ticket.address} {ticket.description}", label=ticket.location_label,
                            latitude=ticket.latitude, longitude=ticket.longitude)
    result = classify(book, model.model, ticket.description, place,
                      precedents=precedent_index(conn, config.learn_from), model_version=model.version)
    auto = bool(result.recommendations) and result.confidence >= config.auto_dispatch_confidence
    pg = fastsql.is_postgres(conn)
    triage = decision.to_data(mask_text) if decision is not None else {}
    out_of_scope = list(decision.concepts) if decision is not None and decision.kind.value == "redirect" else []
    fastsql.run(conn, _ROUTED, (
        ticket.id, result.catalogue_version, result.kind, result.zone, result.category, ticket.urgency,
        result.district, fastsql.bind_json(pg, triage), fastsql.bind_json(pg, out_of_scope),
        fastsql.bind_json(pg, [r.to_data() for r in result.recommendations]), result.top_unit, result.confidence,
        auto if pg else int(auto), fastsql.bind_time(pg, now), result.district_source, result.place[:255],
        fastsql.bind_json(pg, sorted(place.keys)[:20]), problem_of(ticket.description, result.category)[:64],
        result.model_version, result.vague if pg else int(result.vague),
    ))
    if not zone and result.zone in book.hot_topics:
        conn.execute(sa.update(tickets).where(tickets.c.id == ticket.id).values(zone=result.zone))
        zone = result.zone
    return Routed(result, auto, zone)


def routing_of(conn: sa.Connection, ticket_id: int) -> dict[str, Any] | None:
    """The stored classification of a ticket, or None for a ticket opened without one."""
    row = conn.execute(sa.select(ticket_routing).where(ticket_routing.c.ticket_id == ticket_id)).one_or_none()
    if row is None:
        return None
    return {"type": row.kind, "zone": row.zone, "category": row.category, "urgency": row.urgency,
            "district": row.district, "district_source": row.district_source, "place": row.place,
            "problem": row.problem, "vague": row.vague, "triage": dict(row.triage),
            "recommendations": list(row.recommendations), "confidence": row.confidence,
            "auto_dispatch": row.auto_dispatch, "final_unit": row.final_unit,
            "catalogue_version": row.catalogue_version, "model_version": row.model_version}


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


def keep_final_unit(conn: sa.Connection, ticket_id: int, now: datetime) -> None:
    """Keep on a just-routed ticket the unit an officer gave it before it was routed (the correction is kept with
    the ticket either way; its classification's row did not exist yet to say it)."""
    unit = final_unit(conn, ticket_id)
    if unit:
        conn.execute(sa.update(ticket_routing).where(ticket_routing.c.ticket_id == ticket_id)
                     .values(final_unit=unit, final_at=now))


def final_unit(conn: sa.Connection, ticket_id: int) -> str:
    """The unit a ticket was last given ("" for none yet)."""
    unit = conn.execute(sa.select(routing_corrections.c.unit).where(routing_corrections.c.ticket_id == ticket_id)
                        .order_by(routing_corrections.c.id.desc()).limit(1)).scalar_one_or_none()
    return str(unit or "")


def record_review(conn: sa.Connection, ticket_id: int, *, type_: str = "", zone: str | None = None,
                  district: str = "") -> None:
    """Keep what an officer says the ticket's type, zone ("" = none) and district are: what the figures of
    `GET /api/v1/stats/routing` are measured against."""
    values: dict[str, str] = {}
    if type_:
        values["final_type"] = type_[:16]
    if zone is not None:
        values["final_zone"] = (zone or NO_ZONE)[:32]
    if district:
        values["final_district"] = district[:32]
    if values:
        conn.execute(sa.update(ticket_routing).where(ticket_routing.c.ticket_id == ticket_id).values(**values))


NO_ZONE = "-"  # an officer's "no hot-topic zone"


def figures(conn: sa.Connection, catalogue_in_force: catalogue.Catalogue, since: datetime | None = None
            ) -> dict[str, Any]:
    """How right routing was on the tickets officers decided: the kind of body first (top-1) and among the
    three recommended (top-3), type, zone and district where officers reviewed them, and how often a ticket
    was dispatched without an officer and how often that was right."""
    columns = (ticket_routing.c.recommendations, ticket_routing.c.category, ticket_routing.c.auto_dispatch,
               ticket_routing.c.final_unit, ticket_routing.c.kind, ticket_routing.c.zone, ticket_routing.c.district,
               ticket_routing.c.final_type, ticket_routing.c.final_zone, ticket_routing.c.final_district)
    query = sa.select(*columns)
    if since is not None:
        query = query.where(ticket_routing.c.created_at >= since)
    count = {"classified": 0, "decided": 0, "top1": 0, "top3": 0, "auto": 0, "auto_decided": 0, "auto_right": 0,
             "typed": 0, "type_right": 0, "zoned": 0, "zone_right": 0, "placed": 0, "district_right": 0}
    for row in conn.execute(query):
        count["classified"] += 1
        count["auto"] += bool(row.auto_dispatch)
        if row.final_type:
            count["typed"] += 1
            count["type_right"] += row.final_type == row.kind
        if row.final_zone:
            count["zoned"] += 1
            count["zone_right"] += (row.final_zone if row.final_zone != NO_ZONE else "") == row.zone
        if row.final_district:
            count["placed"] += 1
            count["district_right"] += row.final_district == row.district
        if not row.final_unit:
            continue
        final_kind = catalogue_in_force.kind_of(row.final_unit) or row.final_unit
        kinds = [r.get("kind") or catalogue_in_force.kind_of(r["unit"]) for r in row.recommendations]
        count["decided"] += 1
        count["top1"] += kinds[:1] == [final_kind]
        count["top3"] += final_kind in kinds[:3]
        if row.auto_dispatch:
            count["auto_decided"] += 1
            count["auto_right"] += kinds[:1] == [final_kind]

    def rate(n: int, d: int) -> float | None:
        return round(n / d, 4) if d else None

    return {"classified": count["classified"], "with_final_unit": count["decided"], "top1": count["top1"],
            "top3": count["top3"], "top1_accuracy": rate(count["top1"], count["decided"]),
            "top3_accuracy": rate(count["top3"], count["decided"]),
            "type_accuracy": rate(count["type_right"], count["typed"]),
            "zone_accuracy": rate(count["zone_right"], count["zoned"]),
            "district_accuracy": rate(count["district_right"], count["placed"]),
            "auto_dispatched": count["auto"], "auto_dispatch_rate": rate(count["auto"], count["classified"]),
            "auto_dispatch_precision": rate(count["auto_right"], count["auto_decided"])}
