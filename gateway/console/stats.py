"""The numbers behind the dashboard and the petitions board, counted in the city's time zone.

Rows are bucketed in Python (a day or an hour in the city's zone is not the same SQL on SQLite and PostgreSQL);
only a date and a label column are read, over a bounded period.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from gateway.console.queries import deadline, open_urgent_condition, overdue_condition
from tickets import progress
from tickets.lifecycle import OPEN_STATUSES
from tickets.storage.schema import signatures, tickets

MAX_SIGNATURE_ROWS = 200_000


@dataclass(frozen=True, slots=True)
class Dashboard:
    """The dashboard's figures for the last `days` days."""

    days: list[date]
    by_day_channel: dict[str, list[int]]
    by_zone: list[tuple[str, int]]
    open_count: int
    overdue_count: int
    open_urgent_count: int
    satisfaction: dict[str, Any]
    on_time: tuple[int, int]  # resolved by the deadline, resolved with a deadline (queries.deadline)

    @property
    def on_time_rate(self) -> float | None:
        """Share of resolved tickets (with a deadline) resolved in time."""
        done, total = self.on_time
        return round(done / total, 4) if total else None


def dashboard(conn: sa.Connection, now: datetime, tz: ZoneInfo, days: int = 14) -> Dashboard:
    """Requests per day by channel and by zone, open, overdue and open urgent counts, satisfaction and on-time
    rates."""
    today = now.astimezone(tz).date()
    day_list = [today - timedelta(days=days - 1 - i) for i in range(days)]
    since = datetime.combine(day_list[0], datetime.min.time(), tz)
    per_day: Counter[tuple[date, str]] = Counter()
    zones: Counter[str] = Counter()
    for created_at, channel, zone in conn.execute(
            sa.select(tickets.c.created_at, tickets.c.channel, tickets.c.zone).where(tickets.c.created_at >= since)):
        per_day[(created_at.astimezone(tz).date(), channel)] += 1
        zones[zone] += 1
    channels = sorted({channel for _, channel in per_day})
    by_day_channel = {c: [per_day[(d, c)] for d in day_list] for c in channels}
    open_count = conn.execute(sa.select(sa.func.count()).select_from(tickets).where(
        tickets.c.status.in_([s.value for s in OPEN_STATUSES]))).scalar_one()
    overdue_count = conn.execute(sa.select(sa.func.count()).select_from(tickets)
                                 .where(overdue_condition(now))).scalar_one()
    open_urgent_count = conn.execute(sa.select(sa.func.count()).select_from(tickets)
                                     .where(open_urgent_condition())).scalar_one()
    due = deadline()
    timed = conn.execute(sa.select(
        sa.func.count(),
        sa.func.coalesce(sa.func.sum(sa.case((tickets.c.resolved_at <= due, 1), else_=0)), 0),
    ).where(tickets.c.resolved_at >= since, due.is_not(None))).one()
    return Dashboard(days=day_list, by_day_channel=by_day_channel, by_zone=zones.most_common(12),
                     open_count=int(open_count), overdue_count=int(overdue_count),
                     open_urgent_count=int(open_urgent_count),
                     satisfaction=progress.satisfaction_figures(conn, since),
                     on_time=(int(timed[1]), int(timed[0])))


def signature_buckets(conn: sa.Connection, petition_id: int, tz: ZoneInfo) -> tuple[str, list[tuple[str, int]]]:
    """Counted signatures per hour (a petition under three days old) or per day: ("hour"|"day", buckets).

    Every bucket from the first signature to the last is present, empty ones with 0, so the line is true to time.
    """
    stamps = [row[0].astimezone(tz) for row in conn.execute(
        sa.select(signatures.c.created_at).where(signatures.c.petition_id == petition_id,
                                                 signatures.c.status == "signed", signatures.c.flagged.is_(False))
        .order_by(signatures.c.created_at).limit(MAX_SIGNATURE_ROWS))]
    if not stamps:
        return "day", []
    hourly = stamps[-1] - stamps[0] < timedelta(days=3)
    step = timedelta(hours=1) if hourly else timedelta(days=1)

    def floor(moment: datetime) -> datetime:
        return moment.replace(minute=0, second=0, microsecond=0) if hourly else \
            moment.replace(hour=0, minute=0, second=0, microsecond=0)

    counts = Counter(floor(s) for s in stamps)
    buckets: list[tuple[str, int]] = []
    moment, last = floor(stamps[0]), floor(stamps[-1])
    while moment <= last:
        label = f"{moment.month}/{moment.day} {moment:%H}:00" if hourly else f"{moment.month}/{moment.day}"
        buckets.append((label, counts[moment]))
        moment = (moment + step).astimezone(tz)  # wall-clock steps stay on the hour across offset changes
        moment = floor(moment)
    return ("hour" if hourly else "day"), buckets
