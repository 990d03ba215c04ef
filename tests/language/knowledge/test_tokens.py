"""Index terms: words, bigrams and readings meet the entry whatever recognition or typing did to the words."""

from __future__ import annotations

import pytest

from language.knowledge.tokens import Tokeniser


@pytest.fixture(scope="module")
def tok() -> Tokeniser:
    return Tokeniser([("公积金", "住房公积金"), ("新农合", "合作医疗"), ("老年卡",)])


def _kind(terms: list[str], kind: str) -> set[str]:
    return {t for t in terms if t.startswith(kind)}


@pytest.mark.parametrize(("heard", "meant"), [("公鸡金", "公积金"), ("居住正", "居住证"), ("暖器", "暖气"),
                                              ("派出锁", "派出所"), ("身分证", "身份证")])
def test_homophones_from_speech_recognition_share_readings(tok: Tokeniser, heard: str, meant: str) -> None:
    assert _kind(tok.terms(heard), "p:") == _kind(tok.terms(meant), "p:")
    assert _kind(tok.terms(heard), "b:") != _kind(tok.terms(meant), "b:")


def test_words_of_the_base_stay_whole_and_synonyms_stand_for_the_first(tok: Tokeniser) -> None:
    assert "w:公积金" in tok.terms("住房公积金咋提")
    assert "w:新农合" in tok.terms("老家交的合作医疗能报不")
    assert "w:老年卡" in tok.terms("老年卡在哪办")


def test_fillers_particles_and_pronouns_are_no_evidence(tok: Tokeniser) -> None:
    terms = tok.terms("嗯那个那个就是说俺的吗")
    assert not _kind(terms, "b:")
    assert not _kind(terms, "w:")


def test_full_width_and_case_are_normalised(tok: Tokeniser) -> None:
    assert tok.terms("ＡＢ１２３４５") == tok.terms("ab12345")


def test_readings_fold_what_the_accent_blurs(tok: Tokeniser) -> None:
    assert tok.reading("证") == tok.reading("正") == tok.reading("怎")  # zheng, zhen, zen: heard alike
    assert tok.reading("身") == tok.reading("森") and tok.reading("身") != tok.reading("山")
