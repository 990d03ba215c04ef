"""Progress notifications down the WeChat ladder and to Alipay, against the local fakes over HTTP."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from sqlalchemy.engine import Engine

from bots.fakes.alipay import FakeAlipay
from bots.fakes.wechat import FakeWeChat
from tests.workers.conftest import Receiver
from tickets import progress, repository
from tickets.clock import utcnow
from tickets.inbox import consents
from tickets.inbox.citizens import CitizenKey, lock_citizen, save_citizen
from tickets.inbox.message import Channel, Consent, InboundMessage, Kind
from tickets.lifecycle import Status
from tickets.progress import StatusUpdate
from tickets.repository import NewTicket
from tickets.settings import Settings
from tickets.storage.schema import notifications
from tickets.storage.schema import outbox as outbox_table
from workers import sweeps
from workers.context import WorkerContext, install
from workers.runner import Loop
from workers.webhooks import sign

SUB_TPL, TPL = "SUBSCRIBE-TPL-1", "TEMPLATE-TPL-1"


def citizen_with_ticket(engine: Engine, openid: str, *, wrote: bool = True, channel: str = "wechat") -> tuple[int, int]:
    now = utcnow()
    with engine.begin() as conn:
        citizen = lock_citizen(conn, CitizenKey(channel, "gh_x", openid), now)
        save_citizen(conn, citizen, now, wrote=wrote)
        ticket = repository.open_ticket(conn, NewTicket(channel, citizen.id, "路灯不亮", address="文化路"), now,
                                        progress_tz())
    return citizen.id, ticket.id


def progress_tz() -> Any:
    from zoneinfo import ZoneInfo

    return ZoneInfo("Asia/Shanghai")


def update(engine: Engine, ticket_id: int, status: Status, note: str = "") -> None:
    with engine.begin() as conn:
        progress.apply_update(conn, ticket_id, StatusUpdate(status, actor="dispatch", note=note,
                                                            unit="市政照明管理处"), utcnow())


def run(context: WorkerContext) -> None:
    loop = Loop(context, sweep_every_s=3600)
    loop._last_sweep = float("inf")
    while loop.tick():
        pass


def outcomes(engine: Engine) -> list[tuple[str, str, str]]:
    with engine.connect() as conn:
        return [(r.purpose, r.status, r.method) for r in
                conn.execute(sa.select(notifications).order_by(notifications.c.id))]


def test_customer_service_inside_the_window(context: WorkerContext, engine: Engine, fake: FakeWeChat) -> None:
    _, ticket_id = citizen_with_ticket(engine, "oA")
    update(engine, ticket_id, Status.ACCEPTED, "已交市政照明管理处")
    run(context)
    assert outcomes(engine) == [("progress", "sent", "customer_service")]
    [text] = [m["text"] for m in fake.texts_to("oA")]
    assert "当前状态：已受理" in text and "承办单位：市政照明管理处" in text and "已交市政照明管理处" in text


def test_subscription_first_then_template_after_43101(context: WorkerContext, engine: Engine, fake: FakeWeChat,
                                                      settings: Settings) -> None:
    settings.wechat_subscribe_template_id, settings.wechat_template_id = SUB_TPL, TPL
    citizen_id, ticket_id = citizen_with_ticket(engine, "oB")
    with engine.begin() as conn:
        consents.record(conn, citizen_id, [(SUB_TPL, "accept")], utcnow())
    update(engine, ticket_id, Status.ACCEPTED, "很长的说明" * 20)
    run(context)
    [sent] = [m for m in fake.sent if m["path"].endswith("bizsend")]
    data = sent["body"]["data"]
    assert len(data["thing3"]["value"]) <= 20 and data["phrase2"]["value"] == "已受理"
    assert data["character_string1"]["value"].startswith("20") and "年" in data["time4"]["value"]

    fake.fail_next("bizsend", 43101, "user refuse to accept the msg")
    update(engine, ticket_id, Status.IN_PROGRESS, "正在更换灯泡")
    run(context)
    assert outcomes(engine)[-1] == ("progress", "sent", "template")
    with engine.connect() as conn:
        assert not consents.has_consent(conn, citizen_id, SUB_TPL)
        msg_id = conn.execute(sa.select(notifications.c.platform_msg_id).order_by(notifications.c.id.desc())
                              ).scalars().first()
    assert msg_id
    # The delivery receipt arrives later as TEMPLATESENDJOBFINISH and is joined on the msgid.
    from bots.conversations.desk import DeskConfig
    from bots.intake import receive
    receipt = InboundMessage(Channel.WECHAT, "gh_x", "oB", Kind.DELIVERY_RECEIPT, "e:r1", utcnow(),
                             consents=(Consent("", "success", msg_id=msg_id),))
    with engine.begin() as conn:
        assert receive(conn, receipt, DeskConfig(progress_tz(), "https://gw"), utcnow()) == []
        assert conn.execute(sa.select(notifications.c.receipt).where(
            notifications.c.platform_msg_id == msg_id)).scalar_one() == "success"


def test_fall_back_through_the_ladder_and_give_up(context: WorkerContext, engine: Engine, fake: FakeWeChat,
                                                  settings: Settings) -> None:
    settings.wechat_template_id = TPL
    _, ticket_id = citizen_with_ticket(engine, "oC")
    fake.fail_next("template/send", 47003, "argument invalid! data.keyword3.value")  # configuration: not retried
    fake.outside_window.add("oC")  # 45015 on the customer-service message
    update(engine, ticket_id, Status.ACCEPTED)
    run(context)
    assert outcomes(engine) == [("progress", "failed", "")]
    with engine.connect() as conn:
        error = conn.execute(sa.select(notifications.c.last_error)).scalar_one()
        assert conn.execute(sa.select(outbox_table.c.status)).scalar_one() == "failed"
    assert "47003" in error and "45015" in error


def test_busy_platform_is_retried_later(context: WorkerContext, engine: Engine, fake: FakeWeChat) -> None:
    _, ticket_id = citizen_with_ticket(engine, "oD")
    fake.fail_next("custom/send", 45009, "reach max api daily quota limit")
    update(engine, ticket_id, Status.ACCEPTED)
    run(context)
    assert outcomes(engine) == [("progress", "pending", "")]
    with engine.begin() as conn:
        row = conn.execute(sa.select(outbox_table)).one()
        assert (row.status, row.attempts) == ("pending", 1) and row.available_at > utcnow()
        conn.execute(sa.update(outbox_table).values(available_at=utcnow()))
    run(context)
    assert outcomes(engine) == [("progress", "sent", "customer_service")]
    assert len(fake.texts_to("oD")) == 1


def test_nobody_is_told_twice_when_a_job_is_redelivered(context: WorkerContext, engine: Engine,
                                                        fake: FakeWeChat) -> None:
    from workers.jobs import run_outbox_row
    _, ticket_id = citizen_with_ticket(engine, "oE")
    update(engine, ticket_id, Status.ACCEPTED)
    with engine.connect() as conn:
        row_id = conn.execute(sa.select(outbox_table.c.id)).scalar_one()
    assert run_outbox_row(row_id) == "done"
    with engine.begin() as conn:  # as if the queue handed the same row out again
        conn.execute(sa.update(outbox_table).values(status="queued"))
    assert run_outbox_row(row_id) == "done"
    assert len(fake.texts_to("oE")) == 1


def test_evaluation_is_asked_again_then_the_ticket_closes(context: WorkerContext, engine: Engine,
                                                          fake: FakeWeChat, settings: Settings) -> None:
    _, ticket_id = citizen_with_ticket(engine, "oF")
    for status in (Status.ACCEPTED, Status.RESOLVED):
        update(engine, ticket_id, status, "灯已修好")
    run(context)
    assert "请您评价" in fake.texts_to("oF")[-1]["text"]
    later = utcnow() + timedelta(days=3, minutes=1)
    with engine.begin() as conn:
        assert sweeps.follow_up_evaluations(conn, later, remind_days=3) == (1, 0)
    with engine.begin() as conn:
        conn.execute(sa.update(outbox_table).values(available_at=utcnow()))
    run(context)
    assert "还没有收到您的评价" in fake.texts_to("oF")[-1]["text"]
    with engine.begin() as conn:
        assert sweeps.follow_up_evaluations(conn, later + timedelta(days=3, minutes=1), remind_days=3) == (0, 1)
        assert repository.get_ticket(conn, ticket_id).status is Status.CLOSED


def test_alipay_citizens_get_the_mini_program_message(context: WorkerContext, engine: Engine,
                                                      settings: Settings) -> None:
    app_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    app_private = app_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                        serialization.NoEncryption()).decode()
    with FakeAlipay("2021000000000001", app_key.public_key()) as alipay:
        settings.alipay_app_id, settings.alipay_app_private_key = "2021000000000001", app_private
        settings.alipay_public_key, settings.alipay_gateway = alipay.public_key_pem, alipay.start()
        settings.alipay_template_id = "ALI-TPL-1"
        ctx = WorkerContext.build(settings, engine)
        install(ctx)
        _, ticket_id = citizen_with_ticket(engine, "2088000000000001", channel="alipay")
        update(engine, ticket_id, Status.ACCEPTED, "已派单")
        run(ctx)
        ctx.close()
        [sent] = alipay.sent
    assert sent["biz_content"]["to_user_id"] == "2088000000000001"
    assert sent["data"]["keyword2"]["value"] == "已受理"
    assert outcomes(engine) == [("progress", "sent", "alipay_template")]


def test_reopening_is_posted_to_dispatch_signed(context: WorkerContext, engine: Engine, settings: Settings,
                                                receiver: Receiver) -> None:
    settings.dispatch_webhook_url = f"{receiver.url}/gateway-events"
    settings.dispatch_webhook_secret = "dispatch-secret"
    receiver.status = 503
    _, ticket_id = citizen_with_ticket(engine, "oG")
    update(engine, ticket_id, Status.ACCEPTED)
    update(engine, ticket_id, Status.RESOLVED)
    with engine.begin() as conn:
        progress.evaluate(conn, ticket_id, channel="web", satisfaction=progress.Satisfaction.UNSATISFIED,
                          solved=False, reason="没修好", now=utcnow())
    run(context)  # 503: kept for a retry
    with engine.begin() as conn:
        conn.execute(sa.update(outbox_table).values(available_at=utcnow()))
    receiver.status = 204
    run(context)
    _, headers, body = receiver.received[-1]
    assert json.loads(body)["event"] == "ticket.reopened" and json.loads(body)["reason"] == "没修好"
    assert headers["X-Gateway-Signature"] == sign("dispatch-secret", body)
    with engine.connect() as conn:
        statuses = dict(conn.execute(sa.select(outbox_table.c.topic, outbox_table.c.status)).all())
    assert statuses["dispatch.event"] == "done"



@pytest.mark.parametrize(("errcode", "outcome"), [
    (45047, ("progress", "sent", "template")),   # customer-service quota used up: fall back
    (43004, ("progress", "sent", "template")),   # not following: fall back
    (40037, ("progress", "sent", "template")),   # a configuration error on one way: logged, next way
    (40003, ("progress", "failed", "")),          # the openid is not this account's: stop
    (-1, ("progress", "pending", "")),            # system busy: back off, retry later
])
def test_each_platform_answer_decides_the_next_step(context: WorkerContext, engine: Engine, fake: FakeWeChat,
                                                     settings: Settings, errcode: int,
                                                     outcome: tuple[str, str, str]) -> None:
    settings.wechat_subscribe_template_id, settings.wechat_template_id = SUB_TPL, TPL
    citizen_id, ticket_id = citizen_with_ticket(engine, "oH")
    with engine.begin() as conn:
        consents.record(conn, citizen_id, [(SUB_TPL, "accept")], utcnow())
    fake.fail_next("bizsend", errcode, "injected")
    update(engine, ticket_id, Status.ACCEPTED)
    run(context)
    assert outcomes(engine) == [outcome]


def test_a_petitions_co_signers_are_told_in_one_batch_read(context: WorkerContext, engine: Engine,
                                                          fake: FakeWeChat) -> None:
    from tickets import notifications as notes
    from tickets import petitions
    from tickets.petitions import Signer, SurgeRule

    filer, ticket_id = citizen_with_ticket(engine, "oFiler")
    signers = [citizen_with_ticket(engine, f"oCo{n}")[0] for n in range(4)]
    with engine.begin() as conn:
        petition, _ = petitions.start(conn, ticket_id, now=utcnow(), days=30)
        for n, citizen_id in enumerate(signers):
            signer = Signer(petitions.identity_of(b"k" * 32, "wechat", f"oCo{n}"), "wechat", citizen_id,
                            consent=n != 3)
            petitions.sign(conn, petition.id, signer, now=utcnow(), surge=SurgeRule(), thresholds=[])
    update(engine, ticket_id, Status.ACCEPTED, "已交市政照明管理处")
    with engine.connect() as conn:
        ids = [r.id for r in conn.execute(sa.select(notifications.c.id).order_by(notifications.c.id))]
        many = notes.for_delivery_many(conn, [*ids, 999_999])
        assert many == {i: notes.for_delivery(conn, i) for i in ids}  # the batch read equals the single one
    run(context)
    assert outcomes(engine) == [("progress", "sent", "customer_service")] + [  # the filer and 3 who consented
        ("cosigned_progress", "sent", "customer_service")] * 3
    assert all(fake.texts_to(openid) for openid in ("oFiler", "oCo0", "oCo1", "oCo2"))
    assert not fake.texts_to("oCo3") and filer not in signers


def test_each_notice_tells_the_status_of_its_own_event(context: WorkerContext, engine: Engine, fake: FakeWeChat,
                                                       settings: Settings) -> None:
    """Two changes before the first notice goes out: each notice still says its own status and time."""
    settings.wechat_template_id = TPL
    _, ticket_id = citizen_with_ticket(engine, "oTwice")
    first_at = utcnow() - timedelta(minutes=3)
    with engine.begin() as conn:
        progress.apply_update(conn, ticket_id, StatusUpdate(Status.DISPATCHED, actor="dispatch", note="已转交",
                                                            unit="市政照明管理处"), first_at)
        progress.apply_update(conn, ticket_id, StatusUpdate(Status.IN_PROGRESS, actor="dispatch", note="正在维修"),
                              first_at + timedelta(milliseconds=400))
    run(context)
    assert [m["body"]["data"]["keyword2"]["value"] for m in fake.sent if m["path"].endswith("template/send")] == [
        "已转交承办单位", "正在办理"]
    [first, second] = [m["body"]["data"]["keyword4"]["value"] for m in fake.sent]
    assert first.endswith(first_at.astimezone(progress_tz()).strftime("%H:%M")) and first == second
    fake.outside_window.discard("oTwice")
    settings.wechat_template_id = ""
    update(engine, ticket_id, Status.RESOLVED, "灯已修好")
    with engine.begin() as conn:
        progress.apply_update(conn, ticket_id, StatusUpdate(Status.REOPENED, actor="citizen:wechat", note="又坏了"),
                              utcnow())
    run(context)
    resolved, reopened = (m["text"] for m in fake.texts_to("oTwice"))
    assert "已办结" in resolved and "请您评价" in resolved and "当前状态：重新办理中" in reopened
