"""Triage by concept: new wordings, dialect, typos and recognition errors count; past, hypothetical,
negated, hearsay and figurative uses do not. These sentences are written here, apart from the corpora."""

from __future__ import annotations

import pytest

from language.triage import Kind, triage


@pytest.mark.parametrize(("text", "service"), [
    ("快来人啊 有个人拿着菜刀在小区门口追人", "110"),
    ("俺家门叫人撬开了，那人这会儿还在屋里翻东西", "110"),
    ("二楼窗户往外冒火苗子了 里头还有老人", "119"),
    ("车库里一辆电瓶车自燃了，烟大得很", "119"),
    ("俺爹在公园里突然倒地上了，喊他也不吭声", "120"),
    ("孩子吃葡萄卡住喉咙了 脸都紫了", "120"),
    ("工人从三楼掉下来 一地血 叫不醒", "120"),
    ("刚在红专路上电动车把一个老太太撞倒了，躺地上起不来", "122"),
    ("厨房里一股子煤气味儿，越闻越冲，俺不敢开灯", "gas"),
    ("俺家然气管子呲呲响 味儿可大", "gas"),
])
def test_an_emergency_names_its_service(text: str, service: str) -> None:
    decision = triage(text)
    assert decision.kind is Kind.EMERGENCY, decision
    assert service in decision.services


@pytest.mark.parametrize(("text", "concept"), [
    ("路边挖掘机把燃气管道挖断了，马路上都是味", "gas_outdoor"),
    ("大风把高压线刮断了 掉在路当中还打火花", "wires"),
    ("公交站那个配电箱门开着，里头线头都露出来了", "live_parts"),
    ("文化路上有个窨井盖叫人偷了，黑乎乎一个窟窿", "manhole"),
    ("俺村口那条路突然塌陷了，陷下去一个大坑", "road_collapse"),
    ("小区门口自来水管爆了，水往上喷，路都淹了", "burst_main"),
    ("我妈被困在电梯里了，按铃也没人应", "lift_trapped"),
    ("商场门头招牌让风吹得直晃，眼看要掉下来，底下都是人", "falling_object"),
    ("农业路花园路口的红绿灯全灭了，车都堵一块了", "traffic_lights"),
    ("俺这老房子墙上的裂缝越来越大，刚才还掉了块砖", "structure"),
    ("工友爬到塔吊上去了，说不给工钱就跳下来", "self_harm"),
])
def test_an_urgent_danger_is_ours_and_now(text: str, concept: str) -> None:
    decision = triage(text)
    assert decision.kind is Kind.URGENT, decision
    assert concept in decision.concepts


@pytest.mark.parametrize("text", [
    "我那个案子法院已经立案了，下个月开庭",
    "劳动仲裁的裁决书都下来了，公司还是不执行",
    "俺表哥借了俺两万块钱，打了借条，现在不还了",
    "俺爹留下的房子，俺姐妹几个为分这个闹翻了",
])
def test_a_matter_for_a_court_or_mediation_is_redirected(text: str) -> None:
    assert triage(text).kind is Kind.REDIRECT


@pytest.mark.parametrize("text", [
    "去年冬天俺们楼着过一回火，现在消防通道还堆满杂物",
    "万一电梯困人了，应该打哪个电话",
    "要是燃气泄漏了第一步该干啥",
    "气得我火冒三丈，物业又涨价了",
    "排了一上午队，急死人了，社保卡到底咋办",
    "刚才厨房的燃气味，燃气公司来查了，说没漏，现在没事了",
    "电梯刚才卡了一下，里面没有人，物业已经修好了",
    "新闻上说外地有个小区燃气爆炸了，咱这管道有人查吗",
    "燃气费在手机上咋交",
    "电梯年检到期了，合格证都过期了",
    "路灯坏了好几天，晚上黑乎乎的",
    "楼下烧烤摊冒烟呛人，能不能管管",
    "工厂烟囱天天冒黑烟，污染太严重了",
    "车祸的赔偿款对方一直拖着不给",
    "我想问问劳动仲裁怎么申请",
    "老板拖欠俺们三个月工资了",
    "到底能不能在门口摆桌子",
    "楼道里的电动车天天充电，怕哪天着火",
])
def test_what_is_not_a_danger_now_is_normal(text: str) -> None:
    assert triage(text).kind is Kind.NORMAL, triage(text)


@pytest.mark.parametrize("text", [
    "楼道里有股怪味，说不上来是啥味",
    "电梯停在五楼六楼中间不动了",
    "对面楼顶在冒烟，不知道是不是着火了",
    "隔壁独居的大娘好几天没见出门了，敲门也没人应",
])
def test_a_possible_danger_asks_first(text: str) -> None:
    assert triage(text).kind is Kind.UNSURE


def test_the_decision_gives_its_reasons_and_what_it_set_aside() -> None:
    decision = triage("前年这楼着过火。现在楼道里燃气味很大，俺家门口都闻见了")
    assert decision.kind is Kind.EMERGENCY and decision.concepts == ("gas_indoor",)
    assert decision.reasons[0].words and "燃气" in decision.reasons[0].clause
    data = decision.to_data()
    assert data["kind"] == "emergency" and data["services"] == ["gas", "119"]
