"""`/metrics`: requests by route template, messages, tickets, signatures, warnings, notifications, jobs and the
outbox backlog, as Prometheus reads them (the text format, parsed back)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy.engine import Connection, Engine

from bots.fakes.wechat import FakeWeChat
from gateway.app import create_app
from tests.gateway.conftest import WeChatSide, run_jobs
from tests.gateway.test_webhooks import post
from tests.tickets.test_petitions import _ticket
from tickets import outbox, petitions
from tickets.clock import utcnow
from tickets.inbox.citizens import CitizenKey, lock_citizen
from tickets.lifecycle import Status
from tickets.outbox import Topic
from tickets.petitions import Signer, SurgeRule
from tickets.settings import Settings
from workers.context import WorkerContext, install
from workers.runner import Loop

OPENID = "oMetricsCitizen01"


def scrape(client: TestClient, **headers: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of /metrics by name and labels."""
    answer = client.get("/metrics", headers=headers)
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/plain")
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(answer.text) for s in family.samples}


def value(samples: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def test_requests_are_counted_by_route_template_not_raw_path(client: TestClient) -> None:
    before = scrape(client)
    for code in ("AAAAAAAAAA", "BBBBBBBBBB", "CCCCCCCCCC"):
        assert client.get(f"/t/{code}").status_code == 404
    client.get("/no/such/page/12345")
    after = scrape(client)
    key = {"method": "GET", "route": "/t/{code}", "status": "404"}
    assert value(after, "gateway_http_requests_total", **key) - value(before, "gateway_http_requests_total", **key) == 3
    unmatched = {"method": "GET", "route": "<unmatched>", "status": "404"}
    assert value(after, "gateway_http_requests_total", **unmatched) >= 1
    timed = {"method": "GET", "route": "/t/{code}"}
    assert value(after, "gateway_http_request_duration_seconds_count", **timed) - value(
        before, "gateway_http_request_duration_seconds_count", **timed) == 3
    routes = {dict(labels).get("route", "") for _, labels in after}
    assert "/t/{code}" in routes and not any("AAAAAAAAAA" in r or "12345" in r for r in routes)  # few series


def test_a_chat_that_opens_a_ticket_is_counted_and_the_backlog_read_at_scrape(client: TestClient, wechat: WeChatSide,
                                                                              settings: Settings,
                                                                              engine: Engine) -> None:
    before = scrape(client)
    for text in ("小区门口的路灯坏了", "文化路80号", "1"):
        post(client, wechat, wechat.text(OPENID, text))
    after = scrape(client)
    messages = {"channel": "wechat", "kind": "text"}
    assert value(after, "gateway_messages_total", **messages) - value(before, "gateway_messages_total", **messages) == 3
    assert value(after, "gateway_outbox_backlog", topic=Topic.DISPATCH) == 1  # ticket.created, waiting (no jobs)
    assert value(after, "gateway_outbox_oldest_age_seconds", topic=Topic.DISPATCH) >= 0
    assert value(after, "gateway_outbox_backlog", topic=Topic.WARNING) == 0  # every topic is there, 0 or not
    assert opened(after) == opened(before)  # counted once routed, by the worker that routes it (no jobs yet)
    run_jobs(settings, engine).close()
    routed = scrape(client)
    assert opened(routed) - opened(before) == 1
    assert value(routed, "gateway_outbox_backlog", topic=Topic.DISPATCH) == 0


def opened(samples: dict[tuple[str, tuple[tuple[str, str], ...]], float]) -> float:
    return sum(v for (name, _), v in samples.items() if name == "gateway_tickets_opened_total")


def test_signatures_and_warnings_count_only_what_commits(client: TestClient, engine: Engine) -> None:
    now = utcnow()
    with engine.begin() as conn:
        citizen = lock_citizen(conn, CitizenKey("wechat", "gh_x", OPENID), now)
        petition, _ = petitions.start(conn, _ticket(conn, citizen.id), now=now, days=30)
    before = scrape(client)

    def sign(conn: Connection, n: int) -> None:
        signer = Signer(identity=petitions.identity_of(b"k" * 32, "sms", f"1390000{n:04d}"), channel="sms")
        petitions.sign(conn, petition.id, signer, now=now, surge=SurgeRule(), thresholds=[2])

    with engine.connect() as conn:
        with conn.begin() as rolled_back:
            sign(conn, 1)
            rolled_back.rollback()  # never happened: not counted
        with conn.begin():
            sign(conn, 1)
            sign(conn, 2)  # the second trusted signer crosses the threshold of 2: a warning
    after = scrape(client)
    signed = {"channel": "sms", "flagged": "no"}
    assert value(after, "gateway_signatures_total", **signed) - value(before, "gateway_signatures_total", **signed) == 2
    warned = {"kind": "threshold", "level": "1"}
    assert value(after, "gateway_warnings_total", **warned) - value(before, "gateway_warnings_total", **warned) == 1


def test_notifications_and_jobs_are_counted_by_method_outcome_and_topic(client: TestClient, engine: Engine,
                                                                        settings: Settings) -> None:
    from tests.workers.test_notify import citizen_with_ticket, update

    _, ticket_id = citizen_with_ticket(engine, OPENID)
    update(engine, ticket_id, Status.ACCEPTED, "已受理")
    update(engine, ticket_id, Status.DISPATCHED, "已派单")
    with engine.begin() as conn:
        outbox.put(conn, Topic.PUSH_TEXT, {"citizen_id": 999_999, "text": "nobody"}, utcnow())
    before = scrape(client)
    with FakeWeChat(settings.wechat_app_id, "secret") as fake:
        fake.fail_next("custom/send", -1, "system busy")  # the second notice waits for a retry
        wired = settings.model_copy(update={"wechat_app_secret": "secret", "wechat_api_base": fake.start()})
        context = WorkerContext.build(wired, engine)
        install(context)
        loop = Loop(context, sweep_every_s=3600)
        loop._last_sweep = float("inf")
        loop.tick()
        context.close()
    after = scrape(client)

    def delta(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)
    assert delta("gateway_notifications_total", method="customer_service", outcome="sent") == 1
    assert delta("gateway_notifications_total", method="wechat", outcome="retry") == 1
    assert delta("gateway_job_duration_seconds_count", topic=Topic.NOTIFICATION, outcome="done") == 1
    assert delta("gateway_job_duration_seconds_count", topic=Topic.NOTIFICATION, outcome="retry") == 1
    assert delta("gateway_job_duration_seconds_count", topic=Topic.PUSH_TEXT, outcome="failed") == 1


@pytest.mark.parametrize("token", ["", "s3cret-token"])
def test_a_metrics_token_keeps_strangers_out(settings: Settings, token: str) -> None:
    with TestClient(create_app(settings.model_copy(update={"metrics_token": token}), run_jobs=False)) as client:
        if token:
            assert client.get("/metrics").status_code == 401
            assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
            assert client.get("/metrics", headers={"Authorization": f"Bearer {token}"}).status_code == 200
        else:
            assert client.get("/metrics").status_code == 200
