"""Similar-complaint clusters (未诉先办): independent tickets about the same problem at the same place.

Two tickets belong together when they are one matter (language/routing/duplicates.py): the same place (a
compound, junction, landmark, road and number the gazetteer found in both; within a radius when both have
coordinates) and the same problem (the objects they name, or the kind of body both were routed to when they
name the place exactly), the newer opened within a time window of the older; never one without the other.
Each member keeps why. Only a bounded window of recent open tickets is compared.

A periodic sweep puts each new ticket into the cluster of its best match (starting one when that match
has none) and raises an early warning per size level, like a petition's. Officers merge a cluster into
one primary ticket; every reporter of a merged ticket then hears the primary's progress.
"""

from __future__ import annotations

import math
import time
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any, NamedTuple

import sqlalchemy as sa

from language.routing.duplicates import Matter, Verdict, same_matter
from language.routing.problem import objects_of
from tickets import places, progress, repository, warnings
from tickets.errors import InvalidTransition, NotFound
from tickets.lifecycle import OPEN_STATUSES, Status, can_move
from tickets.opening import ROUTING_WAIT
from tickets.progress import StatusUpdate
from tickets.settings import Settings
from tickets.storage import fastsql
from tickets.storage.db import is_postgres
from tickets.storage.schema import cluster_members, clusters, ticket_routing, tickets

WARNING_KIND = "cluster"
OPEN, MERGED = "open", "merged"
EARTH_RADIUS_M = 6_371_000.0
_OPEN = [s.value for s in OPEN_STATUSES]


@dataclass(frozen=True, slots=True)
class ClusterRule:
    """The thresholds, all configurable (CLUSTER_* settings)."""

    radius_m: float = 300.0
    window_hours: int = 72
    recent_limit: int = 300  # open tickets compared at most
    warning_sizes: tuple[int, ...] = (3, 5, 10)  # tickets in a cluster per warning level


def rule_for(settings: Settings) -> ClusterRule:
    """The thresholds the settings give (CLUSTER_SIMILARITY, CLUSTER_RADIUS_M ...)."""
    return ClusterRule(settings.cluster_radius_m, settings.cluster_window_hours, settings.cluster_recent_limit,
                       tuple(settings.cluster_warning_sizes))


@dataclass(frozen=True, slots=True)
class Probe:
    """What is compared of a ticket (or of a draft not filed yet)."""

    description: str
    zone: str = ""
    latitude: float | None = None
    longitude: float | None = None
    place: str = ""
    keys: frozenset[str] = frozenset()  # place keys (language/places)
    kind: str = ""  # the kind of body it was routed to ("" for a draft not classified yet)


@dataclass(frozen=True, slots=True)
class Match:
    """A recent open ticket similar to a probe."""

    ticket_id: int
    number: str
    description: str
    status: Status
    place: str
    score: float
    distance_m: float | None
    citizen_id: int | None
    cluster_id: int | None = None
    why: tuple[str, ...] = ()
    created_at: datetime | None = None


def haversine_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in metres."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(h)))


def _place(row: Any) -> str:
    return str(row.address or row.location_label or "")


@lru_cache(maxsize=8192)
def _objects(text: str) -> tuple[str, ...]:
    # A ticket's description never changes: its objects are found once per process, not on every comparison.
    return tuple(objects_of(text))


def matter_of(probe: Probe, at: datetime) -> Matter:
    """What duplicate matching reads of a probe."""
    return Matter(probe.keys, _objects(probe.description), probe.kind, at, probe.latitude, probe.longitude,
                  text=f"{probe.place} {probe.description}")


def _keys_of(row: Any) -> frozenset[str]:
    """A ticket row's place keys: those its routing kept, or for one not routed yet (tickets/opening.py
    `route_later`) the same keys read from its words."""
    if row.place_keys is not None:
        return frozenset(row.place_keys)
    return _place_keys(row.address or "", row.description, row.location_label or "", row.latitude, row.longitude)


@lru_cache(maxsize=8192)
def _place_keys(address: str, description: str, label: str, latitude: float | None, longitude: float | None
                ) -> frozenset[str]:
    # As tickets/routing/store.py keeps them; read once per process, as a ticket's words never change.
    found = places.place_of(f"{address} {description}", label=label, latitude=latitude, longitude=longitude)
    return frozenset(sorted(found.keys)[:20])


def _compare(probe: Matter, row: Any, rule: ClusterRule) -> tuple[Verdict, float | None]:
    """The verdict on the probe and a candidate row, and their distance when both have coordinates."""
    other = Matter(_keys_of(row), _objects(row.description), row.category or "", row.created_at,
                   row.latitude, row.longitude, text=f"{_place(row)} {row.description}")
    distance = None
    if None not in (probe.latitude, probe.longitude, row.latitude, row.longitude):
        distance = haversine_m(probe.latitude, probe.longitude, row.latitude, row.longitude)  # type: ignore[arg-type]
    return same_matter(probe, other, window_hours=rule.window_hours), distance


