"""A notice that could not be sent: the console says why, and an officer sends it again once it is fixed."""

from __future__ import annotations

import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from bots.fakes.wechat import FakeWeChat
from tests.gateway.conftest import run_jobs as run_due
from tests.gateway.console.support import csrf_of, make_user, open_ticket, sign_in
from tickets.access.officers import UserRole
from tickets.clock import utcnow
from tickets.settings import Settings
from tickets.storage.schema import citizens, notifications, outbox


def run_jobs(settings: Settings, engine: Engine) -> None:
    """Run every due outbox row with a worker wired from `settings`."""
    run_due(settings, engine).close()


def notice(engine: Engine) -> sa.Row[tuple[str, str, str]]:
    with engine.connect() as conn:
        return conn.execute(sa.select(notifications.c.status, notifications.c.method, notifications.c.last_error)).one()


def test_a_failed_notice_shows_why_and_an_operator_sends_it_again(client: TestClient, engine: Engine,
                                                                 settings: Settings) -> None:
    make_user(engine, "op", UserRole.OPERATOR)
    make_user(engine, "ro", UserRole.VIEWER)
    ticket = open_ticket(engine, settings, "路灯不亮")
    with engine.begin() as conn:  # the citizen wrote today: WeChat's 48-hour customer-service window is open
        conn.execute(sa.update(citizens).values(last_message_at=utcnow()))
    sign_in(client, "op")
    page = client.get(f"/console/tickets/{ticket.id}")
    client.post(f"/console/tickets/{ticket.id}/status", data={
        "status": "accepted", "note": "已受理", "csrf": csrf_of(page.text)}, follow_redirects=False)
    run_jobs(settings, engine)  # no AppSecret: the push cannot go
    assert notice(engine).status == "failed" and "sender not configured" in notice(engine).last_error

    page = client.get(f"/console/tickets/{ticket.id}").text
    assert "发送失败" in page and "原因：发送渠道没有配置好" in page and "sender not configured" in page
    retry = f"/console/tickets/{ticket.id}/notifications/1/retry"
    assert f'action="{retry}"' in page

    assert client.post(retry, data={"csrf": "0" * 64}).status_code == 403  # the session's CSRF token only
    done = client.post(retry, data={"csrf": csrf_of(page)}, follow_redirects=False)
    assert done.headers["location"].endswith("done=retry")
    assert notice(engine).status == "pending"
    again = client.post(retry, data={"csrf": csrf_of(page)}, follow_redirects=False)
    assert again.headers["location"].endswith("error=retry")  # not failed now: nothing to send again
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(outbox)
                            .where(outbox.c.status == "pending")).scalar_one() == 1

    with FakeWeChat(settings.wechat_app_id, "the-secret") as fake:  # the administrator fixed the configuration
        fixed = settings.model_copy(update={"wechat_app_secret": "the-secret", "wechat_api_base": fake.start()})
        run_jobs(fixed, engine)
        [text] = [m["text"] for m in fake.texts_to("oConsoleCitizen01")]
    assert "已受理" in text and tuple(notice(engine)[:2]) == ("sent", "customer_service")

    client.cookies.clear()
    sign_in(client, "ro")
    assert "/retry" not in client.get(f"/console/tickets/{ticket.id}").text  # viewers read, never act
