"""Helpers of the console tests: users, signing in through the form, tickets and petitions to look at."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import httpx
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from tickets import repository
from tickets.access.officers import UserRole, create_user
from tickets.clock import utcnow
from tickets.inbox.citizens import CitizenKey, lock_citizen
from tickets.repository import NewAttachment, NewTicket, Ticket
from tickets.settings import Settings

PASSWORD = "a long console password"
CSRF = re.compile(r'name="csrf" value="([0-9a-f]+)"')


def make_user(engine: Engine, username: str, role: UserRole) -> None:
    with engine.begin() as conn:
        create_user(conn, username, role, PASSWORD, utcnow())


def csrf_of(html: str) -> str:
    found = CSRF.search(html)
    assert found, "no CSRF field on the page"
    return found.group(1)


def sign_in(client: TestClient, username: str, password: str = PASSWORD) -> httpx.Response:
    form = client.get("/console/login")
    return client.post("/console/login", data={"username": username, "password": password,
                                               "csrf": csrf_of(form.text)}, follow_redirects=False)


def open_ticket(engine: Engine, settings: Settings, description: str, *, channel: str = "wechat",
                openid: str = "oConsoleCitizen01", created_at: datetime | None = None,
                photos: tuple[NewAttachment, ...] = (), latitude: float | None = None,
                longitude: float | None = None, label: str = "") -> Ticket:
    now = created_at or utcnow()
    with engine.begin() as conn:
        citizen = lock_citizen(conn, CitizenKey(channel, "gh_console", openid), now)
        return repository.open_ticket(conn, NewTicket(
            channel=channel, citizen_id=citizen.id, description=description, address="文化路80号",
            latitude=latitude, longitude=longitude, location_label=label, attachments=photos), now, settings.tz)


def days_ago(n: int) -> datetime:
    return datetime.now(UTC) - timedelta(days=n)
