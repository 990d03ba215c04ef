"""`/api/v1/tickets`, `/t/{code}`, health and readiness, on both backends."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient

from gateway.app import create_app
from tests.conftest import redis_url
from tickets import repository
from tickets.access.apikeys import Role, create_api_key
from tickets.inbox.citizens import CitizenKey, lock_citizen
from tickets.lifecycle import Status
from tickets.repository import NewTicket
from tickets.settings import Settings
from tickets.storage.db import create_db_engine

NOW = datetime(2026, 11, 23, 3, 0, tzinfo=UTC)
TZ = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def seeded(settings: Settings) -> dict[str, str]:
    engine = create_db_engine(settings.database_url)
    with engine.begin() as conn:
        citizen = lock_citizen(conn, CitizenKey("wechat", "gh_x", "oSecretOpenId123456"), NOW)
        first = repository.open_ticket(conn, NewTicket("wechat", citizen.id, "路灯坏了，电话13812345678",
                                                       address="幸福路1号"), NOW, TZ)
        repository.open_ticket(conn, NewTicket("wechat", citizen.id, "井盖丢失"), NOW + timedelta(hours=1), TZ)
        repository.change_status(conn, first.id, Status.ACCEPTED, actor="dispatch", note="已派维修班组",
                                 now=NOW + timedelta(hours=2))
        keys = {role.value: create_api_key(conn, role.value, role, NOW) for role in Role}
    engine.dispose()
    return keys | {"code": first.tracking_code, "id": str(first.id)}


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def test_list_filters_and_pages(client: TestClient, seeded: dict[str, str]) -> None:
    listing = client.get("/api/v1/tickets", headers=auth(seeded["reader"])).json()
    assert listing["total"] == 2 and [t["description"] for t in listing["items"]] == [
        "井盖丢失", "路灯坏了，电话138****5678"]
    accepted = client.get("/api/v1/tickets", params={"status": "accepted"}, headers=auth(seeded["reader"])).json()
    assert [t["number"] for t in accepted["items"]] == ["20261123-0001"]
    page2 = client.get("/api/v1/tickets", params={"per_page": 1, "page": 2}, headers=auth(seeded["admin"])).json()
    assert page2["total"] == 2 and len(page2["items"]) == 1 and page2["items"][0]["number"] == "20261123-0001"
    since = (NOW + timedelta(minutes=30)).isoformat()
    assert client.get("/api/v1/tickets", params={"created_since": since},
                      headers=auth(seeded["reader"])).json()["total"] == 1
    assert client.get("/api/v1/tickets", params={"status": "bogus"}, headers=auth(seeded["reader"])).status_code == 422


def test_detail_has_timeline_and_masked_citizen(client: TestClient, seeded: dict[str, str]) -> None:
    detail = client.get(f"/api/v1/tickets/{seeded['id']}", headers=auth(seeded["dispatcher"])).json()
    assert [e["status_to"] for e in detail["timeline"]] == ["received", "accepted"]
    assert detail["timeline"][1]["note"] == "已派维修班组"
    assert detail["citizen"] == {"channel": "wechat", "account": "gh_x", "user": "oSec***56"}
    assert "oSecretOpenId123456" not in str(detail) and "13812345678" not in str(detail)
    assert client.get("/api/v1/tickets/999", headers=auth(seeded["reader"])).status_code == 404


def test_keys_are_required(client: TestClient, seeded: dict[str, str]) -> None:
    assert client.get("/api/v1/tickets").status_code == 401
    assert client.get("/api/v1/tickets", headers=auth("pgk_wrong")).status_code == 401
    assert client.get("/api/v1/tickets", headers={"Authorization": "Basic eDp5"}).status_code == 401


def test_tracking_page_shows_progress_without_personal_data(client: TestClient, seeded: dict[str, str]) -> None:
    page = client.get(f"/t/{seeded['code'].lower()}")
    assert page.status_code == 200
    assert "已受理" in page.text and "已派维修班组" in page.text and "2026年11月23日 13:00" in page.text
    assert "13812345678" not in page.text and "138****5678" in page.text
    assert "oSecretOpenId" not in page.text
    assert client.get("/t/ZZZZZZZZZZ").status_code == 404
    assert client.get("/t/<script>").status_code == 404


def test_health_and_readiness(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["checks"] == {"database": "ok"}


def test_readiness_checks_redis(settings: Settings) -> None:
    settings.redis_url = redis_url(15)
    with TestClient(create_app(settings, run_jobs=False)) as client:
        assert client.get("/readyz").json()["checks"]["redis"] == "ok"
    settings.redis_url = "redis://127.0.0.1:1/0"
    with TestClient(create_app(settings, run_jobs=False)) as client:
        ready = client.get("/readyz")
    assert ready.status_code == 503 and ready.json()["checks"]["redis"].startswith("error")


def test_openapi_documents_the_api(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    assert "/api/v1/tickets" in spec["paths"] and "/webhooks/wechat" in spec["paths"]
    assert "/dev/wechat" not in spec["paths"]