def find_similar(conn: sa.Connection, probe: Probe, rule: ClusterRule, now: datetime, *,
                 before_id: int | None = None, exclude_citizen: int | None = None,
                 limit: int | None = None, fresh_within_s: float = 0.0) -> list[Match]:
    """Recent open tickets similar to the probe, best first (tickets of `exclude_citizen` left out); at most
    `limit` (default the rule's `recent_limit`) of the newest are compared, found among the `limit * SCAN_FACTOR`
    tickets opened last.

    `fresh_within_s` > 0 lets this process reuse the candidate rows it read that recently (the chat's offer
    runs while a citizen waits: a ticket opened in the last seconds is not offered, which is fine for a hint).
    """
    rows = _candidates(conn, rule, now, before_id, limit or rule.recent_limit, fresh_within_s)
    matter = matter_of(probe, now)
    found: list[Match] = []
    objects = set(matter.objects)
    for row in rows:
        if exclude_citizen is not None and row.citizen_id == exclude_citizen:
            continue
        if objects and (theirs := _objects(row.description)) and not objects.intersection(theirs):
            continue  # both say what is wrong, and not the same thing: never the same matter (same_problem)
        verdict, distance = _compare(matter, row, rule)
        if verdict.same:
            score = 1.0 if verdict.why[-1].startswith("同一问题") else 0.8
            found.append(Match(row.id, row.number, row.description, Status(row.status), _place(row), score,
                               distance, row.citizen_id, row.cluster_id, verdict.why, row.created_at))
    found.sort(key=lambda m: (-m.score, m.distance_m if m.distance_m is not None else math.inf, -m.ticket_id))
    return found


_Cached = tuple[float, tuple[Any, ...], list["_Candidate"]]  # when read in full, for which query, the rows
_RECENT: weakref.WeakKeyDictionary[sa.Engine, _Cached] = weakref.WeakKeyDictionary()


class _Candidate(NamedTuple):
    id: int
    number: str
    description: str
    status: str
    zone: str
    latitude: float | None
    longitude: float | None
    address: str
    location_label: str
    citizen_id: int | None
    cluster_id: int | None
    created_at: datetime
    category: str
    place_keys: Any


# The chat's offer runs on the webhook's path: its statement goes through the driver (tickets/storage/fastsql.py).
# It reads the newest tickets by id (the primary key, in the order they were opened), at most SCAN_FACTOR times
# the candidates wanted, and keeps the open ones of the window. Filtering inside that read would let the planner
# take the (status, created_at) index instead, as SQLite always does (it keeps no statistics unless ANALYZE runs)
# and PostgreSQL does before its first analyze: every open ticket of the window read and sorted on each message,
# 1.4-3 ms per read with 10,000 of them and 30 ms for a full one, growing with the city's backlog
# (docs/performance.md). A subquery with its own LIMIT is neither flattened nor filtered from outside.
SCAN_FACTOR = 10
_OPEN_LIST = ", ".join(f"'{s}'" for s in _OPEN)  # constants of tickets/lifecycle.py
_NEWER_SQL = (
    "SELECT t.id, t.number, t.description, t.status, t.zone, t.latitude, t.longitude, t.address, t.location_label,"  # noqa: S608
    " t.citizen_id, m.cluster_id, t.created_at, r.category, r.place_keys FROM ("
    "SELECT id, number, description, status, zone, latitude, longitude, address, location_label, citizen_id,"
    " created_at FROM tickets WHERE id > ? AND id < ? ORDER BY id DESC LIMIT ?) t"
    " LEFT JOIN cluster_members m ON m.ticket_id = t.id LEFT JOIN ticket_routing r ON r.ticket_id = t.id"
    f" WHERE t.status IN ({_OPEN_LIST}) AND t.created_at >= ? AND t.created_at <= ?"
    " ORDER BY t.id DESC LIMIT ?")
_NEWER = fastsql.Sql(_NEWER_SQL)


def _candidates(conn: sa.Connection, rule: ClusterRule, now: datetime, before_id: int | None, limit: int,
                fresh_within_s: float) -> list[_Candidate]:
    key = (rule.window_hours, before_id, limit)
    cached = _RECENT.get(conn.engine) if fresh_within_s > 0 else None
    fresh = cached is not None and cached[1] == key and time.monotonic() - cached[0] < fresh_within_s
    known = cached[2] if cached is not None and fresh else []
    pg = is_postgres(conn)
    since = fastsql.bind_time(pg, now - timedelta(hours=rule.window_hours))
    rows = [_candidate(pg, r) for r in fastsql.fetch(conn, _NEWER, (
        known[0].id if known else 0, before_id if before_id is not None else 2**62, limit * SCAN_FACTOR,
        since, fastsql.bind_time(pg, now), limit))]
    rows = (rows + known)[:limit]  # the tickets opened since the last full read, then that read
    if fresh_within_s > 0:
        _RECENT[conn.engine] = (cached[0] if cached is not None and fresh else time.monotonic(), key, rows)
    return rows


