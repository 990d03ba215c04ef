"""Reading the knowledge files: the shipped base is complete and well formed; a bad file is refused."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from language.knowledge.entries import MAX_ANSWER, read_entries, read_terms
from tests.language.knowledge.conftest import KNOWLEDGE

TOPICS = {"social_insurance", "medical_insurance", "hukou_id", "residence_permit", "housing_fund", "legal_aid",
          "heating", "elderly", "education", "marriage", "real_estate", "employment", "disability",
          "transport_card", "tax", "vehicle", "utilities", "other"}
# The national service lines and emergency numbers an answer may send a citizen to.
PHONES = {"12345", "12333", "12329", "12348", "12393", "12366", "12367", "12385", "95598", "110", "119", "120", "122"}


def test_the_shipped_base_covers_every_topic_with_checked_entries() -> None:
    entries = read_entries(KNOWLEDGE)
    assert len(entries) >= 120
    assert {e.topic for e in entries} == TOPICS
    assert len({e.id for e in entries}) == len(entries)
    for e in entries:
        assert len(e.questions) >= 4, e.id
        assert len(e.answer) <= MAX_ANSWER, e.id
        assert e.phone in PHONES, e.id
        # No invented links: an officer checks a source by its name.
        assert not re.search(r"https?:|www\.|\.com|\.cn", e.answer + e.source), e.id
        # Plain polite Chinese: no full stops missing at the end, no ASCII punctuation inside.
        assert e.answer.endswith("。"), e.id
        assert not re.search(r"[,;:!?]", e.answer), e.id


def test_the_common_questions_of_the_brief_have_an_entry() -> None:
    ids = {e.id for e in read_entries(KNOWLEDGE)}
    for wanted in ("elderly_bus_ride", "elderly_preferential_card", "elderly_longevity_allowance_apply",
                   "residence_permit_materials", "hukou_id_newborn_registration", "medical_insurance_offsite_filing",
                   "housing_fund_withdraw_rent", "housing_fund_loan", "heating_not_warm", "heating_fee_standard",
                   "legal_aid_conditions", "employment_unemployment_benefit_apply",
                   "social_insurance_flexible_employment", "hukou_id_id_card_lost", "hukou_id_exit_entry_documents",
                   "vehicle_license_renewal", "utilities_account_transfer"):
        assert wanted in ids


def test_the_terms_file_gives_groups_of_words() -> None:
    groups = read_terms(KNOWLEDGE / "terms.txt")
    assert ("公积金", "住房公积金") in groups
    assert all(group and all(" " not in w and "#" not in w for w in group) for group in groups)


ENTRY = """
[[entry]]
id = "{id}"
topic = "{topic}"
title = "标题"
questions = ["问一", "问二", "问三", "问四"]
answer = "{answer}"
office = "办公室"
phone = "12345"
source = "指南"
"""


def _write(folder: Path, name: str, *entries: str) -> None:
    (folder / f"{name}.toml").write_text("".join(entries), encoding="utf-8")


def test_a_well_formed_folder_is_read_in_order(tmp_path: Path) -> None:
    _write(tmp_path, "tax", ENTRY.format(id="b", topic="tax", answer="答。"))
    _write(tmp_path, "heating", ENTRY.format(id="a", topic="heating", answer="答。"))
    entries = read_entries(tmp_path)
    assert [e.id for e in entries] == ["a", "b"]
    assert entries[0].questions == ("问一", "问二", "问三", "问四")


@pytest.mark.parametrize(("entries", "message"), [
    ((ENTRY.format(id="a", topic="tax", answer="答。"), ENTRY.format(id="a", topic="tax", answer="答。")), "twice"),
    ((ENTRY.format(id="a", topic="heating", answer="答。"),), "not the file's name"),
    ((ENTRY.format(id="a", topic="tax", answer="长" * (MAX_ANSWER + 1)),), "at most"),
    ((ENTRY.format(id="a", topic="tax", answer=""),), "missing answer"),
    ((ENTRY.format(id="a", topic="tax", answer="答。").replace("source", "url"),), "missing source"),
    ((ENTRY.format(id="a", topic="tax", answer="答。").replace('["问一", "问二", "问三", "问四"]', '"问"'),),
     "list of texts"),
])
def test_a_bad_entry_is_refused_with_where_it_is(tmp_path: Path, entries: tuple[str, ...], message: str) -> None:
    _write(tmp_path, "tax", *entries)
    with pytest.raises(ValueError, match=message):
        read_entries(tmp_path)


def test_an_empty_folder_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="no knowledge files"):
        read_entries(tmp_path)
