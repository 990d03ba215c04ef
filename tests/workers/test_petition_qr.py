"""The petition card job (`petition.qr_card`) against the local fake of WeChat's API over HTTP."""

from __future__ import annotations

import dataclasses
import io
import itertools
from datetime import timedelta

import sqlalchemy as sa
import zxingcpp
from PIL import Image
from sqlalchemy.engine import Engine

from bots.conversations.desk import DeskConfig
from bots.fakes.wechat import FakeWeChat
from bots.intake import receive
from qr.links import signer_for
from tickets import outbox, petitions
from tickets.clock import utcnow
from tickets.inbox.message import Channel, InboundMessage, Kind
from tickets.outbox import Topic
from tickets.petitions import Petition
from tickets.settings import Settings
from tickets.storage.schema import outbox as outbox_table
from tickets.storage.schema import petitions as petition_rows
from workers.context import WorkerContext, install
from workers.petition_qr import MEDIA_REUSE
from workers.runner import Loop

REP = "oRepresentative01"
_ids = itertools.count(1)


def write(engine: Engine, settings: Settings, text: str, openid: str = REP) -> str:
    config = DeskConfig(tz=settings.tz, public_base_url=settings.public_base_url, secret_key=settings.secret_key,
                        link_key_ids=tuple(settings.link_key_ids), petition_days=settings.petition_days)
    msg = InboundMessage(Channel.WECHAT, "gh_x", openid, Kind.TEXT, f"m:{next(_ids)}", utcnow(), text=text)
    with engine.begin() as conn:
        return "\n".join(r.text for r in receive(conn, msg, config, utcnow()))


def start(engine: Engine, settings: Settings) -> Petition:
    for text in ("小区门口的路灯坏了一个月，晚上老人出门很危险", "幸福路12号", "1"):
        write(engine, settings, text)
    assert "已为您发起联名" in write(engine, settings, "联名")
    with engine.connect() as conn:
        [petition], _ = petitions.list_petitions(conn)
    return petition


def reload(engine: Engine, petition_id: int) -> Petition:
    with engine.connect() as conn:
        return petitions.get(conn, petition_id)


def run(context: WorkerContext) -> None:
    loop = Loop(context, sweep_every_s=3600)
    loop._last_sweep = float("inf")  # no sweeps: only the outbox
    while loop.tick():
        pass


def rows(engine: Engine) -> list[tuple[str, str, int, str]]:
    with engine.connect() as conn:
        found = conn.execute(sa.select(outbox_table).where(outbox_table.c.topic == Topic.PETITION_CARD)
                             .order_by(outbox_table.c.id)).all()
    return [(r.topic, r.status, r.attempts, r.last_error or "") for r in found]


def images_to(fake: FakeWeChat, openid: str) -> list[str]:
    """Media ids of the customer-service images WeChat accepted for `openid`."""
    return [m["body"]["image"]["media_id"] for m in fake.sent if m["path"].endswith("custom/send")
            and m["body"]["touser"] == openid and m["body"]["msgtype"] == "image"]


def due_now(engine: Engine) -> None:
    """Skip the backoff: rows waiting for a retry are due now."""
    with engine.begin() as conn:
        conn.execute(sa.update(outbox_table).where(outbox_table.c.status == outbox.PENDING)
                     .values(available_at=utcnow()))


def test_the_card_arrives_as_an_image_that_decodes_to_the_link(context: WorkerContext, engine: Engine,
                                                               settings: Settings, fake: FakeWeChat) -> None:
    petition = start(engine, settings)
    run(context)
    assert rows(engine) == [(Topic.PETITION_CARD, "done", 0, "")]
    [media_id] = images_to(fake, REP)
    content_type, png = fake.media[media_id]
    assert content_type == "image/png"
    [code] = zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))
    link = signer_for(settings.secret_key, settings.link_key_ids).url(settings.public_base_url, petition.id,
                                                                      petition.expires_at)
    assert code.text == link
    after = reload(engine, petition.id)
    assert after.wechat_media_id == media_id and after.wechat_media_at is not None


def test_the_parametric_code_is_made_once_for_the_petitions_scene(context: WorkerContext, engine: Engine,
                                                                  settings: Settings, fake: FakeWeChat) -> None:
    petition = start(engine, settings)
    run(context)
    [(ticket, scene)] = fake.qr_scenes.items()
    assert scene == f"petition:{petition.id}"
    after = reload(engine, petition.id)
    assert after.wechat_qr_url == f"http://weixin.qq.com/q/{ticket}"
    assert after.wechat_qr_expires_at is not None
    assert after.wechat_qr_expires_at <= utcnow() + timedelta(days=30)
    assert after.wechat_qr_expires_at <= petition.expires_at
    write(engine, settings, "二维码")
    run(context)
    assert fake.calls["/cgi-bin/qrcode/create"] == 1  # still live: not made again
    with engine.begin() as conn:  # it expired: a new one
        conn.execute(sa.update(petition_rows).values(wechat_qr_expires_at=utcnow() - timedelta(seconds=1)))
    write(engine, settings, "二维码")
    run(context)
    assert fake.calls["/cgi-bin/qrcode/create"] == 2
    renewed = reload(engine, petition.id).wechat_qr_expires_at
    assert renewed is not None and renewed > utcnow() + timedelta(days=29)


