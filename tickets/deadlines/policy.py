"""Answer deadlines (办理时限): when a ticket is due, reminders before it, escalation after it.

Rules per (zone, type), "" meaning any, come from catalogue/deadlines.toml; time is counted on the
working-day calendar (tickets/deadlines/workdays.py). Each ticket's deadline is a row of `ticket_deadlines`;
a periodic sweep writes one `deadline.event` outbox row for the reminder and one for the escalation
(stamped on the row, so each goes out once per due time).
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from tickets import outbox
from tickets.deadlines.workdays import WorkCalendar, load_calendar
from tickets.errors import ConfigurationError
from tickets.lifecycle import OPEN_STATUSES
from tickets.settings import CATALOGUE_DIR, Settings
from tickets.storage import fastsql
from tickets.storage.schema import metadata, ticket_deadlines, tickets

REMINDER, ESCALATION = "deadline.reminder", "deadline.overdue"
CATALOGUE = CATALOGUE_DIR
_OPEN = [s.value for s in OPEN_STATUSES]


@dataclass(frozen=True, slots=True)
class Rule:
    """How long tickets of a zone and type have: working hours or working days."""

    zone: str = ""
    type: str = ""
    hours: float | None = None
    working_days: int | None = None
    remind_before_minutes: int = 60

    @property
    def name(self) -> str:
        """The rule's key as stored on a deadline ("zone/type", "" = any)."""
        return f"{self.zone}/{self.type}"


@dataclass(frozen=True, slots=True)
class Policy:
    """The rules and the calendar they count on."""

    rules: tuple[Rule, ...]
    calendar: WorkCalendar

    def rule_for(self, zone: str, ticket_type: str) -> Rule:
        """The most specific rule: zone and type, zone, type, then the default."""
        for want in ((zone, ticket_type), (zone, ""), ("", ticket_type), ("", "")):
            for rule in self.rules:
                if (rule.zone, rule.type) == want:
                    return rule
        raise ConfigurationError("deadline rules need a default (zone = \"\", type = \"\")")

    def due(self, rule: Rule, opened_at: datetime) -> datetime:
        """When a ticket opened at `opened_at` under `rule` is due."""
        if rule.hours is not None:
            return self.calendar.add_working_hours(opened_at, rule.hours)
        return self.calendar.add_working_days(opened_at, rule.working_days or 0)


def _rule(entry: dict[str, Any]) -> Rule:
    hours, days = entry.get("hours"), entry.get("working_days")
    if (hours is None) == (days is None):
        raise ConfigurationError(f"deadline rule {entry!r}: give either hours or working_days")
    if (hours is not None and not (isinstance(hours, int | float) and 0 < hours <= 2000)) or \
            (days is not None and not (isinstance(days, int) and 0 < days <= 365)):
        raise ConfigurationError(f"deadline rule {entry!r}: hours or working_days out of range")
    remind = entry.get("remind_before_minutes", 60)
    if not isinstance(remind, int) or remind < 0:
        raise ConfigurationError(f"deadline rule {entry!r}: remind_before_minutes must be a whole number >= 0")
    return Rule(str(entry.get("zone", "")), str(entry.get("type", "")),
                float(hours) if hours is not None else None, days, remind)


def load_policy(tz: ZoneInfo, rules_file: Path | None = None, holidays_dir: Path | None = None) -> Policy:
    """Rules and calendar from their files (the catalogue's by default); raises ConfigurationError."""
    path = rules_file or CATALOGUE / "deadlines.toml"
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigurationError(f"deadline rules {path}: {exc}") from exc
    rules = tuple(_rule(entry) for entry in data.get("rule", []))
    if len({(r.zone, r.type) for r in rules}) != len(rules):
        raise ConfigurationError(f"deadline rules {path}: a zone and type appear twice")
    hours = data.get("calendar", {}).get("business_hours")
    if hours is not None and (not isinstance(hours, list) or len(hours) != 2):
        raise ConfigurationError("business_hours must read [\"09:00\", \"18:00\"]")
    folder = holidays_dir or CATALOGUE / "holidays"
    calendar = load_calendar(tz, folder.glob("*.toml"), (str(hours[0]), str(hours[1])) if hours else None)
    policy = Policy(rules, calendar)
    policy.rule_for("", "")  # a default must exist
    return policy


