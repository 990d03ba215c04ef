"""The officers' console over HTTP: sign-in, sessions, CSRF, roles, and the ticket pages and actions."""

from __future__ import annotations

import csv
import io

import sqlalchemy as sa
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from gateway.console.throttle import FREE_FAILURES, MemoryStore, SignInThrottle
from gateway.limits import MemoryLimiter
from gateway.uploads import LocalFolderStore
from tests.gateway.console.support import PASSWORD, csrf_of, make_user, open_ticket, sign_in
from tickets import attachments as stored_media
from tickets.access.officers import UserRole
from tickets.clock import utcnow
from tickets.repository import NewAttachment
from tickets.routing import catalogue
from tickets.settings import Settings
from tickets.storage.schema import console_sessions, inbound_messages, notifications, ticket_events, tickets

PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000"
                    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082")


def catalogue_units(engine: Engine) -> list[str]:
    """The names of the routing catalogue's units: what the console's unit select offers."""
    with engine.connect() as conn:
        return [u.name for u in catalogue.current(conn).units.values()]


def test_pages_need_a_session_and_the_form_has_labels(client: TestClient) -> None:
    for path in ("/console", "/console/tickets", "/console/dashboard", "/console/petitions", "/console/tickets/1"):
        response = client.get(path, follow_redirects=False)
        assert response.status_code == 303 and response.headers["location"] == "/console/login", path
    form = client.get("/console/login")
    assert form.status_code == 200 and "<title>登录" in form.text
    assert '<label for="username">' in form.text and '<label for="password">' in form.text
    assert form.headers["x-frame-options"] == "DENY" and form.headers["cache-control"] == "no-store"


def test_sign_in_sets_a_random_session_cookie_and_sign_out_ends_it(client: TestClient, engine: Engine) -> None:
    make_user(engine, "li", UserRole.OPERATOR)
    response = sign_in(client, "li")
    assert response.status_code == 303 and response.headers["location"] == "/console/tickets"
    cookie = client.cookies["console_session"]
    assert "httponly" in response.headers["set-cookie"].lower() and "samesite=strict" in \
        response.headers["set-cookie"].lower()
    with engine.connect() as conn:
        stored = conn.execute(sa.select(console_sessions.c.token_hash)).scalar_one()
    assert cookie != stored and cookie not in stored
    page = client.get("/console/tickets")
    assert page.status_code == 200 and "li（办理员）" in page.text
    assert client.post("/console/logout", data={"csrf": "0" * 64}).status_code == 403  # CSRF
    assert client.post("/console/logout", data={"csrf": csrf_of(page.text)}, follow_redirects=False)\
        .status_code == 303
    client.cookies.set("console_session", cookie, path="/console")  # a stolen copy is worth nothing now
    assert client.get("/console/tickets", follow_redirects=False).status_code == 303


def test_wrong_passwords_slow_down_their_address_and_lock_no_one_out(app: FastAPI, client: TestClient,
                                                                     engine: Engine) -> None:
    make_user(engine, "wang", UserRole.ADMIN)
    guesser = client  # one address; the app's lifespan runs (and ends) with it
    for _ in range(FREE_FAILURES):
        refused = sign_in(guesser, "wang", "not the password")
        assert refused.status_code == 401 and "用户名或密码不正确" in refused.text
    slowed = sign_in(guesser, "wang", PASSWORD)  # not even checked while slowed down
    assert slowed.status_code == 429 and "太频繁" in slowed.text and 0 < int(slowed.headers["retry-after"]) <= 30
    assert "console_session" not in guesser.cookies
    officer = TestClient(app, client=("203.0.113.9", 50000))  # the officer, at the office
    signed_in = sign_in(officer, "wang")
    assert signed_in.status_code == 303 and "console_session" in officer.cookies
    assert sign_in(guesser, "nobody", PASSWORD).status_code == 401


