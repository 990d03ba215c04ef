"""A phonetic key per character, so that what speech recognition or a typo wrote as a homophone still
matches: 井概 reads as 井盖, 然气 as 燃气, 电提 as 电梯, 无业 as 物业, 派出锁 as 派出所.

Each Chinese character maps to one private-use character standing for its first toneless reading in
pypinyin's dictionary; retroflex and flat initials (zh/z, ch/c, sh/s) and -ing/-in, -eng/-en are folded
together, as recognisers and many accents confuse them. The key has the text's length, so a match in
the key is a match at the same place in the text. Other characters keep themselves.
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache

from pypinyin.pinyin_dict import pinyin_dict

_PRIVATE_USE = 0xE000


def _fold(reading: str) -> str:
    plain = "".join(c for c in unicodedata.normalize("NFD", reading) if not unicodedata.combining(c))
    plain = plain.replace("ü", "v")
    for retroflex, flat in (("zh", "z"), ("ch", "c"), ("sh", "s")):
        if plain.startswith(retroflex):
            plain = flat + plain[2:]
    if plain.endswith(("ing", "eng")):
        plain = plain[:-1]
    return plain


@lru_cache(maxsize=1)
def _table() -> dict[int, str]:
    syllables: dict[str, str] = {}
    table: dict[int, str] = {}
    for codepoint, readings in pinyin_dict.items():
        syllable = _fold(readings.split(",")[0])
        if syllable not in syllables:
            syllables[syllable] = chr(_PRIVATE_USE + len(syllables))
        table[codepoint] = syllables[syllable]
    return table


def key(text: str) -> str:
    """The phonetic key of `text`: one character per character of `text`."""
    return text.translate(_table())
