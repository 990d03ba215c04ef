"""Rendering of citizen-facing texts from `templates/messages/`."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import jinja2

from templates import MESSAGES_DIR
from tickets.masking import mask_text


@lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    """The Jinja2 environment of chat messages (plain text: no HTML escaping)."""
    # Chat texts are plain text, never HTML: escaping would show "&lt;" to the citizen.
    env = jinja2.Environment(  # noqa: S701
        loader=jinja2.FileSystemLoader(MESSAGES_DIR),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
        autoescape=False,  # noqa: S701
        # The templates ship with the package: no stat() of the file on every message to see if it changed.
        auto_reload=False,
    )
    env.filters["clip"] = clip
    # Personal numbers a citizen typed into free text are shown back masked (tickets/masking.py).
    env.filters["mask"] = mask_text
    return env


def clip(text: str, limit: int) -> str:
    """Cut `text` to at most `limit` characters, marking the cut with an ellipsis."""
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: max(0, limit - 1)] + "…"


def render(template: str, **context: Any) -> str:
    """Render `templates/messages/{template}.j2` and trim surrounding blank space."""
    return environment().get_template(f"{template}.j2").render(**context).strip()
