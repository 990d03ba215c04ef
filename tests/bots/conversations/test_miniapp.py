"""The mini-program's submission becomes the draft the chat would have built: an ID or bank card number in
the citizen's words is masked before it is kept; a phone number stays for the unit to call back."""

from __future__ import annotations

from bots.conversations.miniapp import Submission, draft_of


def test_identity_and_card_numbers_are_masked_before_they_are_kept() -> None:
    said = "身份证410102198512121234被人冒用，卡号6222 0210 0101 2345，电话13812345678"
    draft = draft_of(Submission(description=said, address="金水区农业路1号 410102198512121234"))
    assert "410102198512121234" not in draft.description and "410102********1234" in draft.description
    assert "6222 0210 0101 2345" not in draft.description and "13812345678" in draft.description
    assert "410102198512121234" not in draft.address
