"""The everyday words of written Chinese, with how common each is: jieba's dictionary (about 350,000 words).

Used to tell a homophone written by mistake (井概, 然气) from a real word that happens to sound like a term
(到底 sounds like 倒地): see language/lexicon.py.
"""

from __future__ import annotations

from functools import lru_cache
from importlib.resources import files


@lru_cache(maxsize=1)
def frequencies() -> dict[str, int]:
    """Word -> frequency, for the words of two to four characters."""
    found: dict[str, int] = {}
    with (files("jieba") / "dict.txt").open(encoding="utf-8") as handle:
        for line in handle:
            word, _, rest = line.partition(" ")
            if 2 <= len(word) <= 4:
                found[word] = int(rest.split(" ", 1)[0])
    return found
