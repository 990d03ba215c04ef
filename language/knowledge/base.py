"""The knowledge base: entries indexed once, searched by relevance, and the answer to give (or none)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from language.knowledge.asking import looks_like_question
from language.knowledge.bm25 import BM25
from language.knowledge.entries import Entry, read_entries, read_terms
from language.knowledge.tokens import Tokeniser
from language.text import normalise

# How much each kind of term counts in a query: a whole word the most, a reading the least (it also
# matches words that only sound alike).
TERM_WEIGHTS = {"w": 1.0, "b": 0.6, "p": 0.4}


@dataclass(frozen=True, slots=True)
class Hit:
    """An entry found for a text, with its relevance (higher is better; not bounded)."""

    entry: Entry
    score: float


@dataclass(frozen=True, slots=True)
class Thresholds:
    """When the best entry answers a text well enough."""

    score: float = 14.0      # relevance of the best entry
    coverage: float = 0.2    # share of the text's evidence (idf-weighted) that the best entry contains
    plain_coverage: float = 0.9   # for a text that does not ask (a bare subject: "公积金提取")
    plain_length: int = 10


class KnowledgeBase:
    """The entries, their index and the rules for answering; built by `load_knowledge`."""

    def __init__(self, entries: Sequence[Entry], lexicon: Iterable[Sequence[str]] = (), *, words: bool = True,
                 phonetic: bool = True, unit: str = "entry", thresholds: Thresholds | None = None) -> None:
        if not entries:
            raise ValueError("a knowledge base needs at least one entry")
        self.entries = tuple(entries)
        self.thresholds = thresholds or Thresholds()
        groups = [tuple(group) for group in lexicon]
        self._tokeniser = Tokeniser(groups, words=words, phonetic=phonetic)
        docs: list[list[str]] = []
        owner: list[int] = []
        for i, entry in enumerate(self.entries):
            texts = [entry.title, *entry.questions]
            if unit == "entry":
                docs.append([t for text in texts for t in self._tokeniser.terms(text)])
                owner.append(i)
            else:
                for text in texts:
                    docs.append(self._tokeniser.terms(text))
                    owner.append(i)
        self._owner = owner
        self._index = BM25(docs)
        self._doc_terms = [set(doc) for doc in docs]
        lexicon_terms = [set(self._tokeniser.terms(word)) for group in groups for word in group]
        self._subjects = [self._subject_terms(entry, lexicon_terms) for entry in self.entries]

    def _subject_terms(self, entry: Entry, lexicon_terms: list[set[str]]) -> frozenset[str]:
        """What an entry is about: the terms of its title and of the base's words its questions use.

        A question matching only an entry's way of asking ("归谁管", "在哪办") is not about that entry.
        """
        subject = set(self._tokeniser.terms(entry.title))
        said = {t for text in entry.questions for t in self._tokeniser.terms(text)}
        for terms in lexicon_terms:
            if terms and terms <= said:
                subject |= terms
        # A one-character word ("归", "办") names nothing.
        return frozenset(t for t in subject if not (t.startswith("w:") and len(t) == 3))

    def _query(self, text: str) -> dict[str, float]:
        counts = Counter(self._tokeniser.terms(text))
        return {term: TERM_WEIGHTS[term[0]] * n for term, n in counts.items()}

    def _ranked(self, query: dict[str, float]) -> list[tuple[int, float, int]]:
        """(entry, score, best document) for every matching entry, best first."""
        best: dict[int, tuple[float, int]] = {}
        for doc, score in self._index.scores(query).items():
            entry = self._owner[doc]
            if entry not in best or score > best[entry][0]:
                best[entry] = (score, doc)
        return sorted(((e, s, d) for e, (s, d) in best.items()), key=lambda x: -x[1])

    def search(self, text: str, k: int = 3) -> list[Hit]:
        """The `k` entries most relevant to `text`, best first."""
        ranked = self._ranked(self._query(text))
        return [Hit(self.entries[e], s) for e, s, _ in ranked[:k]]

    def coverage(self, query: dict[str, float], doc: int) -> float:
        """The share of the query's evidence (weight times idf; unseen terms count as the rarest) in `doc`."""
        idf, unseen = self._index.idf, self._index.unseen_idf
        terms = self._doc_terms[doc]
        total = found = 0.0
        for term, weight in query.items():
            w = weight * idf.get(term, unseen)
            total += w
            if term in terms:
                found += w
        return found / total if total else 0.0

    def answer(self, text: str) -> Hit | None:
        """The entry to answer `text` with, or None when no entry answers it well enough (or it is a report)."""
        query = self._query(text)
        scores = self._index.scores(query)
        if not scores:
            return None
        doc, score = max(scores.items(), key=lambda item: item[1])
        entry = self._owner[doc]
        limits = self.thresholds
        cover = self.coverage(query, doc)
        if query.keys().isdisjoint(self._subjects[entry]):
            ok = False
        elif looks_like_question(text):
            ok = score >= limits.score and cover >= limits.coverage
        else:
            plain = normalise(text)
            ok = (len(plain) <= limits.plain_length and cover >= limits.plain_coverage
                  and not any(c in plain for c in "不没坏漏欠了"))
        return Hit(self.entries[entry], score) if ok else None


def load_knowledge(folder: Path) -> KnowledgeBase:
    """The knowledge base of the `*.toml` files in `folder`, parsed and indexed once."""
    terms = folder / "terms.txt"
    return KnowledgeBase(read_entries(folder), lexicon=read_terms(terms) if terms.exists() else ())
