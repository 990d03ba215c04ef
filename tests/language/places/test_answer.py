"""is_place_answer: after "where is it?", a place is told from more description, questions and numbers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from language.places import Gazetteer, is_place_answer

ANSWERS = Path(__file__).resolve().parents[2] / "data" / "places" / "answers.jsonl"
LABELLED = [json.loads(line) for line in ANSWERS.read_text(encoding="utf-8").splitlines() if line.strip()]


def test_the_labelled_set_is_balanced_and_large_enough() -> None:
    places = sum(1 for row in LABELLED if row["place"])
    assert len(LABELLED) >= 40 and abs(places - (len(LABELLED) - places)) <= 2


@pytest.mark.parametrize("row", LABELLED, ids=[row["text"] for row in LABELLED])
def test_every_labelled_reply(gazetteer: Gazetteer, row: dict[str, object]) -> None:
    assert is_place_answer(str(row["text"]), gazetteer) is row["place"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("就在我家楼下", False),
        ("就在我家楼下，锦江花园", True),
        ("东风路口东边", True),
        ("是不是归金水区管？", False),  # a question, not an answer
        ("就在花园路139号，这样行吗？", True),  # an answer, then a question
        ("", False),
        ("   ", False),
    ],
)
def test_places_and_not(gazetteer: Gazetteer, text: str, expected: bool) -> None:
    assert is_place_answer(text, gazetteer) is expected
