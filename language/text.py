"""Normalising what citizens type and what speech recognition writes, before anything reads it."""

from __future__ import annotations

import unicodedata

_TRAILING = "。.!！~～ "


def normalise(text: str) -> str:
    """Full-width to half-width, lower case, trailing punctuation off (voice adds a full stop)."""
    return unicodedata.normalize("NFKC", text).strip().rstrip(_TRAILING).strip().lower()
