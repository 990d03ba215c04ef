"""Masking of personal data for logs, pages and API responses that do not need it whole.

`mask_text` is the one function every surface uses on free text (descriptions, addresses, officers'
notes, petition titles). It finds numbers the way citizens and officers actually write them:

- mobile numbers, run together or split by spaces or dashes anywhere (`139 1234 5678`, `137-1234-5678`),
  with or without `+86`, `0086`, `86-` or `(+86)` in front: `139 **** 5678`;
- ID-card numbers, 18 characters (the last may be X) or the old 15 digits, run together or in groups
  (`410105 19900101 1234`): the region code and the last four survive, `410105 ******** 1234`;
- bank card numbers, 16 to 19 digits, run together or in groups of four: only the last four survive;
- landlines with their area code (`0371-6123 4567`, `(010)12345678`, `+86 371 6123 4567`): the area
  code and the last four survive.

Full-width digits and punctuation (`１３９１２３４５６７８`, `－`, `（`) are read as their ASCII twins;
what is not masked is left exactly as written, separators included. Ticket numbers (`20261203-0042`),
tracking codes, dates, amounts and house numbers are not personal data and are left alone: none of
the patterns takes fewer than 10 digits, a mobile number must start 13-19 and a landline 0.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

# One character for one character (so positions in the folded text are positions in the original):
# full-width digits, X, plus, parentheses, dashes and spaces read as ASCII.
_FOLD = str.maketrans({
    **{chr(0xFF10 + digit): str(digit) for digit in range(10)},
    "Ｘ": "X", "ｘ": "x", "＋": "+", "（": "(", "）": ")",
    "－": "-", "—": "-", "–": "-", "‐": "-", "‑": "-", "　": " ", "\u00a0": " ",
})

_S = r"[ -]?"  # at most one space or dash between digits
_NOT_AFTER_WORD = r"(?<![0-9A-Za-z])"
_NOT_BEFORE_WORD = r"(?![0-9A-Za-z])"
_ID_18 = (rf"\d{{6}}{_S}\d{{4}}{_S}\d{{4}}{_S}\d{{3}}[\dXx]"  # 6-8-4, 6-4-4-4, or run together
          rf"|\d{{4}}{_S}\d{{4}}{_S}\d{{4}}{_S}\d{{4}}{_S}\d[\dXx]")  # groups of four
_CARD = rf"\d{{4}}(?:{_S}\d{{4}}){{3}}(?:{_S}\d{{1,3}})?"  # 16-19 digits, run together or in fours
_ID_15 = r"\d{8}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\d{3}"  # region, YYMMDD, sequence
_COUNTRY = r"(?:\+|00)86"
_LANDLINE = (rf"(?:{_COUNTRY}{_S}\(?(?P<area_intl>[1-9]\d{{1,2}})\)?"  # +86 371 ..., area code without its 0
             r"|\((?P<area_paren>0\d{2,3})\)|(?P<area>0\d{2,3}))"
             rf"{_S}[1-9]\d{{2,3}}{_S}\d{{4}}")
_MOBILE = rf"(?P<country>\(?(?:{_COUNTRY}|86)\)?{_S})?(?P<mobile>1[3-9]\d(?:{_S}\d){{8}})"

_PERSONAL = re.compile(
    rf"{_NOT_AFTER_WORD}(?P<id>{_ID_18}){_NOT_BEFORE_WORD}"
    rf"|{_NOT_AFTER_WORD}(?P<card>{_CARD}){_NOT_BEFORE_WORD}"
    rf"|{_NOT_AFTER_WORD}(?P<id15>{_ID_15}){_NOT_BEFORE_WORD}"
    rf"|(?<![\d+])(?P<landline>{_LANDLINE})(?!\d)"
    rf"|(?<![\d+])(?P<phone>{_MOBILE})(?!\d)"
)


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


def _digits(folded: str, start: int, end: int) -> list[int]:
    """Positions of the digits (and an ID number's X) in `folded[start:end]`."""
    return [i for i in range(start, end) if folded[i].isdigit() or folded[i] in "Xx"]


def _kept(match: re.Match[str]) -> Iterator[int]:
    """Positions of the digits that stay visible in one match."""
    folded = match.string
    kind = match.lastgroup
    if kind == "id":
        digits = _digits(folded, *match.span())
        yield from digits[:6] + digits[-4:]
    elif kind in ("card", "id15"):
        yield from _digits(folded, *match.span())[-4:]
    elif kind == "landline":
        area = next(name for name in ("area_intl", "area_paren", "area") if match.group(name))
        yield from _digits(folded, match.start(), match.end(area))  # the country and area codes
        yield from _digits(folded, match.end(area), match.end())[-4:]
    else:
        if match.group("country"):
            yield from _digits(folded, *match.span("country"))
        mobile = _digits(folded, *match.span("mobile"))
        yield from mobile[:3] + mobile[-4:]


def mask_text(text: str) -> str:
    """Mask mobile and landline numbers, ID-card and bank card numbers inside free text."""
    return _masked(text, None)


def withhold_numbers(text: str) -> str:
    """Every personal number in `text` replaced whole by 【已保密】: a confidential report's words as the units
    read them (a masked number still narrows down who called)."""
    if not text:
        return text
    folded = text.translate(_FOLD)
    spans = [match.span() for match in _PERSONAL.finditer(folded)]
    for start, end in reversed(spans):
        text = text[:start] + "【已保密】" + text[end:]
    return text


_KEPT_FOR_UNITS = frozenset({"mobile", "landline"})  # the kinds of number a ticket keeps readable


def mask_kept(text: str) -> str:
    """What a ticket keeps of a citizen's words: ID and bank card numbers masked, phone numbers kept (the unit
    may call back; every page and reply that does not need them masks them with `mask_text`)."""
    return _masked(text, _KEPT_FOR_UNITS)


def _masked(text: str, spared: frozenset[str] | None) -> str:
    if not text:
        return text
    folded = text.translate(_FOLD)
    masked: list[str] | None = None
    for match in _PERSONAL.finditer(folded):
        if spared is not None and _kind(match) in spared:
            continue
        if masked is None:
            masked = list(text)
        kept = set(_kept(match))
        for i in _digits(folded, *match.span()):
            if i not in kept:
                masked[i] = "*"
    return text if masked is None else "".join(masked)


def _kind(match: re.Match[str]) -> str:
    """id, id15, card, landline or mobile."""
    kind = match.lastgroup or ""
    return kind if kind in ("id", "id15", "card", "landline") else "mobile"
