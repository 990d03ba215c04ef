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
    assert book.hot_topics == {"housing_delivery", "unpaid_wages", "legal_services", "winter_heating"}
    assert set(book.types) == {"consultation", "help", "complaint", "report", "suggestion"}
    assert len(book.districts) == 16 and len(book.kinds) >= 30
    assert book.units["jinshui_urban_management"].districts == {"jinshui"}
    assert book.units["jinshui_urban_management"].name == "金水区城市管理局"
    assert book.units["jinshui_police"].name == "郑州市公安局金水分局"  # the name offices use
    assert book.units["xinzheng_police"].name == "新郑市公安局"  # a county-level city's own office
    assert book.unit_id("郑州热力集团有限公司") == "heating" and book.unit_id("water") == "water"
    assert book.kind_of("金水区城市管理局") == "urban_management" and book.kind_of("某个新单位") == ""
    assert book.unit_id("某个新单位") == "某个新单位"
    assert book.unit_for("police", "二七区").id == "erqi_police" and book.unit_for("police", None).id == "police"
    reordered = dict(reversed(list(body().items())))
    assert catalogue.version_of(reordered) == book.version  # key order does not make a new version


def problems_of(data: dict[str, Any]) -> list[str]:
    with pytest.raises(CatalogueError) as refused:
        catalogue.parse(data)
    return refused.value.problems


def test_broken_references_are_all_reported() -> None:
    data = body()
    data["kinds"][0]["zone"] = "nowhere"
    data["kinds"][1]["district_office"] = "交警大队"
    data["kinds"][2]["district_office"] = "{city}街道办"
    data["kinds"].append(copy.deepcopy(data["kinds"][3]))
    data["examples"] = ["../../etc/passwd"]
    problems = problems_of(data)
    assert "kinds.police: unknown zone 'nowhere'" in problems
    assert "kinds.traffic_police.district_office: must name the district with {district} or {short}" in problems
    assert any(p.startswith("kinds.street_office: office") for p in problems)
    assert "kinds: id 'urban_management' appears twice" in problems
    assert any(p.startswith("examples:") for p in problems)


def test_shape_errors_are_refused() -> None:
    data = body()
    data["types"] = data["types"][:4]
    data["districts"][0]["county"] = "yes"
    data["zones"][0]["hot_topic"] = "yes"
    data["kinds"][0]["keywords"] = []
    data["colour"] = "blue"
    problems = problems_of(data)
    assert any(p.startswith("types: exactly consultation") for p in problems)
    assert any(p.endswith(".county must be true or false") for p in problems)
    assert "zones.housing_delivery: hot_topic must be true or false" in problems
    assert "kinds.police.keywords: needs at least one word" in problems
    assert "unknown section 'colour'" in problems
    assert problems_of([]) == ["the catalogue must be a table (a JSON object)"]  # type: ignore[arg-type]


def test_saved_versions_come_into_force_and_bad_ones_save_nothing(engine: Engine) -> None:
    with engine.begin() as conn:
        assert catalogue.current(conn).version == catalogue.load_file().version
        assert catalogue.history(conn) == []
    data = body()
    data["kinds"][0]["keywords"].append("治安巡逻")
    with engine.begin() as conn:
        saved = catalogue.save(conn, data, actor="api:admin", now=NOW)
    bad = body()
    bad["kinds"] = []
    with pytest.raises(CatalogueError), engine.begin() as conn:
        catalogue.save(conn, bad, actor="api:admin", now=NOW)
    with engine.connect() as conn:
        book = catalogue.current(conn)
        [(version, who, _)] = catalogue.history(conn)
    assert book.version == saved.version == version != catalogue.load_file().version and who == "api:admin"
    assert "治安巡逻" in book.kinds["police"].keywords