def _candidate(pg: bool, row: Any) -> _Candidate:
    """A row as Core would read it (driver values converted: tickets/storage/fastsql.py)."""
    values = list(row)
    values[11] = fastsql.read_time(values[11])
    values[12] = values[12] or ""
    values[13] = None if values[13] is None else fastsql.read_json(pg, values[13]) or []  # None: not routed yet
    return _Candidate(*values)


def assign(conn: sa.Connection, ticket_id: int, rule: ClusterRule, now: datetime) -> int | None:
    """Put the ticket into the cluster of its best match (once); returns the cluster id, or None."""
    if conn.execute(sa.select(cluster_members.c.ticket_id).where(cluster_members.c.ticket_id == ticket_id)).first():
        return None
    row = conn.execute(sa.select(tickets, ticket_routing.c.category, ticket_routing.c.place_keys)
                       .outerjoin(ticket_routing, ticket_routing.c.ticket_id == tickets.c.id)
                       .where(tickets.c.id == ticket_id)).one()
    probe = Probe(row.description, row.zone, row.latitude, row.longitude, _place(row), _keys_of(row),
                  row.category or "")
    matches = find_similar(conn, probe, rule, row.created_at, before_id=ticket_id)
    if not matches:
        conn.execute(sa.insert(cluster_members).values(ticket_id=ticket_id, checked_at=now))
        return None
    best = matches[0]
    cluster_id = best.cluster_id
    if cluster_id is None:
        cluster_id = int(conn.execute(sa.insert(clusters).values(
            zone=row.zone or "", size=0, status=OPEN, created_at=now, updated_at=now).returning(clusters.c.id)
        ).scalar_one())
        moved = conn.execute(sa.update(cluster_members).where(cluster_members.c.ticket_id == best.ticket_id)
                             .values(cluster_id=cluster_id, score=1.0))
        if not moved.rowcount:
            conn.execute(sa.insert(cluster_members).values(ticket_id=best.ticket_id, cluster_id=cluster_id,
                                                           score=1.0, checked_at=now))
    conn.execute(sa.insert(cluster_members).values(ticket_id=ticket_id, cluster_id=cluster_id,
                                                   score=round(best.score, 4), reasons=list(best.why),
                                                   checked_at=now))
    _grown(conn, cluster_id, rule, now)
    return cluster_id


def _grown(conn: sa.Connection, cluster_id: int, rule: ClusterRule, now: datetime) -> None:
    """Recount the cluster and raise the warning levels its size reaches (each level once)."""
    members = conn.execute(sa.select(cluster_members.c.ticket_id).where(cluster_members.c.cluster_id == cluster_id)
                           .order_by(cluster_members.c.ticket_id)).scalars().all()
    size = len(members)
    zone = conn.execute(sa.update(clusters).where(clusters.c.id == cluster_id)
                        .values(size=size, updated_at=now).returning(clusters.c.zone)).scalar_one()
    for level in range(1, warnings.level_for(size, rule.warning_sizes) + 1):
        figures = {"tickets": size, "threshold": rule.warning_sizes[level - 1], "ticket_ids": list(members)}
        warnings.raise_warning(conn, subject=f"cluster:{cluster_id}", petition_id=None, kind=WARNING_KIND,
                               level=level, zone=zone, figures=figures, now=now)


def sweep(conn: sa.Connection, rule: ClusterRule, now: datetime, *, limit: int = 200) -> int:
    """Compare the open tickets of the window not compared yet, oldest first; returns how many."""
    # A ticket routed after its commit (tickets/opening.py) waits for its routing (the matter and the place it
    # is compared by), unless that takes longer than ROUTING_WAIT (the workers are down: compared without it).
    routed = sa.or_(ticket_routing.c.ticket_id.is_not(None), tickets.c.created_at < now - ROUTING_WAIT)
    pending = conn.execute(
        sa.select(tickets.c.id).outerjoin(cluster_members, cluster_members.c.ticket_id == tickets.c.id)
        .outerjoin(ticket_routing, ticket_routing.c.ticket_id == tickets.c.id)
        .where(cluster_members.c.ticket_id.is_(None), tickets.c.status.in_(_OPEN),
               tickets.c.created_at >= now - timedelta(hours=rule.window_hours), routed)
        .order_by(tickets.c.id).limit(limit)
    ).scalars().all()
    for ticket_id in pending:
        assign(conn, ticket_id, rule, now)
    return len(pending)


