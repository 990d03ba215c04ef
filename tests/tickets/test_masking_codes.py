"""Masking of personal data, ticket numbers and tracking codes."""

from __future__ import annotations

from tickets.codes import looks_like_tracking_code, new_tracking_code, parse_ticket_number
from tickets.masking import mask_identifier, mask_name, mask_phone, mask_text


def test_mask_identifier_keeps_only_ends() -> None:
    assert mask_identifier("oUser1234567890abc") == "oUse***bc"
    assert mask_identifier("abc") == "***"
    assert mask_identifier("") == ""


def test_mask_phone_and_name() -> None:
    assert mask_phone("138 1234 5678") == "138****5678"
    assert mask_name("张三") == "张*"
    assert mask_name("欧阳娜娜") == "欧***"


def test_mask_text_hides_phones_and_id_numbers() -> None:
    text = "我叫张三，电话13812345678，身份证11010519491231002X，门牌12号"
    masked = mask_text(text)
    assert "13812345678" not in masked and "138****5678" in masked
    assert "11010519491231002X" not in masked and "110105********002X" in masked
    assert "门牌12号" in masked


def test_tracking_codes_are_random_and_recognisable() -> None:
    codes = {new_tracking_code() for _ in range(200)}
    assert len(codes) == 200
    assert all(looks_like_tracking_code(c) for c in codes)
    assert not looks_like_tracking_code("ABCDEFGHIO")  # O and I are not in the alphabet


def test_ticket_numbers_parse_in_both_spellings() -> None:
    assert parse_ticket_number("20261123-0042") == "20261123-0042"
    assert parse_ticket_number("202611230042") == "20261123-0042"
    assert parse_ticket_number("路灯坏了") is None


def test_rating_tokens_are_per_code_and_per_key() -> None:
    from tickets import codes

    key, other_key = codes.rating_key("s" * 40), codes.rating_key("t" * 40)
    token = codes.rating_token(key, "ABCDEFGH23")
    assert len(token) == codes.RATING_TOKEN_CHARS and codes.rating_token_ok(key, "abcdefgh23", token)
    assert not codes.rating_token_ok(key, "ABCDEFGH24", token)
    assert not codes.rating_token_ok(other_key, "ABCDEFGH23", token)
    assert not codes.rating_token_ok(key, "ABCDEFGH23", token[:-1]) and not codes.rating_token_ok(key, "ABCDEFGH23", "")
