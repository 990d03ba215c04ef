"""Every shape a place is written in, found and normalised; words that only look like places are not places."""

from __future__ import annotations

import pytest

from language.places import Gazetteer, PlaceMention
from language.places.mentions import find_mentions


def found(text: str, gazetteer: Gazetteer) -> list[tuple[str, str]]:
    return [(m.kind, m.form) for m in find_mentions(text, gazetteer)]


def one(text: str, gazetteer: Gazetteer) -> PlaceMention:
    mentions = find_mentions(text, gazetteer)
    assert len(mentions) == 1, mentions
    return mentions[0]


def test_a_mention_points_back_into_what_was_written(gazetteer: Gazetteer) -> None:
    text = "俺家在金水区花园路１３９号"
    mentions = find_mentions(text, gazetteer)
    assert [(m.text, text[m.start : m.end]) for m in mentions] == [("金水区", "金水区"), ("花园路１３９号",) * 2]
    assert mentions[1].form == "花园路139号"


@pytest.mark.parametrize(
    ("text", "form", "key"),
    [
        ("花园路139号", "花园路139号", "road_number:花园路:139"),
        ("建设路128号院", "建设路128号院", "road_number:建设路:128"),
        ("大学路一百零八号", "大学路108号", "road_number:大学路:108"),
        ("花园北路139号", "花园北路139号", "road_number:花园北路:139"),
        ("兴华南街12号", "兴华南街12号", "road_number:兴华南街:12"),
        ("顺城街３号", "顺城街3号", "road_number:顺城街:3"),  # a street the gazetteer does not know
    ],
)
def test_a_road_and_its_house_number(gazetteer: Gazetteer, text: str, form: str, key: str) -> None:
    mention = one(text, gazetteer)
    assert (mention.kind, mention.form, mention.key) == ("road_number", form, key)


@pytest.mark.parametrize(
    "text",
    [
        "文化路与农业路交叉口", "农业路文化路口", "文化路和农业路路口", "农业路跟文化路那个路口", "文化路/农业路",
        "农业路、文化路交叉路口", "文化北路与农业路交汇处", "农业路那个跟文化路那个十字路口",
    ],
)
def test_one_junction_written_every_way_has_one_key(gazetteer: Gazetteer, text: str) -> None:
    mention = one(text, gazetteer)
    assert (mention.kind, mention.key, mention.district) == ("intersection", "intersection:农业路|文化路", "金水区")


def test_junctions_of_roads_the_gazetteer_does_not_know_and_their_districts(gazetteer: Gazetteer) -> None:
    assert one("丰产路东明路口", gazetteer).key == "intersection:东明路|丰产路"
    assert one("开阳路与青屏大街交叉口", gazetteer).district == "新密市"  # 青屏大街 lies in 新密
    # Two roads through several districts meet in the one they share.
    assert one("紫荆山路与城北路交叉口", gazetteer).district is None  # they share two
    assert one("二七路太康路口", gazetteer).district == "二七区"
    assert one("中州大道与农业路交叉口", gazetteer).district is None  # not known where they meet


@pytest.mark.parametrize(
    ("text", "form", "key"),
    [
        ("绿城百合小区", "绿城百合小区", "compound:绿城百合"),
        ("绿城百合", "绿城百合", "compound:绿城百合"),
        ("建业森林半岛", "建业森林半岛", "compound:建业森林半岛"),
        ("鑫苑名家", "鑫苑名家", "compound:鑫苑名家"),  # 家 and 城 may end a developer's compound's name
        ("正商智慧城", "正商智慧城", "compound:正商智慧城"),
        ("幸福家园", "幸福家园", "compound:幸福家园"),
        ("国棉三厂家属院", "国棉三厂家属院", "compound:国棉三厂家属院"),
        ("南阳新村", "南阳新村", "area:南阳新村"),  # the gazetteer knows it
        ("锦江花园", "锦江花园", "compound:锦江花园"),
        ("悦澜府", "悦澜府", "compound:悦澜府"),
        ("书香社区", "书香社区", "compound:书香社区"),
        ("锦绣华庭小去", "锦绣华庭小区", "compound:锦绣华庭"),  # voice: 小区 heard as 小去
        ("祥和小区", "祥和小区", "compound:祥和"),  # 和 ends a road's name, not a compound's
        ("铁路家属院", "铁路家属院", "compound:铁路家属院"),  # 铁路 is a word, not a road
    ],
)
def test_compounds_by_their_ending_or_their_developer(gazetteer: Gazetteer, text: str, form: str, key: str) -> None:
    mention = one(text, gazetteer)
    assert (mention.form, mention.key) == (form, key)


@pytest.mark.parametrize(
    ("text", "form", "key"),
    [
        ("3号楼2单元", "3号楼2单元", "building:3-2"),
        ("5栋", "5栋", "building:5"),
        ("十二号楼", "12号楼", "building:12"),
        ("１２号楼３单元", "12号楼3单元", "building:12-3"),
        ("12号楼3单元501", "12号楼3单元501", "building:12-3"),
        ("2号楼东单元", "2号楼东单元", "building:2-东"),
        ("B座", "b座", "building:b"),
        ("三号搂二单原", "3号楼2单元", "building:3-2"),  # voice
        ("2单元", "2单元", "building:2"),
    ],
)
def test_buildings_entrances_and_flats(gazetteer: Gazetteer, text: str, form: str, key: str) -> None:
    mention = one(text, gazetteer)
    assert (mention.kind, mention.form, mention.key) == ("building", form, key)


