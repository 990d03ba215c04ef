"""Progress to co-signers who signed with a phone number and consented: a text through the SMS gateway."""

from __future__ import annotations

from collections.abc import Iterator
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from bots.fakes.sms import FakeSmsGateway
from bots.fakes.wechat import FakeWeChat
from tickets import petitions, progress, repository
from tickets.clock import utcnow
from tickets.inbox.citizens import CitizenKey, lock_citizen
from tickets.lifecycle import Status
from tickets.petitions import Signer, SurgeRule
from tickets.progress import StatusUpdate
from tickets.repository import NewTicket
from tickets.settings import Settings
from tickets.storage.schema import notifications
from workers.context import WorkerContext, install
from workers.runner import Loop

SECRET = "sms-secret"
PHONE = "13912345678"


@pytest.fixture
def sms(settings: Settings) -> Iterator[FakeSmsGateway]:
    with FakeSmsGateway(SECRET) as fake:
        settings.sms_sender, settings.sms_http_url, settings.sms_http_secret = "http", fake.start(), SECRET
        yield fake


@pytest.fixture
def sms_context(settings: Settings, engine: Engine, fake: FakeWeChat, sms: FakeSmsGateway) -> Iterator[WorkerContext]:
    ctx = WorkerContext.build(settings, engine)
    install(ctx)
    yield ctx
    ctx.close()


def co_signed_ticket(engine: Engine, settings: Settings) -> tuple[int, int]:
    """A petition's ticket and the citizen id of a phone co-signer who consented."""
    now = utcnow()
    key = petitions.identity_key(settings.secret_key)
    with engine.begin() as conn:
        ticket = repository.open_ticket(conn, NewTicket("web", None, "路灯不亮", address="文化路"), now,
                                        ZoneInfo("Asia/Shanghai"))
        petition, _ = petitions.start(conn, ticket.id, now=now, days=30)
        citizen = lock_citizen(conn, CitizenKey("sms", "", PHONE), now)
        signer = Signer(petitions.identity_of(key, "sms", PHONE), "sms", citizen.id, consent=True)
        petitions.sign(conn, petition.id, signer, now=now, surge=SurgeRule(), thresholds=[])
    return ticket.id, citizen.id


def drain(context: WorkerContext) -> None:
    loop = Loop(context, sweep_every_s=3600)
    loop._last_sweep = float("inf")
    while loop.tick():
        pass


def test_a_phone_co_signer_gets_progress_as_a_text(sms_context: WorkerContext, engine: Engine,
                                                   settings: Settings, sms: FakeSmsGateway) -> None:
    ticket_id, citizen_id = co_signed_ticket(engine, settings)
    with engine.begin() as conn:
        progress.apply_update(conn, ticket_id, StatusUpdate(Status.ACCEPTED, actor="dispatch", note="已派市政所",
                                                            unit="市政照明管理处"), utcnow())
    drain(sms_context)
    [text] = sms.texts_to(PHONE)
    assert "当前状态：已受理" in text and "市政照明管理处" in text and "/t/" in text
    with engine.connect() as conn:
        row = conn.execute(sa.select(notifications).where(notifications.c.citizen_id == citizen_id)).one()
    assert (row.status, row.method) == ("sent", "sms")


def test_a_refusing_sms_gateway_is_a_permanent_failure_and_a_busy_one_is_retried(
        sms_context: WorkerContext, engine: Engine, settings: Settings, sms: FakeSmsGateway) -> None:
    ticket_id, citizen_id = co_signed_ticket(engine, settings)
    sms.fail_next(503)
    with engine.begin() as conn:
        progress.apply_update(conn, ticket_id, StatusUpdate(Status.ACCEPTED, actor="dispatch"), utcnow())
    drain(sms_context)
    with engine.connect() as conn:
        row = conn.execute(sa.select(notifications).where(notifications.c.citizen_id == citizen_id)).one()
    assert row.status == "pending" and "503" in row.last_error and sms.texts_to(PHONE) == []
    sms.fail_next(400)
    with engine.begin() as conn:
        progress.apply_update(conn, ticket_id, StatusUpdate(Status.DISPATCHED, actor="dispatch"), utcnow())
    drain(sms_context)
    with engine.connect() as conn:
        rows = conn.execute(sa.select(notifications.c.status, notifications.c.last_error)
                            .where(notifications.c.citizen_id == citizen_id).order_by(notifications.c.id)).all()
    assert rows[1].status == "failed" and "400" in rows[1].last_error
