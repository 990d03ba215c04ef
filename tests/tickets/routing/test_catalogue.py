"""The routing catalogue: the repository's file validates; bad catalogues are refused with every reason;
admins' versions are kept and put in force, on both backends."""

from __future__ import annotations

import copy
import tomllib
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy.engine import Engine

from tickets.routing import catalogue
from tickets.routing.catalogue import CatalogueError

NOW = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)


def body() -> dict[str, Any]:
    return tomllib.loads(catalogue.DEFAULT_PATH.read_text(encoding="utf-8"))


def test_the_repository_file_is_valid_and_versioned() -> None:
    book = catalogue.load_file()
    assert {"housing_delivery", "unpaid_wages", "legal_services", "winter_heating"} <= book.hot_topics
    assert {"roads", "sanitation", "noise", "water", "property", "traffic", "market"} <= set(book.zones)
    assert book.units["dongcheng_urban"].districts == {"dongcheng"}
    assert book.unit_id("市热力集团客户服务中心") == "city_heat_co" and book.unit_id("city_water") == "city_water"
    assert book.unit_id("某个新单位") == "某个新单位"
    reordered = dict(reversed(list(body().items())))
    assert catalogue.version_of(reordered) == book.version  # key order does not make a new version


def problems_of(data: dict[str, Any]) -> list[str]:
    with pytest.raises(CatalogueError) as refused:
        catalogue.parse(data)
    return refused.value.problems


def test_broken_references_are_all_reported() -> None:
    data = body()
    data["categories"][0]["zone"] = "nowhere"
    data["units"][0]["districts"] = ["atlantis"]
    data["units"].append(copy.deepcopy(data["units"][1]))
    data["out_of_scope"][0]["id"] = "alien_invasion"
    problems = problems_of(data)
    assert "categories.delayed_delivery: unknown zone 'nowhere'" in problems
    assert "units.dongcheng_urban.districts: unknown district 'atlantis'" in problems
    assert "units: id 'xicheng_urban' appears twice" in problems
    assert any(p.startswith("out_of_scope.alien_invasion: not one the chat can refer") for p in problems)


def test_shape_errors_are_refused() -> None:
    data = body()
    data["types"] = data["types"][:4]
    data["urgency"] = {"urgent": ["危险"]}
    data["districts"][0]["words"] = []
    data["zones"][0]["hot_topic"] = "yes"
    data["colour"] = "blue"
    problems = problems_of(data)
    assert any(p.startswith("types: exactly help") for p in problems)
    assert any(p.startswith("urgency:") for p in problems)
    assert "districts.dongcheng.words: needs at least one word" in problems
    assert "zones.housing_delivery: hot_topic must be true or false" in problems
    assert "unknown section 'colour'" in problems
    assert problems_of([]) == ["the catalogue must be a table (a JSON object)"]  # type: ignore[arg-type]


def test_a_category_nobody_handles_is_refused() -> None:
    data = body()
    data["categories"].append({"id": "ufo", "name": "不明飞行物", "zone": "roads", "keywords": ["飞碟"]})
    for unit in data["units"]:
        unit["zones"] = [z for z in unit["zones"] if z != "roads"]
    assert "categories.ufo: no unit handles it" in problems_of(data)


def test_saved_versions_come_into_force_and_bad_ones_save_nothing(engine: Engine) -> None:
    with engine.begin() as conn:
        assert catalogue.current(conn).version == catalogue.load_file().version
        assert catalogue.history(conn) == []
    data = body()
    data["districts"][0]["words"].append("东湖路")
    with engine.begin() as conn:
        saved = catalogue.save(conn, data, actor="api:admin", now=NOW)
    bad = body()
    bad["units"] = []
    with pytest.raises(CatalogueError), engine.begin() as conn:
        catalogue.save(conn, bad, actor="api:admin", now=NOW)
    with engine.connect() as conn:
        book = catalogue.current(conn)
        [(version, who, _)] = catalogue.history(conn)
    assert book.version == saved.version == version != catalogue.load_file().version and who == "api:admin"
    assert "东湖路" in book.districts[0].words
