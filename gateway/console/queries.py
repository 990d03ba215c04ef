"""The console's ticket list: filters from the query string, one page of rows, and the CSV export."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from gateway.console.names import name_of
from tickets.lifecycle import OPEN_STATUSES, Status
from tickets.masking import mask_text
from tickets.storage.schema import ticket_deadlines, tickets

PER_PAGE = 25
CSV_MAX_ROWS = 50_000
# Done one way or another: such a ticket is never overdue.
FINISHED = (Status.RESOLVED.value, Status.CLOSED.value, Status.REJECTED.value, Status.MERGED.value,
            Status.WITHDRAWN.value)
OPEN = tuple(sorted(s.value for s in OPEN_STATUSES))  # still being handled
URGENCIES = ("urgent", "normal")  # tickets.urgency, as tickets/opening.py sets it from the triage
CSV_HEADER = ("工单号", "状态", "渠道", "专区", "承办单位", "提交时间", "办理时限", "预计办结", "是否逾期", "问题描述")
# A cell a spreadsheet would run as a formula (CSV injection) starts with one of these, perhaps after blanks.
FORMULA_START = frozenset("=+-@\t\r\n＝＋－＠")


@dataclass(frozen=True, slots=True)
class ListFilter:
    """What the officer asked to see; values outside the known ones are dropped and reported."""

    status: str = ""
    channel: str = ""
    zone: str = ""
    unit: str = ""
    overdue: bool = False
    urgency: str = ""
    open_only: bool = False  # only tickets still being handled
    date_from: date | None = None
    date_to: date | None = None
    q: str = ""
    page: int = 1
    problems: tuple[str, ...] = field(default=(), compare=False)

    @classmethod
    def parse(cls, query: Mapping[str, str]) -> ListFilter:
        """Read the filter from the list page's query string."""
        problems: list[str] = []
        status = query.get("status", "").strip()
        if status and status not in {s.value for s in Status}:
            problems.append("status")
            status = ""
        urgency = query.get("urgency", "").strip()
        if urgency and urgency not in URGENCIES:
            problems.append("urgency")
            urgency = ""
        dates: list[date | None] = []
        for name in ("from", "to"):
            raw = query.get(name, "").strip()
            try:
                dates.append(date.fromisoformat(raw) if raw else None)
            except ValueError:
                problems.append(name)
                dates.append(None)
        raw_page = query.get("page", "1")
        page = int(raw_page) if raw_page.isdigit() and 0 < int(raw_page) < 10**6 else 1
        return cls(status=status, channel=query.get("channel", "").strip()[:16],
                   zone=query.get("zone", "").strip()[:32], unit=query.get("unit", "").strip()[:128],
                   overdue=query.get("overdue", "") in ("1", "on", "true"), urgency=urgency,
                   open_only=query.get("open", "") in ("1", "on", "true"), date_from=dates[0], date_to=dates[1],
                   q=query.get("q", "").strip()[:100], page=page,
                   problems=tuple(problems))

    def query_string(self, **override: Any) -> str:
        """The filter as a query string (for pagination and the CSV link)."""
        values: dict[str, Any] = {"status": self.status, "channel": self.channel, "zone": self.zone,
                                  "unit": self.unit, "overdue": "1" if self.overdue else "",
                                  "urgency": self.urgency, "open": "1" if self.open_only else "",
                                  "from": self.date_from.isoformat() if self.date_from else "",
                                  "to": self.date_to.isoformat() if self.date_to else "", "q": self.q,
                                  "page": str(self.page) if self.page > 1 else ""}
        values.update(override)
        return urlencode({k: v for k, v in values.items() if v})


def deadline() -> sa.ColumnElement[Any]:
    """A ticket's answer deadline: its `ticket_deadlines.due_at` (tickets/deadlines/policy.py), else the date the
    handling unit expected to finish by; NULL when it has neither. The overdue count and the on-time rate both
    read this one."""
    due_at = (sa.select(ticket_deadlines.c.due_at).where(ticket_deadlines.c.ticket_id == tickets.c.id)
              .scalar_subquery())
    return sa.func.coalesce(due_at, tickets.c.expected_at)


def overdue_condition(now: datetime) -> sa.ColumnElement[bool]:
    """Tickets not finished and past their deadline."""
    return sa.and_(deadline() < now, tickets.c.status.not_in(FINISHED))


def open_urgent_condition() -> sa.ColumnElement[bool]:
    """Urgent tickets (a danger now, tickets/opening.py) still being handled: they head the list."""
    return sa.and_(tickets.c.urgency == "urgent", tickets.c.status.in_(OPEN))


