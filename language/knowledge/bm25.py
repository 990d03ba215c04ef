"""A small Okapi BM25 index over term lists, scored term by term from precomputed weights.

The base has a few hundred short documents: a dictionary of postings with each term's weight in each
document worked out once answers a query of a few dozen terms in tens of microseconds, where a sparse
matrix library spends more than that on its call overhead (benchmarks/knowledge_accuracy.py --compare).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence


class BM25:
    """Okapi BM25 (Robertson-Sparck Jones idf, floored at a small positive value) over `docs`."""

    def __init__(self, docs: Sequence[Sequence[str]], k1: float = 1.2, b: float = 0.75) -> None:
        self.size = len(docs)
        lengths = [len(doc) for doc in docs]
        average = sum(lengths) / max(1, self.size)
        df: Counter[str] = Counter()
        for doc in docs:
            df.update(set(doc))
        self.idf = {term: self._idf(n) for term, n in df.items()}
        # The weight of a term nobody indexed: what it would have in one document, the rarest there is.
        self.unseen_idf = self._idf(0)
        postings: dict[str, list[tuple[int, float]]] = {}
        for i, doc in enumerate(docs):
            norm = k1 * (1 - b + b * lengths[i] / average) if average else k1
            for term, tf in Counter(doc).items():
                weight = self.idf[term] * tf * (k1 + 1) / (tf + norm)
                postings.setdefault(term, []).append((i, weight))
        self.postings: dict[str, tuple[tuple[int, float], ...]] = {t: tuple(p) for t, p in postings.items()}

    def _idf(self, n: int) -> float:
        return max(0.05, math.log(1 + (self.size - n + 0.5) / (n + 0.5)))

    def scores(self, query: Mapping[str, float]) -> dict[int, float]:
        """Each matching document's score for a query given as {term: weight}."""
        acc: dict[int, float] = {}
        get = acc.get
        for term, qw in query.items():
            for doc, weight in self.postings.get(term, ()):
                acc[doc] = get(doc, 0.0) + qw * weight
        return acc