@cache
def default_policy(timezone: str = "Asia/Shanghai", rules_file: Path | None = None,
                   holidays_dir: Path | None = None) -> Policy:
    """The rules and calendar of these files (the catalogue's by default), read once per process."""
    return load_policy(ZoneInfo(timezone), rules_file, holidays_dir)


def policy_for(settings: Settings) -> Policy:
    """The policy the settings name (DEADLINE_RULES_FILE, HOLIDAYS_DIR, TIMEZONE)."""
    return default_policy(settings.timezone, settings.deadline_rules_file, settings.holidays_dir)


def ticket_type(conn: sa.Connection, ticket_id: int) -> str:
    """The ticket's type from the routing classification when there is one, else ""."""
    routing = metadata.tables.get("ticket_routing")  # written by the routing of issue 7, when present
    if routing is None or "kind" not in routing.c:
        return ""
    found = conn.execute(sa.select(routing.c.kind).where(routing.c.ticket_id == ticket_id)).scalar_one_or_none()
    return str(found or "")


# Every new ticket gets its deadline in the opening transaction: the statements are written once (fastsql.py).
_OPENED = fastsql.Sql("SELECT zone, created_at FROM tickets WHERE id = ?")
_ASSIGN = fastsql.Sql(
    "INSERT INTO ticket_deadlines (ticket_id, rule, due_at, remind_at, created_at) VALUES (?, ?, ?, ?, ?)"
    " ON CONFLICT (ticket_id) DO UPDATE SET rule = excluded.rule, due_at = excluded.due_at,"
    " remind_at = excluded.remind_at, reminded_at = NULL, escalated_at = NULL"
    " WHERE ticket_deadlines.due_at <> excluded.due_at"
)


def assign(conn: sa.Connection, ticket_id: int, policy: Policy, now: datetime, *, ticket_type_: str | None = None,
           urgent_hours: float | None = None) -> datetime:
    """Give the ticket its due time from its zone and type as they stand; a new due time re-arms reminders.

    An urgent ticket (a danger now) is due `urgent_hours` clock hours after it was opened, nights and
    holidays included, reminded at half that time: tickets/safety.py has the hours per zone.
    """
    pg = fastsql.is_postgres(conn)
    [(zone, created_at)] = fastsql.fetch(conn, _OPENED, (ticket_id,))
    opened = fastsql.read_time(created_at)
    assert opened is not None  # tickets.created_at is NOT NULL
    if urgent_hours is not None:
        rule_name = f"{zone}/urgent"
        due = opened + timedelta(hours=urgent_hours)
        remind = opened + timedelta(hours=urgent_hours / 2)
    else:
        kind = ticket_type_ if ticket_type_ is not None else ticket_type(conn, ticket_id)
        rule = policy.rule_for(zone, kind)
        rule_name = rule.name
        due = policy.due(rule, opened)
        remind = max(opened, due - timedelta(minutes=rule.remind_before_minutes))
    fastsql.run(conn, _ASSIGN, (ticket_id, rule_name[:80], fastsql.bind_time(pg, due), fastsql.bind_time(pg, remind),
                                fastsql.bind_time(pg, now)))
    return due


def assign_missing(conn: sa.Connection, policy: Policy, now: datetime, *, limit: int = 500) -> int:
    """Give open tickets without a deadline one (tickets opened before deadlines existed)."""
    missing = conn.execute(
        sa.select(tickets.c.id).outerjoin(ticket_deadlines, ticket_deadlines.c.ticket_id == tickets.c.id)
        .where(ticket_deadlines.c.ticket_id.is_(None), tickets.c.status.in_(_OPEN)).order_by(tickets.c.id)
        .limit(limit)
    ).scalars().all()
    for ticket_id in missing:
        assign(conn, ticket_id, policy, now)
    return len(missing)