def test_one_address_guessing_many_accounts_is_slowed(app: FastAPI, client: TestClient, engine: Engine) -> None:
    frozen = 3600.0 * 500_000 + 1  # the start of a minute that does not end mid-test, however slow the machine
    app.state.console_throttle = SignInThrottle(b"k" * 32, MemoryStore(lambda: frozen), MemoryLimiter(lambda: frozen),
                                                lambda: frozen)
    for name in ("liu", "chen", "yang"):
        make_user(engine, name, UserRole.OPERATOR)
    answers = [sign_in(client, name, "guess").status_code for name in ("liu", "chen", "yang") for _ in range(4)]
    assert answers[:10] == [401] * 10 and set(answers[10:]) == {429}  # ten a minute from one address
    slowed = sign_in(client, "yang", PASSWORD)
    assert slowed.status_code == 429 and "太频繁" in slowed.text and int(slowed.headers["retry-after"]) > 0
    assert "console_session" not in client.cookies


def test_csv_cells_never_run_as_spreadsheet_formulas(client: TestClient, engine: Engine, settings: Settings) -> None:
    make_user(engine, "exporter", UserRole.ADMIN)
    ticket = open_ticket(engine, settings, " =HYPERLINK(\"http://evil.example\",\"点我\")")
    with engine.begin() as conn:  # the unit and zone come from the dispatch system and API callers
        conn.execute(sa.update(tickets).where(tickets.c.id == ticket.id).values(
            unit="=cmd|' /C calc'!A0", zone="@SUM(1+1)"))
    sign_in(client, "exporter")
    rows = list(csv.reader(io.StringIO(client.get("/console/tickets.csv").content.decode("utf-8-sig"))))
    cells = dict(zip(rows[0], rows[1], strict=True))
    assert cells["承办单位"] == "'=cmd|' /C calc'!A0" and cells["专区"] == "'@SUM(1+1)"
    assert cells["问题描述"] == "' =HYPERLINK(\"http://evil.example\",\"点我\")"  # blanks in front too
    assert cells["工单号"] == ticket.number and cells["状态"] == "已登记"  # plain cells stay as they are


def test_sign_in_needs_the_form_csrf_token(client: TestClient, engine: Engine) -> None:
    make_user(engine, "zhao", UserRole.VIEWER)
    client.get("/console/login")
    response = client.post("/console/login", data={"username": "zhao", "password": PASSWORD, "csrf": "f" * 64})
    assert response.status_code == 403 and "console_session" not in client.cookies


def test_list_filters_search_pages_and_csv(client: TestClient, engine: Engine, settings: Settings) -> None:
    make_user(engine, "viewer", UserRole.VIEWER)
    lamp = open_ticket(engine, settings, "路灯坏了，电话13812345678")
    noise = open_ticket(engine, settings, "=工地夜间施工噪音", channel="alipay", openid="2088000000000001")
    with engine.begin() as conn:
        conn.execute(sa.update(tickets).where(tickets.c.id == noise.id).values(
            zone="housing_delivery", unit="住建局", status="dispatched", expected_at=utcnow().replace(year=2020)))
        for i in range(26):
            conn.execute(sa.insert(tickets).values(
                number=f"T{i:05d}", tracking_code=f"C{i:05d}", channel="web", status="closed",
                description=f"旧工单 {i}", created_at=utcnow().replace(year=2024), updated_at=utcnow()))
    sign_in(client, "viewer")

    def numbers(query: str) -> list[str]:
        html = client.get(f"/console/tickets?{query}").text
        return [n for n in (lamp.number, noise.number) if n in html]

    assert numbers("") == [lamp.number, noise.number]
    assert numbers("channel=alipay") == [noise.number]
    assert numbers("zone=housing_delivery&unit=住建局") == [noise.number]
    assert numbers("status=received") == [lamp.number]
    assert numbers("overdue=1") == [noise.number]
    assert numbers("q=路灯") == [lamp.number]
    assert numbers(f"q={noise.number}") == [noise.number]
    today = utcnow().astimezone(settings.tz).date().isoformat()
    assert numbers(f"from={today}&to={today}") == [lamp.number, noise.number]
    assert numbers("to=2024-12-31") == []
    bad = client.get("/console/tickets?from=yesterday&status=bogus")
    assert bad.status_code == 200 and "已忽略" in bad.text
    first = client.get("/console/tickets").text
    assert "共 28 条，第 1 / 2 页" in first and "138****5678" in first and "13812345678" not in first
    assert "旧工单 25" in client.get("/console/tickets?page=2").text or "旧工单 0" in \
        client.get("/console/tickets?page=2").text
    export = client.get("/console/tickets.csv?channel=alipay")
    assert export.headers["content-type"].startswith("text/csv") and "attachment" in \
        export.headers["content-disposition"]
    lines = export.content.decode("utf-8-sig").splitlines()
    assert lines[0].startswith("工单号,状态,渠道") and len(lines) == 2
    assert noise.number in lines[1] and ",是,'=工地" in lines[1]  # overdue; no formula for spreadsheets
    assert len(client.get("/console/tickets.csv").content.decode("utf-8-sig").splitlines()) == 29


