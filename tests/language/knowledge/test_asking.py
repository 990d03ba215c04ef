"""looks_like_question: a consultation, not a report that happens to ask."""

from __future__ import annotations

import pytest

from language.knowledge import looks_like_question


@pytest.mark.parametrize("text", [
    "公积金咋提", "老年卡在哪办呀", "暖气不热了找谁", "办居住证要啥材料", "失业金能领多久？", "身份证丢了怎么办",
    "俺在老家交的新农合，来郑州看病能报不能报", "这个应该谁交", "公积金能提出来付房租吗 咋弄", "交了没",
    "暖气不热找谁反映", "去哪投诉拖欠工资", "举报会不会被人知道是我", "请问法律援助需要什么条件",
    "结婚登记要预约吗", "12345都管啥事", "医保卡里的钱能给我爸买药用不",
])
def test_consultations(text: str) -> None:
    assert looks_like_question(text)


@pytest.mark.parametrize("text", [
    "小区路灯坏了", "工资拖欠三个月了", "路灯坏了一周了怎么还没人修", "暖气一直不热 到底有没有人管",
    "我要投诉物业乱收费", "能不能派人来看看", "建议公交多发几趟车", "这可咋办啊 老板跑了",
    "社保卡补办咋这么慢", "BRT站台刷卡机坏了好几天 能修一下吗", "麻烦尽快处理", "", "好的 谢谢",
])
def test_reports_and_chit_chat(text: str) -> None:
    assert not looks_like_question(text)