@pytest.mark.parametrize(
    ("text", "kind", "district"),
    [
        ("郑大一附院", "landmark", "二七区"),
        ("郑州东站", "landmark", "郑东新区"),
        ("紫荆山站", "landmark", "金水区"),
        ("省人民医院", "landmark", "金水区"),
        ("西流湖公园", "landmark", "中原区"),
        ("伊河路菜市场", "landmark", None),  # a market named after its road
        ("优胜小学", "landmark", None),  # a school by its ending
        ("陈砦小学", "landmark", "金水区"),  # a school named after a village lies there
        ("龙子湖", "area", "郑东新区"),
        ("关虎屯村", "village", "金水区"),
        ("白沙镇", "street_office", None),  # a township by its ending
        ("花园路街道", "street_office", "金水区"),
        ("须水", "area", "中原区"),
        ("商城路", "road", "管城回族区"),
        ("嵩山路", "road", None),
        ("金水区", "district", "金水区"),
        ("港區", "district", "航空港区"),  # traditional characters
    ],
)
def test_named_places_of_every_kind(gazetteer: Gazetteer, text: str, kind: str, district: str | None) -> None:
    mention = one(text, gazetteer)
    assert (mention.kind, mention.district) == (kind, district)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("上街许昌路", [("district", "上街"), ("road", "许昌路")]),
        ("俺在上街", [("district", "上街")]),
        ("新郑这边经常停电", [("district", "新郑")]),
        ("二七这边社区盖个章", [("district", "二七")]),
        ("我在高新上班", [("district", "高新")]),
        ("公积金中心能不能在新郑也设个点", [("landmark", "公积金中心"), ("district", "新郑")]),
        ("上街买菜的时候摔了", []),
        ("我们小区东区那边", []),
        ("金水河边上", [("landmark", "金水河")]),
        ("中原地区", []),
        ("厂在薛店", [("street_office", "薛店")]),  # a township named without 镇
        ("薛店那边有个厂", [("street_office", "薛店")]),
        ("累得跟爬高山一样", []),  # 高山镇 is in 荥阳, 高山 a mountain
        ("一片竹林里", []),
        ("郑州老城区", [("area", "郑州老城")]),
        ("我们县城老城区", []),  # any town has an old town
    ],
)
def test_ambiguous_district_names_count_only_where_they_name_a_place(
    gazetteer: Gazetteer, text: str, expected: list[tuple[str, str]]
) -> None:
    assert found(text, gazetteer) == expected


@pytest.mark.parametrize(
    "text",
    [
        "过马路的时候差点被撞",
        "水泥路面全裂开了",
        "坐58路公交车",
        "坐五十八路公交",
        "这条路晚上路灯不亮",
        "省医保怎么报销",
        "绿城通卡丢了",
        "在家中工作",
        "在一家食品厂干活",
        "被骗了八千块钱",
        "我们小区门口",
        "410102198512121234",
        "电话139 1234 5678",
        "人民政府",
        "城中村改造",
        "我是小学生",
        "孩子明年上小学",
        "公交车站没有座椅",
        "老旧小去改造挖的沟",
        "关于小区停车收费的事",
        "我们楼顶的水箱路水顺着墙往下流",  # 漏水 misheard: no road
    ],
)
def test_words_that_only_look_like_places_are_none(gazetteer: Gazetteer, text: str) -> None:
    assert found(text, gazetteer) == []


@pytest.mark.parametrize(
    ("text", "relative"),
    [
        ("郑大一附院门口", "门口"),
        ("文化路与农业路交叉口往北一百米", "往北一百米"),
        ("绿城百合东门", "东门"),
        ("鑫苑名家门口", "门口"),
        ("郑州东站出站口", "出站口"),
        ("紫荆山公园南门对面", "南门对面"),
        ("城东路顺城街那个家属院北门", "家属院北门"),
        ("二七塔附近", "附近"),
        ("丰产路东明路口往北那一段", "往北那一段"),
    ],
)
def test_the_position_said_after_a_place_is_kept_with_it(gazetteer: Gazetteer, text: str, relative: str) -> None:
    assert find_mentions(text, gazetteer)[-1].relative == relative


def test_voice_transcripts_without_punctuation(gazetteer: Gazetteer) -> None:
    text = "就是那个二七区大学路郑大老校区家属院十八号楼"
    assert found(text, gazetteer) == [
        ("district", "二七区"), ("road", "大学路"), ("compound", "郑大老校区家属院"), ("building", "18号楼"),
    ]
    assert found("金水路未来路路扣往北", gazetteer) == [("intersection", "金水路未来路路口")]
    assert found("上街许昌路铝厂家属院", gazetteer) == [
        ("district", "上街"), ("road", "许昌路"), ("compound", "铝厂家属院"),
    ]
    assert found("中牟县万胜路农贸市场门口", gazetteer) == [("district", "中牟县"), ("landmark", "万胜路农贸市场")]