def test_ticket_page_shows_messages_safely_photos_and_place(client: TestClient, engine: Engine,
                                                             settings: Settings) -> None:
    make_user(engine, "op", UserRole.OPERATOR)
    key = LocalFolderStore(settings.uploads_path).put(PNG, "png", utcnow())
    ticket = open_ticket(engine, settings, "井盖丢了", latitude=34.7466, longitude=113.6253, label="二七广场",
                         photos=(NewAttachment(kind="image", media_id=stored_media.media_id(key)),
                                 NewAttachment(kind="image", media_id="wechat-media-1")))
    with engine.begin() as conn:
        conn.execute(sa.insert(inbound_messages).values(
            channel="wechat", account="gh_console", dedupe_key="m1", citizen_id=ticket.citizen_id, kind="text",
            payload={"kind": "text", "text": "<script>alert(1)</script> 井盖丢了"}, replies=[],
            ticket_id=ticket.id, received_at=ticket.created_at))
        photo_id = conn.execute(sa.text("SELECT min(id) FROM attachments")).scalar_one()
    sign_in(client, "op")
    page = client.get(f"/console/tickets/{ticket.id}")
    assert page.status_code == 200 and f"<title>工单 {ticket.number}" in page.text
    assert "<script>alert(1)</script>" not in page.text and "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text
    assert "34.746600, 113.625300" in page.text and "二七广场" in page.text
    assert f'src="/console/attachments/{photo_id}"' in page.text and "保存在微信平台" in page.text
    photo = client.get(f"/console/attachments/{photo_id}")
    assert photo.status_code == 200 and photo.content == PNG and photo.headers["content-type"] == "image/png"
    assert client.get(f"/console/attachments/{photo_id + 1}").status_code == 404
    assert client.get("/console/tickets/99999").status_code == 404
    client.cookies.clear()
    assert client.get(f"/console/attachments/{photo_id}", follow_redirects=False).status_code == 303


