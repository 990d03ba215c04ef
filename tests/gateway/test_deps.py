"""gateway/deps.py: ids and numbers in paths, queries and bodies are bounded at the edge, on every surface.

An integer above what the id columns hold used to reach the database: a 500 on SQLite (OverflowError) and a
false "database unavailable" 503 with Retry-After on PostgreSQL. Now it is a 422 (or a 404), on both.
"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from bots.fakes.alipay import FakeAlipay
from gateway.app import create_app
from gateway.deps import MAX_ID
from gateway.miniapp.session import signer_of
from tests.gateway.console.support import csrf_of, make_user, sign_in
from tickets.access.apikeys import Role, create_api_key
from tickets.access.officers import UserRole
from tickets.clock import utcnow
from tickets.inbox.citizens import CitizenKey, lock_citizen
from tickets.settings import Settings
from tickets.storage.db import create_db_engine

pytest_plugins = ["tests.gateway.alipay_world"]

# Beyond a PostgreSQL INTEGER, beyond a signed 64-bit integer, beyond an unsigned one.
HUGE = [str(MAX_ID + 1), str(2**63), str(2**64), "9" * 40]

# (method, path with {n} where the number goes, JSON body or form): every route that takes an id or a number.
API = [
    ("GET", "/api/v1/tickets/{n}", None), ("GET", "/api/v1/tickets?page={n}", None),
    ("POST", "/api/v1/tickets/{n}/events", {"event_id": "e1", "status": "accepted"}),
    ("POST", "/api/v1/tickets/{n}/assignment", {"unit": "市政照明管理处"}),
    ("GET", "/api/v1/attachments/{n}", None),
    ("GET", "/api/v1/petitions?offset={n}", None), ("POST", "/api/v1/petitions", {"ticket_id": "{n}"}),
    ("GET", "/api/v1/petitions/{n}", None), ("GET", "/api/v1/petitions/{n}/qr.png", None),
    ("GET", "/api/v1/petitions/{n}/qr.svg", None), ("POST", "/api/v1/petitions/{n}/close", None),
    ("GET", "/api/v1/petitions/{n}/signatures", None), ("GET", "/api/v1/petitions/1/signatures?offset={n}", None),
    ("POST", "/api/v1/petitions/{n}/signatures/1/review", {"accept": True}),
    ("POST", "/api/v1/petitions/1/signatures/{n}/review", {"accept": True}),
    ("GET", "/api/v1/warnings?petition_id={n}", None), ("GET", "/api/v1/warnings?offset={n}", None),
    ("POST", "/api/v1/warnings/{n}/ack", {"note": "已处理"}),
    ("GET", "/api/v1/deadlines?offset={n}", None), ("GET", "/api/v1/clusters?offset={n}", None),
    ("POST", "/api/v1/clusters/{n}/merge", None), ("POST", "/api/v1/clusters/1/merge", {"primary_ticket_id": "{n}"}),
]
MINIAPP = [
    ("GET", "/api/v1/miniapp/tickets/{n}/timeline", None),
    ("POST", "/api/v1/miniapp/tickets/{n}/evaluation", {"satisfaction": "satisfied", "solved": True}),
    ("POST", "/api/v1/miniapp/petitions", {"ticket_id": "{n}"}),
]
CONSOLE = [
    ("GET", "/console/tickets/{n}", None), ("GET", "/console/attachments/{n}", None),
    ("POST", "/console/tickets/{n}/status", {"status": "accepted"}),
    ("POST", "/console/tickets/{n}/reassign", {"unit": "市政照明管理处"}),
    ("POST", "/console/tickets/{n}/merge", {"into": "GD20261207-0001"}),
    ("GET", "/console/petitions/{n}", None),
    ("POST", "/console/petitions/{n}/signatures/1/review", {"decision": "accept"}),
    ("POST", "/console/petitions/1/signatures/{n}/review", {"decision": "accept"}),
    ("POST", "/console/warnings/{n}/acknowledge", {"note": ""}),
]


def _fill(value: Any, n: str) -> Any:
    if isinstance(value, dict):
        return {k: _fill(v, n) for k, v in value.items()}
    return int(n) if value == "{n}" else value


@pytest.fixture
def client(alipay_settings: Settings) -> Any:
    with TestClient(create_app(alipay_settings, run_jobs=False), raise_server_exceptions=False) as test_client:
        yield test_client


def test_every_id_and_number_is_bounded_at_the_edge(client: TestClient, alipay_settings: Settings,
                                                    fake_alipay: FakeAlipay) -> None:
    engine = create_db_engine(alipay_settings.database_url)
    with engine.begin() as conn:
        key = create_api_key(conn, "probe", Role.ADMIN, utcnow())
        citizen_id = lock_citizen(conn, CitizenKey("alipay", alipay_settings.alipay_app_id, "2088000000000001"),
                                  utcnow()).id
    make_user(engine, "chief", UserRole.ADMIN)
    engine.dispose()
    session = signer_of(alipay_settings.secret_key, 60).issue(citizen_id)[0]
    headers = {"api": {"Authorization": f"Bearer {key}"}, "miniapp": {"Authorization": f"Bearer {session}"},
               "console": {}}
    assert sign_in(client, "chief").status_code == 303
    csrf = csrf_of(client.get("/console/tickets").text)
    answers: dict[str, int] = {}
    for surface, cases in (("api", API), ("miniapp", MINIAPP), ("console", CONSOLE)):
        for method, path, body in cases:
            for n in HUGE:
                url = path.replace("{n}", n)
                if method == "GET":
                    response = client.get(url, headers=headers[surface], follow_redirects=False)
                elif surface == "console":
                    response = client.post(url, data=(body or {}) | {"csrf": csrf}, follow_redirects=False)
                else:
                    response = client.post(url, headers=headers[surface], json=_fill(body, n) if body else None)
                answers[f"{method} {url} {body or ''}"] = response.status_code
    wrong = {request: status for request, status in answers.items() if status not in (404, 422)}
    assert wrong == {}


def test_every_integer_parameter_of_the_api_has_a_maximum(client: TestClient) -> None:
    # New routes too: the OpenAPI document lists every path and query parameter of the JSON APIs.
    unbounded = []
    for path, operations in client.get("/openapi.json").json()["paths"].items():
        for method, operation in operations.items():
            for parameter in operation.get("parameters", []):
                schema = parameter["schema"]
                options = [schema, *schema.get("anyOf", [])]
                if any(o.get("type") == "integer" and "maximum" not in o for o in options):
                    unbounded.append(f"{method.upper()} {path} {parameter['name']}")
    assert unbounded == []