def _event(row: Any, event: str, now: datetime) -> dict[str, Any]:
    return {"event": event, "ticket_id": row.id, "number": row.number, "zone": row.zone, "status": row.status,
            "unit": row.unit, "rule": row.rule, "due_at": row.due_at.isoformat(), "sent_at": now.isoformat()}


def sweep(conn: sa.Connection, now: datetime, *, limit: int = 500) -> tuple[int, int]:
    """Write the reminders and escalations due by `now`, each once; returns (reminded, escalated)."""
    columns = (tickets.c.id, tickets.c.number, tickets.c.zone, tickets.c.status, tickets.c.unit,
               ticket_deadlines.c.rule, ticket_deadlines.c.due_at)
    joined = ticket_deadlines.join(tickets, tickets.c.id == ticket_deadlines.c.ticket_id)
    counts = []
    for event, stamp, due_column in ((REMINDER, ticket_deadlines.c.reminded_at, ticket_deadlines.c.remind_at),
                                     (ESCALATION, ticket_deadlines.c.escalated_at, ticket_deadlines.c.due_at)):
        conditions = [stamp.is_(None), due_column <= now, tickets.c.status.in_(_OPEN)]
        if event == REMINDER:  # a ticket already overdue is escalated, not reminded of
            conditions.append(ticket_deadlines.c.due_at > now)
        rows = conn.execute(sa.select(*columns).select_from(joined).where(*conditions)
                            .order_by(ticket_deadlines.c.ticket_id).limit(limit)).all()
        for row in rows:
            claimed = conn.execute(sa.update(ticket_deadlines).where(
                ticket_deadlines.c.ticket_id == row.id, stamp.is_(None)).values({stamp.key: now}))
            if claimed.rowcount:  # another sweep running at once took it first
                outbox.put(conn, outbox.Topic.DEADLINE, _event(row, event, now), now)
        counts.append(len(rows))
    return counts[0], counts[1]


@dataclass(frozen=True, slots=True)
class Deadline:
    """A ticket's deadline as the API and console show it."""

    ticket_id: int
    number: str
    status: str
    zone: str
    unit: str
    rule: str
    due_at: datetime
    remind_at: datetime
    reminded_at: datetime | None
    escalated_at: datetime | None


DUE_SOON, OVERDUE = "due_soon", "overdue"


def list_deadlines(conn: sa.Connection, state: str, now: datetime, *, limit: int = 50, offset: int = 0
                   ) -> tuple[list[Deadline], int]:
    """Open tickets due soon (past their reminder time) or overdue, soonest due first, with the total."""
    if state == DUE_SOON:
        where = [ticket_deadlines.c.remind_at <= now, ticket_deadlines.c.due_at > now]
    elif state == OVERDUE:
        where = [ticket_deadlines.c.due_at <= now]
    else:
        raise ValueError(f"unknown deadline state {state!r}")
    where.append(tickets.c.status.in_(_OPEN))
    joined = ticket_deadlines.join(tickets, tickets.c.id == ticket_deadlines.c.ticket_id)
    rows = conn.execute(
        sa.select(tickets.c.id, tickets.c.number, tickets.c.status, tickets.c.zone, tickets.c.unit,
                  ticket_deadlines).select_from(joined).where(*where)
        .order_by(ticket_deadlines.c.due_at, tickets.c.id).limit(limit).offset(offset)
    ).all()
    total = conn.execute(sa.select(sa.func.count()).select_from(joined).where(*where)).scalar_one()
    return [Deadline(r.id, r.number, r.status, r.zone, r.unit, r.rule, r.due_at, r.remind_at, r.reminded_at,
                     r.escalated_at) for r in rows], int(total)


def due_of(conn: sa.Connection, ticket_ids: list[int]) -> dict[int, datetime]:
    """The due time of each ticket that has one."""
    if not ticket_ids:
        return {}
    rows = conn.execute(sa.select(ticket_deadlines.c.ticket_id, ticket_deadlines.c.due_at)
                        .where(ticket_deadlines.c.ticket_id.in_(ticket_ids)))
    return {int(r.ticket_id): r.due_at for r in rows}
