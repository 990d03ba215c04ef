"""The city's knowledge base of common questions (即问即答): which entry answers a citizen's question, if any.

    entries.py   the Entry and reading the catalogue's files (`catalogue/knowledge/*.toml`, `terms.txt`)
    tokens.py    index terms: jieba words, character bigrams, bigrams of toneless readings (homophones)
    bm25.py      a small Okapi BM25 index
    asking.py    looks_like_question: a consultation, not a report that asks
    base.py      KnowledgeBase (search, answer), Hit, load_knowledge

The folder to read is given by the caller: this package reads nothing else.
"""

from language.knowledge.asking import looks_like_question
from language.knowledge.base import Hit, KnowledgeBase, load_knowledge
from language.knowledge.entries import Entry

__all__ = ["Entry", "Hit", "KnowledgeBase", "load_knowledge", "looks_like_question"]
