"""Similar past tickets by their Chinese text: character bigrams, IDF-weighted cosine, nearest neighbours.

No word segmenter: bigrams of Chinese characters carry most of a short complaint's meaning (路灯, 暖气,
工资) and need no dictionary. IDF is computed over the precedents themselves, so words every ticket uses
(小区, 我们) weigh little.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

_RUNS = re.compile(r"[\u4e00-\u9fff]+|[a-z0-9]+")
# Bigrams so common in requests that they say nothing of the matter.
_STOP = frozenset({"我们", "你们", "他们", "一个", "这个", "那个", "现在", "已经", "没有", "什么", "怎么", "希望",
                   "请问", "麻烦", "谢谢", "问题", "反映", "情况", "一下", "可以", "是否", "小区", "附近"})
RECURRING_FROM = 20  # precedents from which only bigrams seen twice count


@lru_cache(maxsize=16384)
def bigrams(text: str) -> frozenset[str]:
    """The set of character bigrams of the text's Chinese runs (single characters and Latin words kept)."""
    grams: set[str] = set()
    for run in _RUNS.findall(text.lower()):
        if len(run) == 1 or run.isascii():
            grams.add(run)
            continue
        grams.update(run[i:i + 2] for i in range(len(run) - 1))
    return frozenset(grams - _STOP)


@dataclass(frozen=True, slots=True)
class Precedent:
    """A past ticket and the unit it ended with."""

    ticket_id: int
    unit: str
    text: str


@dataclass(frozen=True, slots=True)
class Neighbour:
    """A precedent close to the new text, with its similarity (0..1)."""

    precedent: Precedent
    similarity: float


def nearest(text: str, precedents: Sequence[Precedent], *, k: int = 5, floor: float = 0.2) -> list[Neighbour]:
    """The `k` precedents most similar to `text` at or above `floor`, most similar first.

    Only bigrams that recur among the precedents count (a one-off bigram says nothing about where a matter
    goes), weighted by IDF; similarity is the cosine of the two weighted bigram sets.
    """
    if not precedents:
        return []
    sets = [bigrams(p.text) for p in precedents]
    df: Counter[str] = Counter()
    for grams in sets:
        df.update(grams)
    n = len(precedents)
    recurring = 2 if n >= RECURRING_FROM else 1  # with a handful of precedents, every bigram is evidence
    query = {g for g in bigrams(text) if df[g] >= recurring}
    if not query:
        return []

    def idf(gram: str) -> float:
        return math.log((n + 1) / df[gram]) + (0.0 if recurring == 2 else 1.0)

    query_weight = sum(idf(g) ** 2 for g in query)
    found: list[Neighbour] = []
    for precedent, grams in zip(precedents, sets, strict=True):
        shared = grams & query
        if not shared:
            continue
        own = sum(idf(g) ** 2 for g in grams if df[g] >= recurring)
        similarity = sum(idf(g) ** 2 for g in shared) / math.sqrt(query_weight * own)
        if similarity >= floor:
            found.append(Neighbour(precedent, round(similarity, 4)))
    found.sort(key=lambda nb: (-nb.similarity, -nb.precedent.ticket_id))
    return found[:k]
