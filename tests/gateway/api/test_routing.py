"""`/api/v1/catalogue`, `/api/v1/tickets/{id}/assignment`, `/api/v1/stats/routing` and the routing shown with
a ticket."""

from __future__ import annotations

import json
import tomllib
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient

from bots.conversations.desk import Desk, DeskConfig
from bots.conversations.draft import Draft
from tickets.access.apikeys import Role, create_api_key
from tickets.inbox.citizens import CitizenKey, lock_citizen
from tickets.routing import catalogue
from tickets.settings import Settings
from tickets.storage.db import create_db_engine

NOW = datetime(2026, 12, 1, 3, 0, tzinfo=UTC)


@pytest.fixture
def world(settings: Settings) -> dict[str, str]:
    engine = create_db_engine(settings.database_url)
    with engine.begin() as conn:
        citizen = lock_citizen(conn, CitizenKey("wechat", "gh_x", "oCitizen9"), NOW)
        desk = Desk(conn, DeskConfig(ZoneInfo("Asia/Shanghai"), settings.public_base_url), NOW)
        draft = Draft(description="小区电梯经常坏，困人好几次", address="金水区农业路阳光小区")
        ticket = desk.open_ticket(citizen, draft)
        keys = {role.value: create_api_key(conn, role.value, role, NOW) for role in Role}
    engine.dispose()
    return keys | {"id": str(ticket.id)}


def auth(world: dict[str, str], role: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {world[role]}"}


def test_catalogue_is_read_and_replaced_by_admins_only(client: TestClient, world: dict[str, str]) -> None:
    shown = client.get("/api/v1/catalogue", headers=auth(world, "reader")).json()
    assert shown["source"] == "file" and shown["version"] == catalogue.load_file().version
    data = tomllib.loads(catalogue.DEFAULT_PATH.read_text(encoding="utf-8"))
    data["kinds"].append({"id": "elevator", "name": "电梯安全", "city_office": "郑州市电梯应急处置中心",
                          "keywords": ["电梯困人"]})
    text = json.dumps(data, ensure_ascii=False)
    assert client.put("/api/v1/catalogue", content=text, headers=auth(world, "dispatcher")).status_code == 403
    bad = dict(data, kinds=[])
    refused = client.put("/api/v1/catalogue", content=json.dumps(bad), headers=auth(world, "admin"))
    assert refused.status_code == 400 and "kinds: a non-empty list is required" in refused.json()["problems"]
    assert client.put("/api/v1/catalogue", content=b"{not json", headers=auth(world, "admin")).status_code == 400
    saved = client.put("/api/v1/catalogue", content=text, headers=auth(world, "admin"))
    assert saved.status_code == 200 and saved.json()["version"] != shown["version"]
    assert saved.json()["kinds"] == len(data["kinds"])
    now = client.get("/api/v1/catalogue", headers=auth(world, "reader")).json()
    assert now["source"] == "saved" and now["version"] == saved.json()["version"]
    assert now["history"][0]["saved_by"] == "api:admin"


def test_ticket_shows_its_routing_and_an_assignment_teaches(client: TestClient, world: dict[str, str]) -> None:
    url = f"/api/v1/tickets/{world['id']}"
    routing = client.get(url, headers=auth(world, "reader")).json()["routing"]
    assert routing["type"] in {"help", "complaint", "report"} and routing["district"] == "金水区"
    assert routing["final_unit"] == ""
    assert routing["district_source"] == "named" and routing["problem"] == "market_regulation:电梯"
    assert not routing["vague"]
    assert routing["catalogue_version"] == catalogue.load_file().version and routing["model_version"]
    assert routing["recommendations"][0]["kind"] == "market_regulation"
    unknown = client.post(f"{url}/assignment", json={"unit": "月球管理局"}, headers=auth(world, "dispatcher"))
    assert unknown.status_code == 400
    nowhere = client.post(f"{url}/assignment", json={"unit": "housing_management", "district": "月球区"},
                          headers=auth(world, "dispatcher"))
    assert nowhere.status_code == 400
    assert client.post(f"{url}/assignment", json={"unit": "housing_management"},
                       headers=auth(world, "reader")).status_code == 403
    given = client.post(f"{url}/assignment", json={"unit": "housing_management", "note": "已转房管部门督促物业",
                                                   "type": "help", "zone": "", "district": "金水区"},
                        headers=auth(world, "dispatcher"))
    assert given.status_code == 200 and given.json() == {
        "ticket_id": int(world["id"]), "unit": "housing_management", "unit_name": "郑州市住房保障和房地产管理局",
        "learned": True}
    again = client.post(f"{url}/assignment", json={"unit": "郑州市住房保障和房地产管理局"},
                        headers=auth(world, "dispatcher"))
    assert again.json()["learned"] is False
    detail = client.get(url, headers=auth(world, "reader")).json()
    assert detail["unit"] == "郑州市住房保障和房地产管理局" and detail["routing"]["final_unit"] == "housing_management"
    assert detail["timeline"][-1]["note"] == "" and detail["timeline"][-2]["note"] == "已转房管部门督促物业"
    stats = client.get("/api/v1/stats/routing", headers=auth(world, "reader")).json()
    assert stats["classified"] == 1 and stats["with_final_unit"] == 1 and stats["threshold"] == 0.6
    assert stats["top1_accuracy"] == 0.0 and stats["top3_accuracy"] in (0.0, 1.0)
    assert stats["type_accuracy"] == (1.0 if routing["type"] == "help" else 0.0)
    assert (stats["zone_accuracy"], stats["district_accuracy"]) == (1.0, 1.0)


def test_an_assignment_before_a_worker_routes_a_chats_ticket_keeps_the_review(
        client: TestClient, world: dict[str, str], settings: Settings) -> None:
    engine = create_db_engine(settings.database_url)
    with engine.begin() as conn:  # filed in the chat: routed by a worker after the commit (no worker runs here)
        citizen = lock_citizen(conn, CitizenKey("wechat", "gh_x", "oCitizen8"), NOW)
        desk = Desk(conn, DeskConfig(ZoneInfo("Asia/Shanghai"), settings.public_base_url), NOW)
        draft = Draft(description="楼道里的灯坏了一个月了，晚上上楼看不见", address="金水区农业路阳光小区3号楼")
        ticket = desk.open_ticket(citizen, draft, route_later=True)
    engine.dispose()
    url = f"/api/v1/tickets/{ticket.id}"
    assert client.get(url, headers=auth(world, "reader")).json()["routing"] is None
    given = client.post(f"{url}/assignment", json={"unit": "housing_management", "type": "help", "zone": "",
                                                   "district": "金水区"}, headers=auth(world, "dispatcher"))
    assert given.status_code == 200, given.text
    routing = client.get(url, headers=auth(world, "reader")).json()["routing"]
    assert routing is not None and routing["final_unit"] == "housing_management" and routing["district"] == "金水区"
    stats = client.get("/api/v1/stats/routing", headers=auth(world, "reader")).json()
    assert stats["classified"] == 2 and stats["district_accuracy"] == 1.0  # the review counted, not lost
    assert stats["type_accuracy"] is not None and stats["zone_accuracy"] is not None
