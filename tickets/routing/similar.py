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


@dataclass(frozen=True, slots=True)
class PrecedentIndex:
    """Precedents ready to be searched: document frequencies, each one's weight, and which hold each bigram.

    Built once per set of precedents (tickets/routing/store.py keeps it for a while), so a new ticket costs
    its own bigrams and the precedents sharing them, not a pass over all of them.
    """

    precedents: tuple[Precedent, ...]
    df: dict[str, int]
    recurring: int
    own: tuple[float, ...]
    postings: dict[str, tuple[int, ...]]

    def idf(self, gram: str) -> float:
        """The weight of a bigram among these precedents."""
        n = len(self.precedents)
        return math.log((n + 1) / self.df[gram]) + (0.0 if self.recurring == 2 else 1.0)


def index(precedents: Sequence[Precedent]) -> PrecedentIndex:
    """The searchable form of `precedents` (only bigrams that recur count once there are 20 or more)."""
    sets = [bigrams(p.text) for p in precedents]
    df: Counter[str] = Counter()
    for grams in sets:
        df.update(grams)
    recurring = 2 if len(precedents) >= RECURRING_FROM else 1  # with a handful, every bigram is evidence
    kept = {g: n for g, n in df.items() if n >= recurring}
    built = PrecedentIndex(tuple(precedents), kept, recurring, (), {})
    postings: dict[str, list[int]] = {}
    own: list[float] = []
    for i, grams in enumerate(sets):
        counted = [g for g in grams if g in kept]
        own.append(sum(built.idf(g) ** 2 for g in counted))
        for g in counted:
            postings.setdefault(g, []).append(i)
    return PrecedentIndex(built.precedents, kept, recurring, tuple(own), {g: tuple(v) for g, v in postings.items()})


def nearest(text: str, precedents: Sequence[Precedent] | PrecedentIndex, *, k: int = 5,
            floor: float = 0.2) -> list[Neighbour]:
    """The `k` precedents most similar to `text` at or above `floor`, most similar first.

    Only bigrams that recur among the precedents count (a one-off bigram says nothing about where a matter
    goes), weighted by IDF; similarity is the cosine of the two weighted bigram sets.
    """
    found_in = precedents if isinstance(precedents, PrecedentIndex) else index(precedents)
    if not found_in.precedents:
        return []
    query = {g for g in bigrams(text) if g in found_in.df}
    if not query:
        return []
    weights = {g: found_in.idf(g) ** 2 for g in query}
    query_weight = sum(weights.values())
    shared: dict[int, float] = {}
    for gram, weight in weights.items():
        for i in found_in.postings.get(gram, ()):
            shared[i] = shared.get(i, 0.0) + weight
    found: list[Neighbour] = []
    for i, weight in shared.items():
        similarity = weight / math.sqrt(query_weight * found_in.own[i])
        if similarity >= floor:
            found.append(Neighbour(found_in.precedents[i], round(similarity, 4)))
    found.sort(key=lambda nb: (-nb.similarity, -nb.precedent.ticket_id))
    return found[:k]
