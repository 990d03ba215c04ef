"""The console's Chinese names of stored values for what is not a page (the CSV export), read from the same
macros the pages use (templates/pages/console/_names.html, and the status names of templates/messages/_labels.j2)."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from gateway.pages import environment


@lru_cache(maxsize=4)
def _macros(timezone: str) -> tuple[Any, Any]:
    env = environment(timezone)
    return env.get_template("console/_names.html").module, env.get_template("_labels.j2").module


def name_of(timezone: str, kind: str, value: str) -> str:
    """The Chinese name of `value` by macro `kind` ("status" or a macro of _names.html), as plain text."""
    names, labels = _macros(timezone)
    macro = labels.status_label if kind == "status" else getattr(names, kind)
    return str(macro(value).unescape()).strip()  # a macro of an autoescaped template returns Markup