def test_a_short_petition_gets_a_code_no_longer_than_itself(context: WorkerContext, engine: Engine,
                                                            settings: Settings, fake: FakeWeChat) -> None:
    petition = start(engine, settings)
    with engine.begin() as conn:
        conn.execute(sa.update(petition_rows).values(expires_at=utcnow() + timedelta(hours=2)))
    run(context)
    after = reload(engine, petition.id)
    assert after.wechat_qr_expires_at is not None and after.wechat_qr_expires_at <= after.expires_at
    assert after.wechat_qr_expires_at > after.expires_at - timedelta(minutes=1)


def test_media_is_reused_within_60_hours_then_uploaded_again(context: WorkerContext, engine: Engine,
                                                            settings: Settings, fake: FakeWeChat) -> None:
    petition = start(engine, settings)
    write(engine, settings, "二维码")
    run(context)
    first, second = images_to(fake, REP)
    assert first == second and fake.calls["/cgi-bin/media/upload"] == 1
    with engine.begin() as conn:
        conn.execute(sa.update(petition_rows).values(
            wechat_media_at=utcnow() - MEDIA_REUSE - timedelta(minutes=1)))
    write(engine, settings, "二维码")
    run(context)
    third = images_to(fake, REP)[-1]
    assert third != first and fake.calls["/cgi-bin/media/upload"] == 2
    assert reload(engine, petition.id).wechat_media_id == third


def test_media_wechat_forgot_early_is_uploaded_again(context: WorkerContext, engine: Engine, settings: Settings,
                                                    fake: FakeWeChat) -> None:
    start(engine, settings)
    run(context)
    fake.media.clear()
    write(engine, settings, "二维码")
    run(context)
    assert fake.calls["/cgi-bin/media/upload"] == 2 and len(images_to(fake, REP)) == 2
    assert [r[1] for r in rows(engine)] == ["done", "done"]


def test_out_of_the_window_is_given_up_with_the_reason(context: WorkerContext, engine: Engine, settings: Settings,
                                                      fake: FakeWeChat) -> None:
    start(engine, settings)
    fake.outside_window.add(REP)
    run(context)
    [(_, status, attempts, error)] = rows(engine)
    assert (status, attempts) == ("failed", 1)
    assert "45015" in error and "48 hours" in error and "downloadable" in error
    assert images_to(fake, REP) == []


def test_busy_and_quota_errors_retry_and_reuse_what_was_done(context: WorkerContext, engine: Engine,
                                                            settings: Settings, fake: FakeWeChat) -> None:
    start(engine, settings)
    fake.fail_next("media/upload", 45009, "reach max api daily quota limit")
    run(context)
    assert rows(engine) == [(Topic.PETITION_CARD, "pending", 1, "wechat 45009")]
    due_now(engine)
    fake.fail_next("custom/send", -1, "system error")
    run(context)
    assert rows(engine) == [(Topic.PETITION_CARD, "pending", 2, "wechat -1")]
    due_now(engine)
    run(context)
    assert [r[1] for r in rows(engine)] == ["done"]
    assert len(images_to(fake, REP)) == 1
    assert fake.calls["/cgi-bin/media/upload"] == 2  # the refused one, then one upload reused by the retry
    assert fake.calls["/cgi-bin/qrcode/create"] == 1  # made on the first attempt, kept


def test_a_refused_parametric_code_does_not_hold_the_card_back(context: WorkerContext, engine: Engine,
                                                              settings: Settings, fake: FakeWeChat) -> None:
    petition = start(engine, settings)
    fake.fail_next("qrcode/create", 48001, "api unauthorized")
    run(context)
    assert [r[1] for r in rows(engine)] == ["done"] and len(images_to(fake, REP)) == 1
    assert reload(engine, petition.id).wechat_qr_url == ""
    write(engine, settings, "二维码")
    fake.fail_next("qrcode/create", -1, "system error")
    run(context)
    assert rows(engine)[-1][1:] == ("pending", 1, "wechat -1")


def test_nothing_is_sent_for_a_closed_petition_or_without_wechat(context: WorkerContext, engine: Engine,
                                                                settings: Settings, fake: FakeWeChat) -> None:
    start(engine, settings)
    assert "联名已结束" in write(engine, settings, "结束联名")
    run(context)
    assert [r[1] for r in rows(engine)] == ["done"] and fake.sent == [] and fake.calls["/cgi-bin/media/upload"] == 0
    with engine.begin() as conn:
        conn.execute(sa.update(petition_rows).values(status="open", closed_at=None))
    write(engine, settings, "二维码")
    install(dataclasses.replace(context, wechat=None))
    try:
        run(context)
    finally:
        install(context)
    assert rows(engine)[-1][1:3] == ("failed", 1) and "not configured" in rows(engine)[-1][3]


def test_a_petition_without_a_citizen_to_tell_only_gets_its_code(context: WorkerContext, engine: Engine,
                                                                settings: Settings, fake: FakeWeChat) -> None:
    petition = start(engine, settings)
    run(context)
    with engine.begin() as conn:
        conn.execute(sa.update(petition_rows).values(wechat_qr_url="", wechat_qr_expires_at=None))
        outbox.put(conn, Topic.PETITION_CARD, {"petition_id": petition.id, "citizen_id": None}, utcnow())
        outbox.put(conn, Topic.PETITION_CARD, {"petition_id": 999_999, "citizen_id": None}, utcnow())
    run(context)
    assert fake.calls["/cgi-bin/qrcode/create"] == 2 and len(images_to(fake, REP)) == 1
    assert [r[1] for r in rows(engine)] == ["done", "done", "failed"]
    assert "petition 999999 is gone" in rows(engine)[-1][3]