def _conditions(flt: ListFilter, now: datetime, tz: ZoneInfo) -> list[sa.ColumnElement[bool]]:
    conditions: list[sa.ColumnElement[bool]] = []
    for column, value in ((tickets.c.status, flt.status), (tickets.c.channel, flt.channel),
                          (tickets.c.zone, flt.zone), (tickets.c.unit, flt.unit)):
        if value:
            conditions.append(column == value)
    if flt.overdue:
        conditions.append(overdue_condition(now))
    if flt.urgency:
        conditions.append(tickets.c.urgency == flt.urgency)
    if flt.open_only:
        conditions.append(tickets.c.status.in_(OPEN))
    if flt.date_from:
        conditions.append(tickets.c.created_at >= datetime.combine(flt.date_from, time(), tz))
    if flt.date_to:  # the whole last day, in the city's time
        conditions.append(tickets.c.created_at < datetime.combine(flt.date_to + timedelta(days=1), time(), tz))
    if flt.q:
        conditions.append(sa.or_(tickets.c.description.contains(flt.q, autoescape=True),
                                 tickets.c.number == flt.q.upper()))
    return conditions


def _select(flt: ListFilter, now: datetime, tz: ZoneInfo) -> sa.Select[Any]:
    overdue = sa.case((overdue_condition(now), True), else_=False).label("overdue")
    urgent_first = sa.case((open_urgent_condition(), 0), else_=1)
    return (sa.select(tickets.c.id, tickets.c.number, tickets.c.status, tickets.c.channel, tickets.c.zone,
                      tickets.c.unit, tickets.c.created_at, tickets.c.expected_at, deadline().label("due_at"),
                      tickets.c.description, tickets.c.urgency, overdue)
            .where(*_conditions(flt, now, tz))
            .order_by(urgent_first, tickets.c.created_at.desc(), tickets.c.id.desc()))


def list_page(conn: sa.Connection, flt: ListFilter, now: datetime, tz: ZoneInfo) -> tuple[list[Any], int]:
    """One page of matching tickets, open urgent ones first and then newest first, and how many match in all."""
    total = conn.execute(sa.select(sa.func.count()).select_from(tickets)
                         .where(*_conditions(flt, now, tz))).scalar_one()
    rows = conn.execute(_select(flt, now, tz).limit(PER_PAGE).offset((flt.page - 1) * PER_PAGE)).all()
    return list(rows), int(total)


def distinct_values(conn: sa.Connection, column: sa.Column[Any]) -> list[str]:
    """The values a filter can take (channels, zones, units in use)."""
    rows = conn.execute(sa.select(column).distinct().where(column != "").order_by(column).limit(200))
    return [str(r[0]) for r in rows]


def csv_lines(conn: sa.Connection, flt: ListFilter, now: datetime, tz: ZoneInfo, *, mask: bool) -> Iterator[str]:
    """The whole filtered list as CSV in Chinese, as the pages name things (UTF-8 with a byte-order mark, so
    spreadsheet programs read the Chinese); phone and ID numbers in descriptions masked when `mask`, and no
    cell a spreadsheet would run as a formula.

    Every column is neutralised, not only the citizen's text: the unit and the zone come from the dispatch
    system and API callers, and a column that is safe today may carry free text tomorrow.
    """
    timezone = str(tz)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    buffer.write("\ufeff")
    writer.writerow(CSV_HEADER)

    def when(moment: datetime | None) -> str:
        return moment.astimezone(tz).strftime("%Y-%m-%d %H:%M") if moment else ""

    for row in conn.execute(_select(flt, now, tz).limit(CSV_MAX_ROWS)):
        cells = (row.number, name_of(timezone, "status", row.status), name_of(timezone, "channel", row.channel),
                 name_of(timezone, "zone", row.zone), row.unit, when(row.created_at), when(row.due_at),
                 when(row.expected_at), name_of(timezone, "yes_no", row.overdue),
                 mask_text(row.description) if mask else row.description)
        writer.writerow([_no_formula(str(cell)) for cell in cells])
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
    yield buffer.getvalue()


def _no_formula(text: str) -> str:
    """A cell a spreadsheet would run as a formula, made plain text by a leading apostrophe (OWASP)."""
    first = text.lstrip(" \u3000")[:1]  # blanks in front do not stop every spreadsheet
    return "'" + text if first and first in FORMULA_START else text
