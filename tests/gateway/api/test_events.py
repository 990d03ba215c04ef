"""`POST /api/v1/tickets/{id}/events` from the dispatch system, the rating form, satisfaction figures."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from tickets import codes, repository
from tickets.access.apikeys import Role, create_api_key
from tickets.inbox.citizens import CitizenKey, lock_citizen
from tickets.repository import NewTicket
from tickets.settings import Settings
from tickets.storage.db import create_db_engine
from tickets.storage.schema import notifications, outbox, ticket_events

NOW = datetime(2026, 11, 23, 3, 0, tzinfo=UTC)


@pytest.fixture
def world(settings: Settings) -> dict[str, str]:
    engine = create_db_engine(settings.database_url)
    with engine.begin() as conn:
        citizen = lock_citizen(conn, CitizenKey("wechat", "gh_x", "oCitizen9"), NOW)
        ticket = repository.open_ticket(conn, NewTicket("wechat", citizen.id, "路面塌陷", address="建设路"), NOW,
                                        ZoneInfo("Asia/Shanghai"))
        keys = {role.value: create_api_key(conn, role.value, role, NOW) for role in Role}
    engine.dispose()
    return keys | {"id": str(ticket.id), "code": ticket.tracking_code}


def event(client: TestClient, world: dict[str, str], body: dict[str, object], role: str = "dispatcher",
          headers: dict[str, str] | None = None) -> object:
    return client.post(f"/api/v1/tickets/{world['id']}/events", content=json.dumps(body, ensure_ascii=False),
                       headers={"Authorization": f"Bearer {world[role]}", **(headers or {})})


def count(settings: Settings, table: sa.Table) -> int:
    engine = create_db_engine(settings.database_url)
    with engine.connect() as conn:
        n = int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())
    engine.dispose()
    return n


def test_status_event_is_recorded_once_and_notifies(client: TestClient, world: dict[str, str],
                                                    settings: Settings) -> None:
    body = {"event_id": "disp-1", "status": "dispatched", "unit": "市政养护中心", "note": "已派单给养护中心",
            "expected_at": "2026-11-25T18:00:00+08:00"}
    first = event(client, world, body)
    assert first.status_code == 201 and first.json()["status"] == "dispatched"  # type: ignore[attr-defined]
    again = event(client, world, body)
    assert again.status_code == 200 and again.json()["created"] is False  # type: ignore[attr-defined]
    assert count(settings, ticket_events) == 2  # received + dispatched
    assert count(settings, notifications) == 1
    engine = create_db_engine(settings.database_url)
    with engine.connect() as conn:
        assert conn.execute(sa.select(outbox.c.topic)).scalars().all() == ["notification.deliver"]
        ticket = repository.get_ticket(conn, int(world["id"]))
    engine.dispose()
    assert ticket.unit == "市政养护中心" and ticket.expected_at == datetime(2026, 11, 25, 10, tzinfo=UTC)
    page = client.get(f"/t/{world['code']}").text
    assert "市政养护中心" in page and "已派单给养护中心" in page and "2026年11月25日 18:00" in page


def test_invalid_transition_and_bad_input(client: TestClient, world: dict[str, str], settings: Settings) -> None:
    refused = event(client, world, {"event_id": "disp-2", "status": "closed"})
    assert refused.status_code == 409 and refused.json()["current"] == "received"  # type: ignore[attr-defined]
    assert event(client, world, {"event_id": "disp-3", "status": "flying"}).status_code == 400  # type: ignore[attr-defined]
    assert event(client, world, {"status": "accepted"}).status_code == 400  # type: ignore[attr-defined]
    naive = {"event_id": "disp-4", "status": "accepted", "expected_at": "2026-11-25T18:00:00"}
    assert event(client, world, naive).status_code == 400  # type: ignore[attr-defined]
    assert count(settings, notifications) == 0


def test_roles_and_unknown_ticket(client: TestClient, world: dict[str, str]) -> None:
    body = {"event_id": "disp-5", "status": "accepted"}
    assert event(client, world, body, role="reader").status_code == 403  # type: ignore[attr-defined]
    response = client.post("/api/v1/tickets/999/events", json=body,
                           headers={"Authorization": f"Bearer {world['dispatcher']}"})
    assert response.status_code == 404


def test_signature_header(client: TestClient, world: dict[str, str], settings: Settings) -> None:
    settings.dispatch_webhook_secret = "shared-secret-0123456789"
    body = {"event_id": "disp-6", "status": "accepted"}
    raw = json.dumps(body, ensure_ascii=False).encode()
    good = "sha256=" + hmac.new(b"shared-secret-0123456789", raw, hashlib.sha256).hexdigest()
    assert event(client, world, body, headers={"X-Gateway-Signature": "sha256=00"}).status_code == 403  # type: ignore[attr-defined]
    settings.dispatch_require_signature = True
    assert event(client, world, body).status_code == 401  # type: ignore[attr-defined]
    assert event(client, world, body, headers={"X-Gateway-Signature": good}).status_code == 201  # type: ignore[attr-defined]


def test_rating_on_the_progress_page(client: TestClient, world: dict[str, str], settings: Settings) -> None:
    for n, status in enumerate(("accepted", "resolved")):
        event(client, world, {"event_id": f"r{n}", "status": status, "note": "已修复"})
    anyone = client.get(f"/t/{world['code']}")
    assert "请您评价" not in anyone.text and "等待反映问题的市民评价" in anyone.text
    token = codes.rating_token(codes.rating_key(settings.secret_key), world["code"])  # the filer's notice has it
    page = client.get(f"/t/{world['code']}?r={token}")
    assert "请您评价" in page.text
    csrf = page.text.split('name="csrf" value="')[1].split('"')[0]
    form = {"satisfaction": "unsatisfied", "solved": "false", "reason": "坑还在", "csrf": csrf, "r": token}
    assert client.post(f"/t/{world['code']}/evaluation", data=form | {"csrf": "forged"}).status_code == 403
    done = client.post(f"/t/{world['code']}/evaluation", data=form)
    assert done.status_code == 200 and "感谢您的评价" in done.text and "重新办理中" in done.text
    figures = client.get("/api/v1/stats/satisfaction", headers={"Authorization": f"Bearer {world['reader']}"}).json()
    assert figures["total"] == 1 and figures["by_grade"]["unsatisfied"] == 1 and figures["solved_rate"] == 0.0
