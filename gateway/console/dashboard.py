"""`/console/dashboard`: requests per day by channel and by zone, open versus overdue, satisfaction and on-time."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from gateway.console.auth import SECURITY_HEADERS, SignedIn, console_page
from gateway.console.charts import bars, stacked_bars
from gateway.console.names import name_of
from gateway.console.stats import dashboard
from gateway.deps import State
from tickets.clock import utcnow
from tickets.storage.db import reader

router = APIRouter(prefix="/console", tags=["console"], include_in_schema=False)
DAYS = 14


@router.get("", response_class=HTMLResponse)
def home(officer: SignedIn) -> Response:
    """The console's front door: the ticket list."""
    return RedirectResponse("/console/tickets", status_code=303, headers=SECURITY_HEADERS)


@router.get("/dashboard", response_class=HTMLResponse)
def dashboard_page(state: State, officer: SignedIn) -> Response:
    """The figures of the last two weeks as server-rendered SVG charts."""
    with reader(state.engine).connect() as conn:
        figures = dashboard(conn, utcnow(), state.settings.tz, DAYS)
    days = [f"{d.month}/{d.day}" for d in figures.days]
    tz = state.settings.timezone
    by_channel = {name_of(tz, "channel", channel): counts for channel, counts in figures.by_day_channel.items()}
    rates = [("满意率", figures.satisfaction["satisfaction_rate"]), ("解决率", figures.satisfaction["solved_rate"]),
             ("按时办结率", figures.on_time_rate)]
    charts = [
        stacked_bars(f"近{DAYS}天每日诉求量（按渠道）", days, by_channel),
        bars(f"近{DAYS}天诉求量（按专区）", [(name_of(tz, "zone", zone) if zone else "未分专区", n)
                                        for zone, n in figures.by_zone]),
        bars("在办与逾期工单", [("在办", figures.open_count), ("逾期", figures.overdue_count)]),
        bars(f"近{DAYS}天评价与办结（%）", [(name, round(rate * 100, 1)) for name, rate in rates if rate is not None],
             unit="%"),
    ]
    return console_page(state, "dashboard.html", officer, figures=figures, charts=charts, days=DAYS)
