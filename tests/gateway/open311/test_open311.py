"""Open311 GeoReport v2: discovery, services, posting and reading requests, in JSON and XML."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET  # noqa: S405 (our own responses)
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from gateway.open311.catalogue import REQUEST_FIELDS
from tickets.access.apikeys import Role, create_api_key
from tickets.clock import utcnow
from tickets.settings import Settings
from tickets.storage.db import create_db_engine
from tickets.storage.schema import ticket_routing, tickets, warnings

SERVICE_FIELDS = {"service_code", "service_name", "description", "metadata", "type", "keywords", "group"}
BASE = "/open311/v2"


@pytest.fixture
def db(settings: Settings) -> Iterator[Engine]:
    engine = create_db_engine(settings.database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def key(db: Engine) -> str:
    with db.begin() as conn:
        return create_api_key(conn, "open311-client", Role.READER, utcnow())


def post(client: TestClient, fmt: str, **form: str) -> tuple[int, bytes]:
    response = client.post(f"{BASE}/requests.{fmt}", data=form)
    return response.status_code, response.content


def xml_items(body: bytes, root: str, item: str) -> list[dict[str, str]]:
    top = ET.fromstring(body)  # noqa: S314 (our own response)
    assert top.tag == root
    return [{child.tag: child.text or "" for child in element} for element in top.findall(item)]


def test_discovery_and_services(client: TestClient) -> None:
    discovery = client.get(f"{BASE}/discovery.json").json()
    assert discovery["endpoints"][0]["url"] == "https://gw.example.cn/open311/v2"
    assert "application/json" in discovery["endpoints"][0]["formats"]
    assert ET.fromstring(client.get(f"{BASE}/discovery.xml").content).find("endpoints/endpoint/type").text \
        == "production"  # noqa: S314
    services = client.get(f"{BASE}/services.json").json()
    assert {s["service_code"] for s in services} >= {"general", "unpaid_wages", "winter_heating"}
    assert all(set(s) == SERVICE_FIELDS for s in services)
    response = client.get(f"{BASE}/services.xml")
    assert response.headers["content-type"].startswith("text/xml")
    listed = xml_items(response.content, "services", "service")
    assert [s["service_code"] for s in listed] == [s["service_code"] for s in services]
    assert all(set(s) == SERVICE_FIELDS for s in listed) and listed[0]["metadata"] == "false"
    definition = client.get(f"{BASE}/services/unpaid_wages.json").json()
    assert definition == {"service_code": "unpaid_wages", "attributes": []}
    assert ET.fromstring(client.get(f"{BASE}/services/unpaid_wages.xml").content).tag == "service_definition"  # noqa: S314


def test_post_then_read_in_json_and_xml(client: TestClient, key: str) -> None:
    status, body = post(client, "json", api_key=key, service_code="unpaid_wages", lat="34.75", long="113.62",
                        description="工地拖欠工资三个月，联系电话13812345678", email="a@example.cn",
                        first_name="张", phone="13812345678", media_url="https://img.example.cn/1.jpg")
    assert status == 200
    [created] = json.loads(body)
    number = created["service_request_id"]
    assert set(created) == {"service_request_id", "service_notice", "account_id"}
    assert number in created["service_notice"] and "前答复" in created["service_notice"]
    status, body = post(client, "xml", api_key=key, service_code="general", address_string="幸福路12号",
                        description="路灯坏了")
    [second] = xml_items(body, "service_requests", "request")
    assert status == 200 and second["service_request_id"] != number

    [one] = client.get(f"{BASE}/requests/{number}.json").json()
    assert set(one) == set(REQUEST_FIELDS)
    assert one["status"] == "open" and one["service_code"] == "unpaid_wages" and one["lat"] == 34.75
    assert one["long"] == 113.62 and one["media_url"] == "https://img.example.cn/1.jpg"
    assert "13812345678" not in json.dumps(one, ensure_ascii=False) and "张" not in one["description"]
    assert one["expected_datetime"].endswith("+08:00") and one["requested_datetime"].endswith("+08:00")
    [as_xml] = xml_items(client.get(f"{BASE}/requests/{number}.xml").content, "service_requests", "request")
    assert set(as_xml) == set(REQUEST_FIELDS) and as_xml["service_request_id"] == number

    listed = client.get(f"{BASE}/requests.json").json()
    assert [r["service_request_id"] for r in listed] == [second["service_request_id"], number]
    assert all(set(r) == set(REQUEST_FIELDS) for r in listed)
    only = client.get(f"{BASE}/requests.json", params={"service_code": "general"}).json()
    assert [r["service_request_id"] for r in only] == [second["service_request_id"]]
    assert client.get(f"{BASE}/requests.json", params={"status": "closed"}).json() == []
    both = client.get(f"{BASE}/requests.xml", params={"service_request_id": f"{number},nothing"}).content
    assert [r["service_request_id"] for r in xml_items(both, "service_requests", "request")] == [number]
    assert client.get(f"{BASE}/requests.json", params={"end_date": "2020-01-01T00:00:00+08:00"}).json() == []


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_errors_follow_the_spec(client: TestClient, key: str, fmt: str) -> None:
    def errors(status: int, body: bytes) -> tuple[int, list[dict[str, str]]]:
        if fmt == "json":
            return status, [{k: str(v) for k, v in e.items()} for e in json.loads(body)]
        return status, xml_items(body, "errors", "error")

    cases = [
        (post(client, fmt, api_key="pgk_wrong", service_code="general", lat="1", long="2", description="x"), 403),
        (post(client, fmt, api_key=key, lat="1", long="2", description="x"), 400),
        (post(client, fmt, api_key=key, service_code="nope", lat="1", long="2", description="x"), 400),
        (post(client, fmt, api_key=key, service_code="general", description="x"), 400),
        (post(client, fmt, api_key=key, service_code="general", lat="91", long="2", description="x"), 400),
        (post(client, fmt, api_key=key, service_code="general", lat="1", long="2"), 400),
    ]
    for (status, body), expected in cases:
        got_status, [entry] = errors(status, body)
        assert got_status == expected and entry["code"] == str(expected) and entry["description"]
    for path, expected in ((f"{BASE}/requests/20990101-0001.{fmt}", 404), (f"{BASE}/services/nope.{fmt}", 404),
                           (f"{BASE}/requests.{fmt}?start_date=yesterday", 400),
                           (f"{BASE}/requests.{fmt}?status=pending", 400)):
        response = client.get(path)
        got_status, [entry] = errors(response.status_code, response.content)
        assert got_status == expected and entry["code"] == str(expected)
    assert client.get(f"{BASE}/services.csv").json() == [{"code": 404, "description": "format 'csv' not supported:"
                                                                                      " use .json or .xml"}]


def test_coordinates_that_are_no_point_on_earth_are_refused(client: TestClient, key: str, db: Engine) -> None:
    for lat, long in (("NaN", "113.62"), ("inf", "113.62"), ("34.75", "-Infinity"), ("1e400", "0"),
                      ("-90.5", "113.62"), ("34.75", "180.01")):
        status, body = post(client, "json", api_key=key, service_code="general", lat=lat, long=long,
                            description="路灯坏了")
        assert (lat, long, status) == (lat, long, 400)
        assert json.loads(body)[0]["code"] == 400
    with db.connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM tickets").scalar_one() == 0


def test_a_posted_danger_is_triaged_on_the_one_opening_path(client: TestClient, key: str, db: Engine) -> None:
    status, body = post(client, "json", api_key=key, service_code="general", address_string="文化路80号",
                        description="路口的井盖没了，一个大窟窿，晚上有人差点掉进去")
    assert status == 200
    number = json.loads(body)[0]["service_request_id"]
    with db.connect() as conn:
        ticket_id, urgency = conn.execute(sa.select(tickets.c.id, tickets.c.urgency)
                                          .where(tickets.c.number == number)).one()
        triage = conn.execute(sa.select(ticket_routing.c.triage)
                              .where(ticket_routing.c.ticket_id == ticket_id)).scalar_one()
        raised = conn.execute(sa.select(warnings.c.kind).where(warnings.c.subject == f"ticket:{ticket_id}")).all()
    assert urgency == "urgent" and triage["kind"] == "urgent" and raised == [("urgent",)]
