"""`/api/v1/deadlines` and `/api/v1/clusters` (list, merge), with their roles."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from bots.conversations.desk import Desk, DeskConfig
from bots.conversations.draft import Draft
from tickets import clusters
from tickets.access.apikeys import Role, create_api_key
from tickets.clock import utcnow
from tickets.clusters import ClusterRule
from tickets.deadlines import policy as deadlines
from tickets.inbox.citizens import CitizenKey, lock_citizen
from tickets.settings import Settings
from tickets.storage.db import create_db_engine
from tickets.storage.schema import notifications, ticket_deadlines

CONFIG = DeskConfig(tz=ZoneInfo("Asia/Shanghai"), public_base_url="https://gw.example.cn")
TEXTS = ["幸福小区3号楼门口的路灯坏了，晚上很黑", "幸福小区3号楼路灯坏了好几天了，晚上太黑",
         "3号楼门口路灯不亮了，晚上很黑，我的电话13812345678"]


@pytest.fixture
def db(settings: Settings) -> Iterator[Engine]:
    engine = create_db_engine(settings.database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def keys(db: Engine) -> dict[Role, dict[str, str]]:
    with db.begin() as conn:
        return {role: {"Authorization": f"Bearer {create_api_key(conn, role.value, role, utcnow())}"}
                for role in Role}


def file_all(db: Engine) -> list[int]:
    now = utcnow() - timedelta(minutes=5)
    ids = []
    with db.begin() as conn:
        for n, text in enumerate(TEXTS):
            citizen = lock_citizen(conn, CitizenKey("wechat", "gh", f"o{n}"), now)
            draft = Draft(description=text, location={"latitude": 34.75, "longitude": 113.62, "label": ""})
            ids.append(Desk(conn, CONFIG, now).open_ticket(citizen, draft).id)
        clusters.sweep(conn, ClusterRule(), utcnow())
    return ids


def test_deadlines_by_state(client: TestClient, db: Engine, keys: dict[Role, dict[str, str]]) -> None:
    ids = file_all(db)
    now = utcnow()
    with db.begin() as conn:
        conn.execute(sa.update(ticket_deadlines).where(ticket_deadlines.c.ticket_id == ids[0])
                     .values(due_at=now - timedelta(hours=2), remind_at=now - timedelta(hours=3)))
        conn.execute(sa.update(ticket_deadlines).where(ticket_deadlines.c.ticket_id == ids[1])
                     .values(due_at=now + timedelta(hours=2), remind_at=now - timedelta(hours=1)))
        deadlines.sweep(conn, now)
    overdue = client.get("/api/v1/deadlines", params={"state": "overdue"}, headers=keys[Role.READER]).json()
    assert [d["ticket_id"] for d in overdue["items"]] == [ids[0]] and overdue["total"] == 1
    assert overdue["items"][0]["escalated_at"] and overdue["items"][0]["overdue_minutes"] >= 119
    soon = client.get("/api/v1/deadlines", params={"state": "due_soon"}, headers=keys[Role.READER]).json()
    assert [(d["ticket_id"], d["overdue_minutes"]) for d in soon["items"]] == [(ids[1], 0)]
    assert soon["items"][0]["reminded_at"]
    assert client.get("/api/v1/deadlines", params={"state": "later"}, headers=keys[Role.READER]).status_code == 422
    assert client.get("/api/v1/deadlines").status_code == 401


def test_list_and_merge_clusters(client: TestClient, db: Engine, keys: dict[Role, dict[str, str]]) -> None:
    ids = file_all(db)
    listed = client.get("/api/v1/clusters", headers=keys[Role.READER]).json()
    [cluster] = listed["items"]
    assert [t["ticket_id"] for t in cluster["tickets"]] == ids and cluster["size"] == 3
    assert "13812345678" not in str(cluster) and cluster["warning_subject"] == f"cluster:{cluster['id']}"
    warned = client.get("/api/v1/warnings", headers=keys[Role.READER]).json()["items"]
    assert [(w["subject"], w["kind"], w["level"]) for w in warned] == [(f"cluster:{cluster['id']}", "cluster", 1)]
    path = f"/api/v1/clusters/{cluster['id']}/merge"
    assert client.post(path, headers=keys[Role.READER]).status_code == 403
    assert client.post(path, json={"primary_ticket_id": 99999}, headers=keys[Role.DISPATCHER]).status_code == 409
    merged = client.post(path, json={"primary_ticket_id": ids[1]}, headers=keys[Role.DISPATCHER]).json()
    assert merged["status"] == "merged" and merged["primary_ticket_id"] == ids[1]
    assert [t["status"] for t in merged["tickets"]] == ["merged", "received", "merged"]
    with db.connect() as conn:
        notes = conn.execute(sa.select(notifications.c.ticket_id, notifications.c.payload)).all()
    assert sorted(n.ticket_id for n in notes) == [ids[0], ids[2]]
    assert all("已合并办理" in n.payload["note"] for n in notes)
    assert client.post("/api/v1/clusters/99999/merge", headers=keys[Role.DISPATCHER]).status_code == 404
    assert client.get("/api/v1/clusters", params={"status": "open"}, headers=keys[Role.READER]).json()["total"] == 0
