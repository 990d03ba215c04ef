"""The small BM25 index: rarer terms weigh more, longer documents are normalised, no match gives nothing."""

from __future__ import annotations

from language.knowledge.bm25 import BM25


def test_the_document_with_the_rare_term_wins() -> None:
    index = BM25([["a", "common"], ["b", "common"], ["rare", "common"]])
    scores = index.scores({"rare": 1.0, "common": 1.0})
    assert max(scores, key=scores.__getitem__) == 2
    assert index.idf["rare"] > index.idf["common"]
    assert index.unseen_idf > index.idf["rare"]


def test_a_short_document_beats_a_long_one_with_the_same_term() -> None:
    index = BM25([["x", "y", "z", "w", "v", "u", "term"], ["term", "q"], ["other"]])
    scores = index.scores({"term": 1.0})
    assert scores[1] > scores[0]
    assert 2 not in scores


def test_query_weights_scale_the_score() -> None:
    index = BM25([["a"], ["b"]])
    assert index.scores({"a": 2.0})[0] == 2 * index.scores({"a": 1.0})[0]
    assert index.scores({"nothing": 1.0}) == {}