def test_status_change_goes_through_the_dispatch_path_and_tells_the_citizen(
        client: TestClient, engine: Engine, settings: Settings) -> None:
    make_user(engine, "op", UserRole.OPERATOR)
    ticket = open_ticket(engine, settings, "垃圾没人清运")
    unit = catalogue_units(engine)[0]
    sign_in(client, "op")
    page = client.get(f"/console/tickets/{ticket.id}")
    done = client.post(f"/console/tickets/{ticket.id}/status", data={
        "status": "dispatched", "note": "已转城管局处理", "unit": unit, "expected": "2030-01-31",
        "csrf": csrf_of(page.text)}, follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"].endswith("done=status")
    with engine.connect() as conn:
        row = conn.execute(sa.select(tickets).where(tickets.c.id == ticket.id)).one()
        told = conn.execute(sa.select(notifications.c.purpose, notifications.c.payload)).all()
        actor = conn.execute(sa.select(ticket_events.c.actor).order_by(ticket_events.c.id.desc())).first()
    assert row.status == "dispatched" and row.unit == unit
    assert row.expected_at.astimezone(settings.tz).date().isoformat() == "2030-01-31"
    assert [(p, n["note"]) for p, n in told] == [("progress", "已转城管局处理")]
    assert actor is not None and actor[0] == "console:op"
    shown = client.get(done.headers["location"]).text
    assert "状态已更新" in shown and "进度通知" in shown and "已转城管局处理" in shown
    wrong = client.post(f"/console/tickets/{ticket.id}/status", data={
        "status": "closed", "csrf": csrf_of(shown)}, follow_redirects=False)
    assert wrong.headers["location"].endswith("error=transition")


def test_reassign_and_merge(client: TestClient, engine: Engine, settings: Settings) -> None:
    make_user(engine, "op", UserRole.OPERATOR)
    first = open_ticket(engine, settings, "小区停水")
    second = open_ticket(engine, settings, "小区又停水了", openid="oOtherCitizen02")
    sign_in(client, "op")
    csrf = csrf_of(client.get(f"/console/tickets/{second.id}").text)
    unit = catalogue_units(engine)[-1]
    moved = client.post(f"/console/tickets/{second.id}/reassign", data={"unit": unit, "note": "",
                                                                         "csrf": csrf}, follow_redirects=False)
    assert moved.headers["location"].endswith("done=reassign")
    assert client.post(f"/console/tickets/{second.id}/merge", data={"into": second.number, "csrf": csrf},
                       follow_redirects=False).headers["location"].endswith("error=merge_target")
    merged = client.post(f"/console/tickets/{second.id}/merge", data={"into": first.number.lower(), "csrf": csrf},
                         follow_redirects=False)
    assert merged.headers["location"].endswith("done=merge")
    with engine.connect() as conn:
        row = conn.execute(sa.select(tickets.c.status, tickets.c.unit).where(tickets.c.id == second.id)).one()
        told = conn.execute(sa.select(notifications.c.payload)).scalars().all()
    assert tuple(row) == ("merged", unit)
    assert len(told) == 1 and first.number in told[0]["note"] and told[0]["status"] == "merged"


def test_viewers_read_but_cannot_act(client: TestClient, engine: Engine, settings: Settings) -> None:
    make_user(engine, "ro", UserRole.VIEWER)
    ticket = open_ticket(engine, settings, "公园长椅坏了")
    sign_in(client, "ro")
    page = client.get(f"/console/tickets/{ticket.id}")
    assert page.status_code == 200 and "只读账户" in page.text and "/status" not in page.text
    refused = client.post(f"/console/tickets/{ticket.id}/status", data={
        "status": "accepted", "csrf": csrf_of(page.text)})
    assert refused.status_code == 403 and "只读" in refused.text
    with engine.connect() as conn:
        assert conn.execute(sa.select(tickets.c.status)).scalar_one() == "received"


def test_actions_need_the_session_csrf_token(client: TestClient, engine: Engine, settings: Settings) -> None:
    make_user(engine, "op", UserRole.OPERATOR)
    ticket = open_ticket(engine, settings, "路面塌陷")
    sign_in(client, "op")
    for path, form in (("status", {"status": "accepted"}), ("reassign", {"unit": "x"}), ("merge", {"into": "x"})):
        response = client.post(f"/console/tickets/{ticket.id}/{path}", data={**form, "csrf": "0" * 64})
        assert response.status_code == 403 and "安全校验" in response.text
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(ticket_events)).scalar_one() == 1


def test_a_ticket_past_its_deadline_is_overdue_and_its_page_shows_the_deadline(
        client: TestClient, engine: Engine, settings: Settings) -> None:
    from datetime import timedelta

    from tickets.storage.schema import ticket_deadlines

    make_user(engine, "viewer", UserRole.VIEWER)
    late = open_ticket(engine, settings, "楼道灯不亮")
    fine = open_ticket(engine, settings, "井盖松动")
    with engine.begin() as conn:
        for ticket, hours in ((late, -2), (fine, 20)):
            due = utcnow() + timedelta(hours=hours)
            conn.execute(sa.insert(ticket_deadlines).values(ticket_id=ticket.id, rule="test", due_at=due,
                                                            remind_at=due - timedelta(hours=1), created_at=utcnow()))
    sign_in(client, "viewer")
    listed = client.get("/console/tickets?overdue=1").text
    assert late.number in listed and fine.number not in listed
    page = client.get(f"/console/tickets/{late.id}").text
    assert "办理时限" in page
