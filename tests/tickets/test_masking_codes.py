"""Masking of personal data, ticket numbers and tracking codes."""

from __future__ import annotations

import pytest

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


# How citizens and officers write personal numbers, and what each must look like once masked.
MASKED = [
    ("139 1234 5678", "139 **** 5678"),
    ("137-1234-5678", "137-****-5678"),
    ("1381234 5678", "138**** 5678"),
    ("+86 139 1234 5678", "+86 139 **** 5678"),
    ("+8613912345678", "+86139****5678"),
    ("0086 13912345678", "0086 139****5678"),
    ("86-13912345678", "86-139****5678"),
    ("(+86)139-1234-5678", "(+86)139-****-5678"),
    ("电话：１３９１２３４５６７８", "电话：１３９****５６７８"),
    ("１３９－１２３４－５６７８", "１３９－****－５６７８"),
    ("身份证410105 19900101 1234", "身份证410105 ******** 1234"),
    ("410105-19900101-123X", "410105-********-123X"),
    ("4101 0519 9001 0112 3x", "4101 05** **** **12 3x"),
    ("４１０１０５１９９００１０１１２３Ｘ", "４１０１０５********１２３Ｘ"),
    ("410105900101123", "***********1123"),  # the old 15-digit ID number
    ("0371-6123 4567", "0371-**** 4567"),
    ("(0371)61234567", "(0371)****4567"),
    ("（０３７１）６１２３－４５６７", "（０３７１）****－４５６７"),
    ("010-12345678", "010-****5678"),
    ("+86 371 6123 4567", "+86 371 **** 4567"),
    ("卡号6222 0212 3456 7890", "卡号**** **** **** 7890"),
    ("6222021234567890123", "***************0123"),
    ("6222-0212-3456-7890-123", "****-****-****-***0-123"),
]
# Numbers that are not personal data and must read exactly as written.
NOT_MASKED = [
    "工单号20261203-0042", "202612030042", "20261203-004200", "查询码 K7M3P9Q2RT", "https://gw.example.cn/t/ABCDEFGH23",
    "2026-12-03", "2026年12月3日", "2026/12/03 14:30", "2026-12-03T14:30:00+08:00", "欠薪3000元", "1380.50元",
    "12号楼3单元502", "邮编450000", "豫A12345", "13 14 15 16 17 18 号", "12345 热线", "138****5678",
]


@pytest.mark.parametrize(("written", "masked"), MASKED)
def test_mask_text_masks_every_way_of_writing_a_number(written: str, masked: str) -> None:
    assert mask_text(written) == masked
    assert mask_text(f"请联系{written}，谢谢") == f"请联系{masked}，谢谢"
    assert mask_text(masked) == masked  # masking twice changes nothing


@pytest.mark.parametrize("text", NOT_MASKED)
def test_mask_text_leaves_numbers_that_are_not_personal(text: str) -> None:
    assert mask_text(text) == text


def test_mask_text_masks_each_number_of_a_sentence_and_nothing_between() -> None:
    text = "2026-12-03 张先生 13812345678，工单20261203-0042，身份证11010519491231002X，3000元"
    assert mask_text(text) == "2026-12-03 张先生 138****5678，工单20261203-0042，身份证110105********002X，3000元"


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