@dataclass(frozen=True, slots=True)
class Member:
    """A ticket of a cluster."""

    ticket_id: int
    number: str
    status: Status
    description: str
    score: float
    merged_into: int | None
    created_at: datetime
    reasons: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Cluster:
    """A cluster with its tickets, oldest first."""

    id: int
    zone: str
    size: int
    status: str
    primary_ticket_id: int | None
    created_at: datetime
    updated_at: datetime
    members: list[Member] = field(default_factory=list)


def _members(conn: sa.Connection, cluster_ids: Sequence[int]) -> dict[int, list[Member]]:
    found: dict[int, list[Member]] = {i: [] for i in cluster_ids}
    rows = conn.execute(
        sa.select(cluster_members.c.cluster_id, cluster_members.c.score, cluster_members.c.merged_into, tickets.c.id,
                  tickets.c.number, tickets.c.status, tickets.c.description, tickets.c.created_at,
                  cluster_members.c.reasons)
        .join(tickets, tickets.c.id == cluster_members.c.ticket_id)
        .where(cluster_members.c.cluster_id.in_(list(cluster_ids))).order_by(tickets.c.id))
    for r in rows:
        found[r.cluster_id].append(Member(r.id, r.number, Status(r.status), r.description, r.score, r.merged_into,
                                          r.created_at, tuple(r.reasons or ())))
    return found


def list_clusters(conn: sa.Connection, *, status: str | None = None, min_size: int = 2, limit: int = 50,
                  offset: int = 0) -> tuple[list[Cluster], int]:
    """Clusters, the most recently grown first, with the total count of the filter."""
    where = [clusters.c.size >= min_size] + ([clusters.c.status == status] if status else [])
    rows = conn.execute(sa.select(clusters).where(*where).order_by(clusters.c.updated_at.desc(), clusters.c.id.desc())
                        .limit(limit).offset(offset)).all()
    total = conn.execute(sa.select(sa.func.count()).select_from(clusters).where(*where)).scalar_one()
    members = _members(conn, [r.id for r in rows])
    return [Cluster(r.id, r.zone, r.size, r.status, r.primary_ticket_id, r.created_at, r.updated_at, members[r.id])
            for r in rows], int(total)


def get(conn: sa.Connection, cluster_id: int) -> Cluster:
    """A cluster by id; raises NotFound."""
    r = conn.execute(sa.select(clusters).where(clusters.c.id == cluster_id)).one_or_none()
    if r is None:
        raise NotFound(f"cluster {cluster_id}")
    return Cluster(r.id, r.zone, r.size, r.status, r.primary_ticket_id, r.created_at, r.updated_at,
                   _members(conn, [r.id])[r.id])


def merge(conn: sa.Connection, cluster_id: int, *, actor: str, note: Callable[[str], str], now: datetime,
          primary_ticket_id: int | None = None) -> Cluster:
    """Merge the cluster's open tickets into one primary ticket (the given one, else the oldest open one).

    The others become `merged` through the progress path (their reporters are told `note(primary number)`),
    and their reporters and followers hear the primary's progress from then on. Merging again takes in
    tickets that joined since. Raises NotFound, or InvalidTransition when the primary cannot lead.
    """
    conn.execute(sa.select(clusters.c.id).where(clusters.c.id == cluster_id).with_for_update())
    cluster = get(conn, cluster_id)
    primary_id = primary_ticket_id or cluster.primary_ticket_id or next(
        (m.ticket_id for m in cluster.members if m.status in OPEN_STATUSES), None)
    if primary_id is None or primary_id not in {m.ticket_id for m in cluster.members}:
        raise InvalidTransition("primary ticket is not an open member of the cluster", "merged")
    if cluster.primary_ticket_id not in (None, primary_id):
        raise InvalidTransition(f"cluster already merged into ticket {cluster.primary_ticket_id}", "merged")
    primary = repository.get_ticket(conn, primary_id)
    if primary.status not in OPEN_STATUSES:
        raise InvalidTransition(primary.status.value, "primary of a merge")
    told = note(primary.number)
    for member in cluster.members:
        if member.ticket_id == primary_id or not can_move(member.status, Status.MERGED):
            continue
        progress.apply_update(conn, member.ticket_id, StatusUpdate(Status.MERGED, actor=actor[:64], note=told), now)
        conn.execute(sa.update(cluster_members).where(cluster_members.c.ticket_id == member.ticket_id)
                     .values(merged_into=primary_id))
    conn.execute(sa.update(clusters).where(clusters.c.id == cluster_id)
                 .values(status=MERGED, primary_ticket_id=primary_id, updated_at=now))
    return get(conn, cluster_id)
