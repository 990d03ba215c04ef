"""Whether a citizen's reply to "where is it?" gives a place, or something else (more detail, a question, a number)."""

from __future__ import annotations

import re

from language.places.find import find_place
from language.places.gazetteer import Gazetteer
from language.places.normal import normalise_place_text

# A question back ("会不会泄露我的信息？", "在哪个区啊？") rather than an answer.
_QUESTION = re.compile(
    r"[?？]|(?:吗|么|呢|不|没)\s*$|会不会|能不能|是不是|要不要|可不可以|哪个|哪里|哪儿|啥地方|什么地方"
)
# Places precise enough to stand even in a question ("就在花园路139号，这样行吗？").
_PRECISE = frozenset({"road_number", "intersection", "compound", "building", "landmark", "village"})


def is_place_answer(text: str, gazetteer: Gazetteer) -> bool:
    """True when the reply names a place (a road, a junction, a compound, a landmark, a building, a district)."""
    norm = normalise_place_text(text).strip()
    if not norm:
        return False
    kinds = {m.kind for m in find_place(norm, gazetteer).mentions}
    if not kinds:
        return False
    if _QUESTION.search(norm):
        return bool(kinds & _PRECISE)
    return True
