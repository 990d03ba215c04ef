"""find_place: the address to store, and the district only when it is unambiguous (with where it came from)."""

from __future__ import annotations

import pytest

from language.places import Gazetteer, find_place, relative_part


@pytest.mark.parametrize(
    ("text", "address"),
    [
        ("金水区花园路139号绿城百合3号楼东门", "金水区花园路139号绿城百合3号楼东门"),
        ("俺家楼下垃圾没人收 在中原区棉纺路国棉三厂家属院，5号楼2单元", "中原区棉纺路国棉三厂家属院5号楼2单元"),
        ("金水路和未来路交叉口往北一百米有个大坑", "金水路和未来路交叉口往北一百米"),
        ("１２号楼３单元电梯坏了", "12号楼3单元"),
        ("那个那个惠济区英才街那边 锦绣华庭小去", "惠济区英才街锦绣华庭小区"),
        ("路灯坏了一排 晚上黑的要死", ""),
        ("二七塔附近的井盖没了", "二七塔附近"),
    ],
)
def test_the_address_is_the_most_specific_run_of_mentions(gazetteer: Gazetteer, text: str, address: str) -> None:
    assert find_place(text, gazetteer).address == address


def test_two_places_in_two_sentences_are_not_one_address(gazetteer: Gazetteer) -> None:
    place = find_place("我住在二七区。昨天在郑东新区如意湖旁边看到有人钓鱼", gazetteer)
    assert place.address == "郑东新区如意湖旁边"
    assert (place.district, place.district_source) == ("郑东新区", "named")  # the address's district
    assert len(place.mentions) == 3
    # Two districts named in one run of mentions: not guessed.
    assert find_place("二七区金水区交界那个路口", gazetteer).district is None


@pytest.mark.parametrize(
    ("text", "district", "source"),
    [
        ("管城区城东路顺城街那个家属院北门", "管城回族区", "named"),
        ("在港区那边的工地干活", "航空港区", "named"),
        ("我住高新區", "高新区", "named"),  # traditional
        ("金水区郑大一附院门口", "金水区", "named"),  # the named district wins over the place's
        ("须水街道那边", "中原区", "street_office"),
        ("厂在薛店", "新郑市", "street_office"),
        ("郑大一附院门口", "二七区", "place"),
        ("大学路上的饭店", "二七区", "place"),
        ("文化路与农业路交叉口", "金水区", "place"),
        ("富士康南边那个工地", "航空港区", "place"),
        ("嵩山路上的路灯", None, None),  # a road through several districts
        ("有个情况想反映一下", None, None),
        ("从郑州站到省人民医院打车要八十", None, None),  # two places, two districts
    ],
)
def test_the_district_and_where_it_came_from(
    gazetteer: Gazetteer, text: str, district: str | None, source: str | None
) -> None:
    place = find_place(text, gazetteer)
    assert (place.district, place.district_source) == (district, source)


def test_a_location_pin_s_label_gives_the_district_and_the_address(gazetteer: Gazetteer) -> None:
    place = find_place("就在这 路口往南几十米", gazetteer, label="河南省郑州市中原区桐柏路与建设西路交叉口")
    assert (place.district, place.district_source) == ("中原区", "label")
    assert place.address == "中原区桐柏路与建设西路交叉口往南几十米"  # the pin, and where from it
    poi = find_place("", gazetteer, label="二七万达广场")
    assert (poi.district, poi.district_source, poi.address) == ("二七区", "label", "二七万达广场")
    # A district named in the text comes first; the label does not override it.
    assert find_place("金水区这边", gazetteer, label="郑州市二七区大学路80号").district == "金水区"


def test_the_pin_s_places_are_matched_too(gazetteer: Gazetteer) -> None:
    typed = find_place("德化街步行街南口有人摆摊卖假包", gazetteer)
    pinned = find_place("步行街南头那个卖包的", gazetteer, label="河南省郑州市二七区德化街")
    assert pinned.mentions == () and [m.key for m in pinned.pinned] == ["district:二七区", "road:德化街"]
    assert typed.keys & pinned.keys == {"road:德化街"}


def test_coordinates_close_to_places_of_one_district(gazetteer: Gazetteer) -> None:
    at_the_tower = find_place("这里的井盖响", gazetteer, lat=34.7540, lon=113.6660)
    assert (at_the_tower.district, at_the_tower.district_source) == ("二七区", "coordinates")
    in_the_fields = find_place("这里", gazetteer, lat=35.2, lon=114.5)  # far from every place
    assert (in_the_fields.district, in_the_fields.district_source) == (None, None)


def test_an_intersection_of_two_known_roads_is_matched_whichever_order(gazetteer: Gazetteer) -> None:
    first = find_place("文化路与农业路交叉口井盖丢了", gazetteer)
    second = find_place("农业路文化路口那个井盖没了", gazetteer)
    assert first.keys == second.keys == {"intersection:农业路|文化路"}


@pytest.mark.parametrize(
    ("text", "relative"),
    [("就在这 路口往南几十米", "路口往南几十米"), ("小区东门", "东门"), ("就在对面", "对面"), ("一直没人管", ""),
     ("我们小区电梯坏了", "")],
)
def test_relative_part(text: str, relative: str) -> None:
    assert relative_part(text) == relative
