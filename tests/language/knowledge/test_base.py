"""The knowledge base answers everyday ways of asking a covered question, and nothing else."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from language.knowledge import Entry, KnowledgeBase

DATA = Path(__file__).resolve().parents[2] / "data" / "knowledge"


@pytest.mark.parametrize(("text", "entry"), [
    ("公鸡金咋提", "housing_fund_withdraw_rent"),          # speech recognition: 公积金
    ("老年卡在哪办呀", "elderly_bus_ride"),
    ("暖气不热了找谁", "heating_not_warm"),
    ("居住正咋办 要啥材料", "residence_permit_materials"),  # 居住证
    ("俺在老家交的新农合，来郑州看病能报不能报？俺闺女在这上班", "medical_insurance_offsite_filing"),
    ("灵活就业社保咋交", "social_insurance_flexible_employment"),
    ("身分证掉了 咋补办 急用", "hukou_id_id_card_lost"),
    ("老年人优待证", "elderly_preferential_card"),  # a bare subject, short and covered
])
def test_everyday_ways_of_asking_get_the_entry(kb: KnowledgeBase, text: str, entry: str) -> None:
    hit = kb.answer(text)
    assert hit is not None and hit.entry.id == entry


@pytest.mark.parametrize("text", [
    "小区路灯坏了", "工资拖欠三个月了", "路灯坏了一周了怎么还没人修", "暖气不热", "俺家暖气三天都不热了 冻得睡不着",
    "你好", "在吗", "谢谢你们", "你是机器人吗",
    "郑州哪家烩面最好吃", "营业执照咋办", "地铁几点停运", "这事归谁管", "二七区这边的问题找谁",
])
def test_reports_chit_chat_and_uncovered_questions_get_none(kb: KnowledgeBase, text: str) -> None:
    assert kb.answer(text) is None


def test_search_gives_k_entries_best_first(kb: KnowledgeBase) -> None:
    hits = kb.search("暖气费在哪交", k=5)
    assert len(hits) == 5
    assert hits[0].entry.id == "heating_fee_payment"
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    assert len({h.entry.id for h in hits}) == 5
    assert isinstance(hits[0].entry, Entry)
    assert kb.search("") == []


def test_the_paraphrase_set_is_answered_with_the_right_entry(kb: KnowledgeBase) -> None:
    """A floor under the measured figures (benchmarks/knowledge_accuracy.py): 96% top-1, 94% answered right."""
    rows = [json.loads(line) for line in (DATA / "questions.jsonl").read_text(encoding="utf-8").splitlines() if line]
    assert len(rows) >= 80
    top1 = sum(bool(h := kb.search(r["text"], 1)) and h[0].entry.id == r["id"] for r in rows)
    right = sum(bool(a := kb.answer(r["text"])) and a.entry.id == r["id"] for r in rows)  # type: ignore[union-attr]
    assert top1 / len(rows) >= 0.92
    assert right / len(rows) >= 0.90


def test_messages_that_must_not_be_answered_are_not(kb: KnowledgeBase) -> None:
    rows = [json.loads(line) for line in (DATA / "not_answered.jsonl").read_text(encoding="utf-8").splitlines() if line]
    answered = [r["text"] for r in rows if kb.answer(r["text"])]
    assert len(answered) <= 1, answered


def test_an_empty_base_is_refused() -> None:
    with pytest.raises(ValueError, match="at least one entry"):
        KnowledgeBase([])
