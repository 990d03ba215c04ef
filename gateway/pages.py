"""Jinja2 rendering of HTML pages (autoescaped), sharing labels with the chat messages, and their security headers.

Every page is sent with a strict Content-Security-Policy: nothing from elsewhere, no scripts at all (the
pages work without JavaScript), the one inline style sheet of `base.html` allowed by a nonce made for
this response, forms only to this site, never framed (also `X-Frame-Options`), no MIME sniffing, and no
Referer: the address of `/t/{code}` and `/j/{token}` is itself the secret that opens the page. The
console sends its own, looser policy (gateway/console/auth.py).
"""

from __future__ import annotations

import secrets
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


def security_headers(style_nonce: str) -> dict[str, str]:
    """The headers of a page whose one inline style sheet carries `style_nonce`."""
    return {
        "Content-Security-Policy": f"default-src 'none'; style-src 'nonce-{style_nonce}'; img-src 'self'; "
                                   "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        "X-Frame-Options": "DENY",
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
    }


def page(template: str, timezone: str, *, status_code: int = 200, **context: Any) -> HTMLResponse:
    """Render `templates/pages/{template}` as an HTML response, with its security headers."""
    nonce = secrets.token_urlsafe(16)
    html = environment(timezone).get_template(template).render(style_nonce=nonce, **context)
    return HTMLResponse(html, status_code=status_code, headers=security_headers(nonce))
