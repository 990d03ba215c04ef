"""Normalising what citizens type and what speech recognition writes, before anything reads it."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

import opencc

_TRAILING = "。.!！~～ "
# Speech recognition keeps what people say while they think; none of it carries meaning here.
_FILLERS = re.compile(
    r"(?:那个){2,}|(?:然后){2,}|就是说|[嗯呃啊哦诶呀嘛]+(?=[^\u4e00-\u9fff]|$)|^[嗯呃]+|(?<=[\u4e00-\u9fff])[嗯呃]+")
_SPACES = re.compile(r"[ \t\u3000]+")


def normalise(text: str) -> str:
    """Full-width to half-width, lower case, trailing punctuation off (voice adds a full stop)."""
    return unicodedata.normalize("NFKC", text).strip().rstrip(_TRAILING).strip().lower()


@lru_cache(maxsize=1)
def _simplified() -> dict[int, str]:
    """Traditional characters to simplified ones, character by character (OpenCC's t2s table)."""
    convert = opencc.OpenCC("t2s").convert
    table: dict[int, str] = {}
    for codepoint in range(0x4E00, 0xA000):
        char = chr(codepoint)
        simple = convert(char)
        if simple != char and len(simple) == 1:
            table[codepoint] = simple
    return table


def normalise_for_reading(text: str) -> str:
    """The text as the understanding reads it: NFKC (full-width digits and letters), simplified characters,
    lower case, fillers of speech recognition (那个那个, 就是说, 嗯, 呃) dropped, spaces collapsed."""
    plain = unicodedata.normalize("NFKC", text).translate(_simplified()).lower()
    # Henan's 嘞 is 了 (裂嘞, 着嘞), its 木 is 没 (木有, 木了)
    plain = _FILLERS.sub(" ", plain).replace("嘞", "了").replace("木有", "没有").replace("木了", "没了")
    return _SPACES.sub(" ", plain).strip()
