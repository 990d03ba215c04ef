"""Jinja2 rendering of HTML pages (autoescaped), sharing labels with the chat messages."""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

import jinja2
from fastapi.responses import HTMLResponse

from templates import MESSAGES_DIR, PAGES_DIR


@lru_cache(maxsize=4)
def environment(timezone: str) -> jinja2.Environment:
    """The page environment; `local_time` shows a moment in the city's time zone."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader([PAGES_DIR, MESSAGES_DIR]),
        autoescape=jinja2.select_autoescape(default=True, default_for_string=True),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,  # templates ship with the code: no stat per render
    )
    tz = ZoneInfo(timezone)

    def local_time(moment: datetime) -> str:
        local = moment.astimezone(tz)
        return f"{local.year}年{local.month}月{local.day}日 {local:%H:%M}"

    env.filters["local_time"] = local_time
    return env


def page(template: str, timezone: str, *, status_code: int = 200, **context: Any) -> HTMLResponse:
    """Render `templates/pages/{template}` as an HTML response."""
    html = environment(timezone).get_template(template).render(**context)
    return HTMLResponse(html, status_code=status_code)
