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


def test_only_the_filer_rates_co_signers_hear_of_the_request_they_co_signed(
        sms_context: WorkerContext, engine: Engine, settings: Settings, sms: FakeSmsGateway,
        fake: FakeWeChat) -> None:
    """The filer's evaluation notice carries a rating token; a phone co-signer's text does not, says it is about
    the request they co-signed, and its link shows the progress without the rating form."""
    from fastapi.testclient import TestClient

    from gateway.app import create_app
    from tickets.inbox.citizens import save_citizen

    now = utcnow()
    key = petitions.identity_key(settings.secret_key)
    with engine.begin() as conn:
        filer = lock_citizen(conn, CitizenKey("wechat", "gh_x", "oFiler"), now)
        save_citizen(conn, filer, now, wrote=True)
        ticket = repository.open_ticket(conn, NewTicket("wechat", filer.id, "路灯不亮", address="文化路"), now,
                                        ZoneInfo("Asia/Shanghai"))
        petition, _ = petitions.start(conn, ticket.id, now=now, days=30)
        cosigner = lock_citizen(conn, CitizenKey("sms", "", PHONE), now)
        petitions.sign(conn, petition.id, Signer(petitions.identity_of(key, "sms", PHONE), "sms", cosigner.id,
                                                 consent=True), now=now, surge=SurgeRule(), thresholds=[])
        for status, note in ((Status.ACCEPTED, "已派市政所"), (Status.RESOLVED, "灯已修好")):
            progress.apply_update(conn, ticket.id, StatusUpdate(status, actor="dispatch", note=note), utcnow())
    drain(sms_context)
    accepted, resolved = sms.texts_to(PHONE)
    assert "您联名反映的问题" in accepted and "您联名反映的问题已办结" in resolved and "灯已修好" in resolved
    assert "评价" not in resolved and "?r=" not in resolved
    [filer_text] = [m["text"] for m in fake.texts_to("oFiler") if "请您评价" in m["text"]]
    filer_link = filer_text.split("https://gw.example.cn")[1].split()[0]
    cosigner_link = resolved.split("https://gw.example.cn")[1].split()[0]
    assert filer_link.startswith(cosigner_link + "?r=") and cosigner_link == f"/t/{ticket.tracking_code}"

    with TestClient(create_app(settings, engine, run_jobs=False)) as web:
        seen = web.get(cosigner_link).text
        assert "灯已修好" in seen and "请您评价" not in seen and "等待反映问题的市民评价" in seen
        form = {"satisfaction": "satisfied", "solved": "true", "reason": ""}
        own = web.get(filer_link).text
        assert "请您评价" in own
        csrf = own.split('name="csrf" value="')[1].split('"')[0]
        forged = web.post(f"{cosigner_link}/evaluation", data=form | {"csrf": csrf, "r": "x" * 22})
        assert forged.status_code == 403 and "只有反映问题的市民" in forged.text
        assert web.post(f"{cosigner_link}/evaluation", data=form | {"csrf": csrf}).status_code == 403
        with engine.connect() as conn:
            assert repository.get_ticket(conn, ticket.id).status is Status.RESOLVED
        token = filer_link.split("?r=")[1]
        rated = web.post(f"{cosigner_link}/evaluation", data=form | {"csrf": csrf, "r": token})
        assert rated.status_code == 200 and "感谢您的评价" in rated.text
    with engine.connect() as conn:
        assert repository.get_ticket(conn, ticket.id).status is Status.CLOSED
