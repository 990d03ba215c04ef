"""Early warnings leave through the outbox as signed webhooks; the sweep expires petitions and watches velocity."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from tests.workers.conftest import Receiver
from tickets import petitions, repository
from tickets.clock import utcnow
from tickets.petitions import Signer, SurgeRule
from tickets.repository import NewTicket
from tickets.settings import Settings
from tickets.storage.schema import outbox
from workers import jobs, sweeps
from workers.context import WorkerContext
from workers.webhooks import sign


def petition_with(engine: Engine, signers: int, *, thresholds: list[int], now: Any = None) -> int:
    now = now or utcnow()
    with engine.begin() as conn:
        ticket = repository.open_ticket(conn, NewTicket("web", None, "工地拖欠农民工工资三个月"), now,
                                        ZoneInfo("Asia/Shanghai"))
        petition, _ = petitions.start(conn, ticket.id, now=now, days=30, zone="unpaid_wages")
        for n in range(signers):
            signer = Signer(petitions.identity_of(b"k" * 32, "sms", f"13700{n:06d}"), "sms")
            petitions.sign(conn, petition.id, signer, now=now, surge=SurgeRule(), thresholds=thresholds)
    return petition.id


def run_due(engine: Engine) -> dict[int, str]:
    with engine.connect() as conn:
        ids = [r.id for r in conn.execute(sa.select(outbox.c.id).where(outbox.c.status == "pending"))]
    return jobs.run_outbox_rows(ids)


def test_warning_is_posted_signed_with_its_numbers(context: WorkerContext, engine: Engine, settings: Settings,
                                                   receiver: Receiver) -> None:
    settings.warning_webhook_url = f"{receiver.url}/warnings"
    settings.warning_webhook_secret = "warning-secret"
    petition_id = petition_with(engine, 5, thresholds=[5, 20])
    assert list(run_due(engine).values()) == ["done"]
    [(path, headers, body)] = receiver.received
    sent = json.loads(body)
    assert path == "/warnings" and headers["X-Gateway-Signature"] == sign("warning-secret", body)
    assert headers["X-Gateway-Event"] == "warning.raised"
    assert sent["kind"] == "threshold" and sent["level"] == 1 and sent["figures"]["signers"] == 5
    assert sent["petition"]["id"] == petition_id and sent["petition"]["zone"] == "unpaid_wages"
    assert sent["petition"]["signature_count"] == 5


def test_without_its_own_url_a_warning_goes_to_dispatch_and_a_failure_is_retried(
        context: WorkerContext, engine: Engine, settings: Settings, receiver: Receiver) -> None:
    settings.dispatch_webhook_url = f"{receiver.url}/dispatch"
    settings.dispatch_webhook_secret = "dispatch-secret"
    petition_with(engine, 2, thresholds=[2])
    receiver.status = 503
    assert list(run_due(engine).values())[0].startswith("retry")
    with engine.begin() as conn:
        conn.execute(sa.update(outbox).values(available_at=utcnow()))
    receiver.status = 200
    assert list(run_due(engine).values()) == ["done"]
    assert [p for p, _, _ in receiver.received] == ["/dispatch", "/dispatch"]
    _, headers, body = receiver.received[-1]
    assert headers["X-Gateway-Signature"] == sign("dispatch-secret", body)


def test_with_no_webhook_the_warning_is_listed_only(context: WorkerContext, engine: Engine) -> None:
    petition_with(engine, 1, thresholds=[1])
    assert list(run_due(engine).values()) == ["done"]


def test_sweep_expires_petitions_and_raises_velocity_once(engine: Engine) -> None:
    now = utcnow()
    old = petition_with(engine, 0, thresholds=[], now=now - timedelta(days=31))
    fast = petition_with(engine, 12, thresholds=[], now=now - timedelta(minutes=5))
    with engine.begin() as conn:
        assert sweeps.watch_petitions(conn, now, velocity=[10, 30], factor=3.0) == (1, 1)
    with engine.begin() as conn:
        assert sweeps.watch_petitions(conn, now, velocity=[10, 30], factor=3.0) == (0, 0)
        assert petitions.get(conn, old).status == "expired"
        assert petitions.get(conn, fast).status == "open"
