"""Template and subscription values fitted to WeChat's field rules (a rule broken means 47003)."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from bots.wechat.fields import build_data, field_kind, fit, local_time


@pytest.mark.parametrize(("kind", "value", "expected"), [
    ("thing", "路灯" * 15, "路灯" * 9 + "路…"),
    ("thing", "短", "短"),
    ("phrase", "已受理（转办）", "已受理转办"),
    ("phrase", "正在办理中的事项", "正在办理中"),
    ("character_string", "20261123-0001 工单", "20261123-0001"),
    ("character_string", "A" * 40, "A" * 32),
    ("number", "12,345 件", "12345"),
    ("keyword", "x" * 30, "x" * 19 + "…"),
])
def test_fit(kind: str, value: str, expected: str) -> None:
    assert fit(kind, value) == expected


def test_field_kinds_and_time_format() -> None:
    assert [field_kind(k) for k in ("thing3", "character_string1", "keyword12", "time4")] == [
        "thing", "character_string", "keyword", "time"]
    assert local_time(datetime(2026, 11, 23, 7, 1, tzinfo=UTC), ZoneInfo("Asia/Shanghai")) == "2026年11月23日 15:01"


def test_build_data_never_sends_an_empty_value() -> None:
    data = build_data({"thing3": "note", "phrase2": "status"}, {"note": "", "status": "!!"})
    assert data == {"thing3": {"value": "-"}, "phrase2": {"value": "无"}}
