"""Values for WeChat template and subscription message fields, fitted to the platform's rules.

A value that breaks a rule makes WeChat answer 47003 and the citizen hears nothing, so every value
is fitted before sending (docs/platforms.md section 2.4):
thing ≤ 20 characters; phrase ≤ 5 Chinese characters; character_string ≤ 32 of [0-9A-Za-z] and
symbols; number ≤ 32 digits; name ≤ 10; time/date as "2026年11月23日 15:01"; keywordN (template
messages) ≤ 20 as a safe bound.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from zoneinfo import ZoneInfo

from bots.texts import clip

_LIMITS = {"thing": 20, "phrase": 5, "character_string": 32, "number": 32, "name": 10, "keyword": 20,
           "letter": 32, "symbol": 5, "car_number": 8, "phone_number": 17, "amount": 32}
_NOT_CHINESE = re.compile(r"[^\u4e00-\u9fff]")
_NOT_CODE = re.compile(r"[^0-9A-Za-z\-_.:/#@+]")
_NOT_DIGITS = re.compile(r"[^0-9.]")


def field_kind(key: str) -> str:
    """`thing3` -> `thing`; `character_string1` -> `character_string`; `keyword2` -> `keyword`."""
    return key.rstrip("0123456789")


def fit(kind: str, value: str) -> str:
    """The value made acceptable for a field of this kind."""
    value = " ".join(str(value).split())
    if kind == "phrase":
        value = _NOT_CHINESE.sub("", value)
    elif kind == "character_string":
        value = _NOT_CODE.sub("", value)
    elif kind == "number":
        value = _NOT_DIGITS.sub("", value)
    limit = _LIMITS.get(kind)
    if limit is None:
        return value
    if kind in ("phrase", "character_string", "number"):
        return value[:limit]  # an ellipsis is not allowed in these
    return clip(value, limit)


def local_time(moment: datetime, tz: ZoneInfo) -> str:
    """The `time` field format WeChat requires."""
    local = moment.astimezone(tz)
    return f"{local.year}年{local.month}月{local.day}日 {local:%H:%M}"


def build_data(fields: Mapping[str, str], values: Mapping[str, str]) -> dict[str, dict[str, str]]:
    """`{"thing3": {"value": ...}}` for each configured field, from the named values, each fitted."""
    data = {}
    for key, name in fields.items():
        kind = field_kind(key)
        data[key] = {"value": fit(kind, values.get(name, "")) or ("-" if kind != "phrase" else "无")}
    return data
