"""Masking of personal data for logs, pages and API responses that do not need it whole."""

from __future__ import annotations

import re

_PHONE = re.compile(r"(?<!\d)(1[3-9]\d)(\d{4})(\d{4})(?!\d)")
_ID_NUMBER = re.compile(r"(?<![0-9A-Za-z])(\d{6})(\d{8})(\d{3}[\dXx])(?![0-9A-Za-z])")


def mask_identifier(value: str | None) -> str:
    """An openid, user id or similar: the first 4 and last 2 characters survive."""
    if not value:
        return ""
    if len(value) <= 6:
        return "*" * len(value)
    return f"{value[:4]}***{value[-2:]}"


def mask_phone(value: str) -> str:
    """A mainland mobile number: 138****5678."""
    digits = re.sub(r"\D", "", value)
    if len(digits) < 7:
        return "*" * len(digits)
    return f"{digits[:3]}****{digits[-4:]}"


def mask_name(value: str) -> str:
    """A person's name: 张* / 欧阳** ; Latin names keep the first letter."""
    value = value.strip()
    if not value:
        return ""
    return value[0] + "*" * max(1, len(value) - 1)


def mask_text(text: str) -> str:
    """Mask mobile numbers and ID-card numbers inside free text."""
    text = _ID_NUMBER.sub(lambda m: f"{m.group(1)}********{m.group(3)}", text)
    return _PHONE.sub(lambda m: f"{m.group(1)}****{m.group(3)}", text)


_BANK_CARD = re.compile(r"(?<!\d)(\d{4})[\d ]{8,15}(\d{4})(?!\d)")


def mask_kept(text: str) -> str:
    """What a ticket keeps of a citizen's words: ID and bank card numbers masked, phone numbers kept (the unit
    may call back; every page and reply that does not need them masks them with `mask_text`)."""
    text = _ID_NUMBER.sub(lambda m: f"{m.group(1)}********{m.group(3)}", text)
    return _BANK_CARD.sub(lambda m: m.group(0) if _PHONE.fullmatch(m.group(0)) else f"{m.group(1)} **** {m.group(2)}",
                          text)
