"""The gazetteer files: they load, every place lies in a known district, names and aliases share a key."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from language.places import Gazetteer, load_gazetteer
from language.places.normal import normalise_place_text
from tests.language.places.conftest import CATALOGUE


def test_the_shipped_files_load_with_every_district_and_place(gazetteer: Gazetteer) -> None:
    assert len(gazetteer.districts) == 16
    assert gazetteer.districts["管城回族区"].id == "guancheng"
    places = tomllib.loads((CATALOGUE / "places.toml").read_text(encoding="utf-8"))["place"]
    assert len(places) >= 480
    for row in places:
        assert row["district"] == "several" or row["district"] in gazetteer.districts, row["name"]
        for district in row.get("districts", []):
            assert district in gazetteer.districts, row["name"]
        assert normalise_place_text(row["name"]) in gazetteer.surfaces, row["name"]


def test_a_name_and_its_aliases_share_one_key(gazetteer: Gazetteer) -> None:
    full = gazetteer.surfaces["郑州大学第一附属医院河医院区"]
    assert gazetteer.surfaces["郑大一附院"].key == full.key == gazetteer.surfaces["河医"].key
    assert full.district == "二七区" and full.kind == "landmark"
    assert gazetteer.surfaces["二七塔"].key == gazetteer.surfaces["二七纪念塔"].key


def test_a_direction_in_a_road_s_name_is_another_stretch_of_the_same_road(gazetteer: Gazetteer) -> None:
    north, road = gazetteer.surfaces["嵩山北路"], gazetteer.surfaces["嵩山路"]
    assert north.base == road.base == "嵩山路"  # one road for junctions
    assert north.key != road.key  # not one address: 嵩山路 8号 is not 嵩山北路 8号
    assert gazetteer.surfaces["陇海快速路"].key == gazetteer.surfaces["陇海路"].key  # another name, same road


def test_districts_and_street_offices_under_every_name(gazetteer: Gazetteer) -> None:
    for form in ("管城区", "管城回族区", "郑州市管城回族区", "港区", "航空港区", "荣阳"):
        assert gazetteer.surfaces[form].kind == "district", form
    assert gazetteer.surfaces["二七"].ambiguous and not gazetteer.surfaces["二七区"].ambiguous
    assert gazetteer.surfaces["花园路街道"].kind == "street_office"
    assert gazetteer.surfaces["花园路街道办事处"].district == "金水区"
    assert gazetteer.surfaces["石佛办事处"].district == "高新区"
    # A township without 镇: its district; a street office two county-level cities have: no district.
    assert gazetteer.surfaces["薛店"].district == "新郑市"
    assert gazetteer.surfaces["新华路街道"].district is None
    assert gazetteer.surfaces["新华路街道"].districts == {"巩义市", "新密市", "新郑市"}
    assert "八千" not in gazetteer.surfaces  # 八千乡 is a township, 八千 a sum of money


def test_roads_through_several_districts_list_them(gazetteer: Gazetteer) -> None:
    assert gazetteer.surfaces["紫荆山路"].district is None
    assert gazetteer.surfaces["紫荆山路"].districts == {"金水区", "管城回族区"}
    assert gazetteer.surfaces["中州大道"].districts == frozenset()  # not known: none assumed


def test_points_place_pins_by_district(gazetteer: Gazetteer) -> None:
    assert any(p.district == "二七区" and p.radius_m < 2000 for p in gazetteer.points)
    assert {p.district for p in gazetteer.points} == set(gazetteer.districts)


def _write(tmp_path: Path, place: str) -> tuple[Path, Path]:
    districts = tmp_path / "districts.toml"
    districts.write_text(
        '[[district]]\nid = "a"\nname = "甲区"\nfull_name = "某市甲区"\naliases = []\nkind = "district"\n'
        'lat = 34.0\nlon = 113.0\nstreets = ["一街道"]\n',
        encoding="utf-8",
    )
    places = tmp_path / "places.toml"
    places.write_text(place, encoding="utf-8")
    return places, districts


def test_another_city_s_files_load_the_same_way(tmp_path: Path) -> None:
    places, districts = _write(tmp_path, '[[place]]\nname = "乙路"\nkind = "road"\ndistrict = "甲区"\n')
    gazetteer = load_gazetteer(places, districts)
    assert gazetteer.surfaces["乙路"].district == "甲区"
    assert gazetteer.surfaces["一街道办事处"].district == "甲区"


@pytest.mark.parametrize(
    ("place", "message"),
    [
        ('[[place]]\nname = "乙路"\nkind = "road"\ndistrict = "丙区"\n', "unknown districts"),
        ('[[place]]\nname = "乙路"\nkind = "road"\ndistrict = "several"\ndistricts = ["丙区"]\n', "unknown districts"),
        ('[[place]]\nname = "乙塔"\nkind = "tower"\ndistrict = "甲区"\n', "unknown kind"),
    ],
)
def test_a_place_in_an_unknown_district_or_of_an_unknown_kind_is_refused(
    tmp_path: Path, place: str, message: str
) -> None:
    places, districts = _write(tmp_path, place)
    with pytest.raises(ValueError, match=message):
        load_gazetteer(places, districts)
