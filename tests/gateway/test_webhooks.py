"""`/webhooks/wechat` over HTTP: WeRoBot plays WeChat; tickets land on SQLite and PostgreSQL."""

from __future__ import annotations

import logging
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
import redis
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from werobot.utils import get_signature

from gateway.app import create_app
from gateway.busy import PAUSE_S
from tests.conftest import TEST_ACCOUNT, TEST_TOKEN, redis_url
from tests.gateway.conftest import WeChatSide
from tickets.settings import Settings
from tickets.storage.db import create_db_engine, is_postgres
from tickets.storage.schema import citizens, inbound_messages, tickets

OPENID = "oCitizen0001xyzABCDEF"


def count(url: str, table: sa.Table) -> int:
    engine = create_db_engine(url)
    with engine.connect() as conn:
        n = int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())
    engine.dispose()
    return n


def post(client: TestClient, wechat: WeChatSide, xml: str, *, encrypted: bool = True) -> httpx.Response:
    query, body = wechat.seal(xml, OPENID, encrypted=encrypted)
    return client.post("/webhooks/wechat", params=query, content=body, headers={"content-type": "text/xml"})


def test_url_verification_echoes_echostr_verbatim(client: TestClient) -> None:
    ts, nonce, echostr = "1714036504", "1514711492", "5837397520665436492"
    query = {"signature": get_signature(TEST_TOKEN, ts, nonce), "timestamp": ts, "nonce": nonce, "echostr": echostr}
    response = client.get("/webhooks/wechat", params=query)
    assert response.status_code == 200
    assert response.content == echostr.encode()
    assert response.headers["content-type"].startswith("text/plain")
    assert client.get("/webhooks/wechat", params=query | {"signature": "0" * 40}).status_code == 403


@pytest.mark.parametrize("mode", ["safe", "compatible", "plain"])
def test_a_citizen_files_a_request(wechat: WeChatSide, settings: Settings, mode: str) -> None:
    if mode == "plain":  # an account without an EncodingAESKey
        settings = settings.model_copy(update={"wechat_aes_key": ""})
    with TestClient(create_app(settings, run_jobs=False)) as client:
        def send(text: str) -> dict[str, str]:
            wechat.clock += 20  # closer than 8 s, messages are one burst of fragments with one reply after it
            query, body = wechat.seal(wechat.text(OPENID, text), OPENID, encrypted=mode != "plain",
                                      compatible=mode == "compatible")
            response = client.post("/webhooks/wechat", params=query, content=body)
            assert response.status_code == 200
            return wechat.open(response.content)

        first = send("小区门口的路灯坏了")
        assert first["ToUserName"] == OPENID and first["FromUserName"] == TEST_ACCOUNT
        assert "问题在哪里" in first["Content"]
        assert "请核对" in send("文化路80号")["Content"]
        done = send("1")["Content"]
        assert "工单号" in done and "https://gw.example.cn/t/" in done
        code = done.split("/t/")[1].split()[0]
        page = client.get(f"/t/{code}")
    assert page.status_code == 200 and "小区门口的路灯坏了" in page.text and "已登记" in page.text
    assert OPENID not in page.text
    assert count(settings.database_url, tickets) == 1


VICTIM = "oNeverWroteToTheCity000001"


def citizens_named(url: str, openid: str) -> int:
    engine = create_db_engine(url)
    with engine.connect() as conn:
        n = int(conn.execute(sa.select(sa.func.count()).select_from(citizens)
                             .where(citizens.c.external_id == openid)).scalar_one())
    engine.dispose()
    return n


def test_a_signature_copied_from_a_genuine_push_files_nothing(client: TestClient, wechat: WeChatSide,
                                                              settings: Settings,
                                                              caplog: pytest.LogCaptureFixture) -> None:
    # One genuine (encrypted) push: its query string is all a proxy's access log keeps.
    genuine_query, genuine_body = wechat.seal(wechat.text(OPENID, "你好", msg_id=5150), OPENID)
    genuine = client.post("/webhooks/wechat", params=genuine_query, content=genuine_body)
    assert genuine.status_code == 200
    copied = {k: genuine_query[k] for k in ("signature", "timestamp", "nonce")} | {"openid": VICTIM}
    with caplog.at_level(logging.INFO):
        # The attack the probe verified: plain pushes under the copied signature, as someone who never wrote.
        for text in ("小区门口的路灯坏了", "文化路80号", "1"):
            response = client.post("/webhooks/wechat", params=copied, content=wechat.text(VICTIM, text).encode())
            assert response.status_code == 403
        # With the copied msg_signature too, and the genuine Encrypt beside a plaintext of the attacker's
        # (compatible mode's shape): only Encrypt is read, so this is the genuine message again, answered
        # as before by the dedupe, to the citizen who sent it.
        beside = wechat.text(VICTIM, "1").replace("</xml>", genuine_body.decode().split("</ToUserName>")[1])
        replayed = client.post("/webhooks/wechat", params=genuine_query, content=beside.encode())
    assert replayed.status_code == 200
    again, before = wechat.open(replayed.content), wechat.open(genuine.content)
    assert again["ToUserName"] == before["ToUserName"] == OPENID and again["Content"] == before["Content"]
    assert citizens_named(settings.database_url, VICTIM) == 0
    assert count(settings.database_url, tickets) == 0
    assert count(settings.database_url, inbound_messages) == 1
    ours = "\n".join(r.getMessage() for r in caplog.records if not r.name.startswith("httpx"))
    assert "plain push refused" in ours and VICTIM not in ours and OPENID not in ours


@pytest.mark.parametrize(("skew", "age", "status"), [(300, 290, 200), (300, 310, 403), (60, 90, 403)])
def test_a_push_is_taken_only_inside_the_clock_window(settings: Settings, skew: int, age: int, status: int) -> None:
    settings.wechat_max_clock_skew_seconds = skew
    late = WeChatSide(clock=int(time.time()) - age)
    with TestClient(create_app(settings, run_jobs=False)) as client:
        query, body = late.seal(late.text(OPENID, "你好"), OPENID)
        assert client.post("/webhooks/wechat", params=query, content=body).status_code == status
    assert count(settings.database_url, inbound_messages) == (1 if status == 200 else 0)


@pytest.mark.parametrize("store", ["database", "redis"])
def test_web_processes_share_the_nonces(settings: Settings, wechat: WeChatSide, store: str) -> None:
    if store == "redis":
        settings.redis_url = redis_url(11)
        flush = redis.Redis.from_url(settings.redis_url)
        flush.flushdb()
        flush.close()
    first_query, first_body = wechat.seal(wechat.text(OPENID, "井盖丢了"), OPENID, nonce="4242")
    # The same timestamp and nonce on another, correctly encrypted message: only the token's holder could
    # make it, but it shows what the store holds.
    other_query, other_body = wechat.seal(wechat.text(OPENID, "路灯坏了"), OPENID, nonce="4242")
    with (TestClient(create_app(settings, run_jobs=False)) as one,
          TestClient(create_app(settings, run_jobs=False)) as two):
        answer = one.post("/webhooks/wechat", params=first_query, content=first_body)
        retry = two.post("/webhooks/wechat", params=first_query, content=first_body)  # WeChat retrying
        assert answer.status_code == retry.status_code == 200
        assert wechat.open(answer.content)["Content"] == wechat.open(retry.content)["Content"]
        assert two.post("/webhooks/wechat", params=other_query, content=other_body).status_code == 403
        assert one.post("/webhooks/wechat", params=other_query, content=other_body).status_code == 403
    assert count(settings.database_url, inbound_messages) == 1


def test_events_are_answered_or_acknowledged(client: TestClient, wechat: WeChatSide) -> None:
    greeting = wechat.open(post(client, wechat, wechat.event(OPENID, "subscribe")).content)
    assert "12345市民服务" in greeting["Content"]
    response = post(client, wechat, wechat.event(OPENID, "VIEW", "https://example.cn/menu"))
    assert response.status_code == 200 and response.content == b"success"
    unknown = ("<xml><ToUserName>gh_x</ToUserName><FromUserName>oU</FromUserName><CreateTime>1</CreateTime>"
               "<MsgType>hologram</MsgType><MsgId>77</MsgId></xml>")
    assert post(client, wechat, unknown).content == b"success"


def test_retry_storm_gives_one_ticket(live_server: str, wechat: WeChatSide, settings: Settings) -> None:
    with httpx.Client(base_url=live_server, timeout=10) as http:
        for text in ("楼道里堆满了杂物，有火灾隐患", "光明小区5号楼"):
            wechat.clock += 20
            query, body = wechat.seal(wechat.text(OPENID, text), OPENID)
            assert http.post("/webhooks/wechat", params=query, content=body).status_code == 200
        query, body = wechat.seal(wechat.text(OPENID, "1", msg_id=99001), OPENID)

        barrier = threading.Barrier(3)

        def deliver(_: int) -> str:
            barrier.wait()
            response = http.post("/webhooks/wechat", params=query, content=body)
            assert response.status_code == 200
            return wechat.open(response.content)["Content"]

        with ThreadPoolExecutor(3) as pool:
            concurrent = list(pool.map(deliver, range(3)))
        late = [wechat.open(http.post("/webhooks/wechat", params=query, content=body).content)["Content"]
                for _ in range(3)]
    assert len(set(concurrent + late)) == 1 and "工单号" in concurrent[0]
    assert count(settings.database_url, tickets) == 1
    assert count(settings.database_url, inbound_messages) == 3


BAD = {
    "forged signature": (lambda q, b: ({**q, "signature": "f" * 40}, b), 403),
    "forged msg_signature": (lambda q, b: ({**q, "msg_signature": "f" * 40}, b), 403),
    "broken base64": (lambda q, b: (q, b.replace(b"<Encrypt><![CDATA[", b"<Encrypt><![CDATA[%%")), 403),
    "malformed XML": (lambda q, b: (q, b[:-7]), 400),
    "DOCTYPE": (lambda q, b: (q, b'<!DOCTYPE xml [<!ENTITY x "y">]>' + b), 400),
    "JSON body": (lambda q, b: (q, b'{"ToUserName": "gh"}'), 400),
    "oversize body": (lambda q, b: (q, b + b" " * 70_000), 413),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_input_is_refused_and_stores_nothing(client: TestClient, wechat: WeChatSide, settings: Settings,
                                                 caplog: pytest.LogCaptureFixture, case: str) -> None:
    mutate, status = BAD[case]
    query, body = wechat.seal(wechat.text(OPENID, "电话13812345678"), OPENID)
    query, body = mutate(query, body)
    with caplog.at_level(logging.INFO):
        response = client.post("/webhooks/wechat", params=query, content=body)
    assert response.status_code == status
    assert count(settings.database_url, inbound_messages) == 0
    assert count(settings.database_url, citizens) == 0
    ours = "\n".join(r.getMessage() for r in caplog.records if not r.name.startswith("httpx"))
    assert "refused" in ours
    assert OPENID not in ours and "13812345678" not in ours


def test_wrong_appid_inside_ciphertext_is_refused(client: TestClient, settings: Settings) -> None:
    from werobot.crypto import MessageCrypt

    from tests.conftest import TEST_AES_KEY
    other = WeChatSide(crypt=MessageCrypt(TEST_TOKEN, TEST_AES_KEY, "wxOTHERAPPID000000"))
    query, body = other.seal(other.text(OPENID, "你好"), OPENID)
    assert client.post("/webhooks/wechat", params=query, content=body).status_code == 400
    assert count(settings.database_url, inbound_messages) == 0


def test_database_down_then_retry_creates_the_ticket_once(client: TestClient, wechat: WeChatSide,
                                                          settings: Settings) -> None:
    post(client, wechat, wechat.text(OPENID, "下水道堵了，污水漫到路上"))
    post(client, wechat, wechat.text(OPENID, "红旗路1号"))
    confirm = wechat.text(OPENID, "1", msg_id=424242)
    blocker: Engine = create_db_engine(settings.database_url)
    with blocker.connect() as conn:
        # Hold the write lock (SQLite) or the table lock (PostgreSQL) as a sick database would.
        if is_postgres(conn):
            conn.exec_driver_sql("LOCK TABLE citizens IN ACCESS EXCLUSIVE MODE")
        else:
            conn.exec_driver_sql("SELECT 1")  # autobegin: BEGIN IMMEDIATE holds SQLite's write lock
        response = post(client, wechat, confirm)
        conn.rollback()
    blocker.dispose()
    assert response.status_code == 503
    assert count(settings.database_url, tickets) == 0
    time.sleep(PAUSE_S)  # WeChat retries seconds later, after the pause that follows a lock wait that ran out
    retried = wechat.open(post(client, wechat, confirm).content)["Content"]
    again = wechat.open(post(client, wechat, confirm).content)["Content"]
    assert "工单号" in retried and retried == again
    assert count(settings.database_url, tickets) == 1


def test_channel_off_without_credentials(db_url: str, tmp_path: object) -> None:
    settings = Settings(gateway_env="production", database_url=db_url, secret_key="s" * 40,
                        public_base_url="https://gw.example.cn", _env_file=None).prepared()  # type: ignore[call-arg]
    with TestClient(create_app(settings, run_jobs=False)) as client:
        assert client.post("/webhooks/wechat", content=b"<xml/>").status_code == 404
        assert client.get("/dev/wechat").status_code == 404


def stored_payloads(url: str) -> list[dict[str, object]]:
    engine = create_db_engine(url)
    with engine.connect() as conn:
        payloads = [dict(p) for p in conn.execute(sa.select(inbound_messages.c.payload)
                                                  .order_by(inbound_messages.c.id)).scalars()]
    engine.dispose()
    return payloads


BAD_POINTS = [("nan", "113.6"), ("34.7", "inf"), ("-Infinity", "113.6"), ("1e400", "0"), ("91", "113.6"),
              ("34.7", "-180.5"), ("NaN", "NaN"), ("north", "113.6"), ("", "")]


@pytest.mark.parametrize(("latitude", "longitude"), BAD_POINTS)
def test_a_shared_location_that_is_no_point_is_kept_without_it(client: TestClient, wechat: WeChatSide,
                                                               settings: Settings, latitude: str,
                                                               longitude: str) -> None:
    asked = wechat.open(post(client, wechat, wechat.text(OPENID, "小区门口的路灯坏了好几天")).content)["Content"]
    assert "问题在哪里" in asked
    response = post(client, wechat, wechat.location(OPENID, latitude, longitude))
    assert response.status_code == 200
    assert "没能读取" in wechat.open(response.content)["Content"]  # a polite reply: send it again, or type it
    # Every later push still works (an infinite coordinate in the draft used to break them for its 72 hours).
    confirm = wechat.open(post(client, wechat, wechat.location(OPENID, "34.7466", "113.6253")).content)["Content"]
    assert "请核对" in confirm
    assert "工单号" in wechat.open(post(client, wechat, wechat.text(OPENID, "1")).content)["Content"]
    payloads = stored_payloads(settings.database_url)
    assert payloads[1]["kind"] == "location" and "location" not in payloads[1]
    assert payloads[1]["dropped"] == ["location"]
    engine = create_db_engine(settings.database_url)
    with engine.connect() as conn:
        point = conn.execute(sa.select(tickets.c.latitude, tickets.c.longitude)).one()
    engine.dispose()
    assert tuple(point) == (34.7466, 113.6253)


@pytest.mark.parametrize(("latitude", "longitude", "precision", "dropped"),
                         [("nan", "113.6", "65", "location"), ("34.7", "inf", "65", "location"),
                          ("95", "113.6", "65", "location"), ("34.7", "113.6", "nan", "precision"),
                          ("34.7", "113.6", "-inf", "precision")])
def test_a_location_report_that_is_no_point_is_kept_without_it(client: TestClient, wechat: WeChatSide,
                                                               settings: Settings, latitude: str, longitude: str,
                                                               precision: str, dropped: str) -> None:
    bad = post(client, wechat, wechat.location_report(OPENID, latitude, longitude, precision))
    assert bad.status_code == 200 and bad.content == b"success"
    wechat.clock += 1  # the next report (events are deduplicated by sender and time)
    good = post(client, wechat, wechat.location_report(OPENID, "34.7466", "113.6253"))
    assert good.status_code == 200 and good.content == b"success"
    first, second = stored_payloads(settings.database_url)
    assert "nan" not in repr(first).lower() and "inf" not in repr(first).lower()
    assert first["dropped"] == [dropped]
    assert ("location" in first) is (dropped != "location")
    assert second["location"] == {"latitude": 34.7466, "longitude": 113.6253, "label": "", "scale": None}


OVER_LONG = {
    "FromUserName": (OPENID, "o" + "x" * 128),
    "ToUserName": (TEST_ACCOUNT, "gh_" + "9" * 62),
    "MsgId": ("<MsgId>", "<MsgId>" + "7" * 65),
}


@pytest.mark.parametrize("field", sorted(OVER_LONG))
def test_an_over_long_field_is_refused_with_a_4xx_on_every_retry(client: TestClient, wechat: WeChatSide,
                                                                 settings: Settings, field: str,
                                                                 caplog: pytest.LogCaptureFixture) -> None:
    original, longer = OVER_LONG[field]
    xml = wechat.text(OPENID, "路灯坏了", msg_id=77).replace(original, longer, 1)
    query, body = wechat.seal(xml, OPENID)
    with caplog.at_level(logging.INFO):
        statuses = {client.post("/webhooks/wechat", params=query, content=body).status_code for _ in range(3)}
    assert statuses == {400}  # a permanent error, said once and for all (was a 503 inviting retries for ever)
    assert count(settings.database_url, inbound_messages) == 0
    assert count(settings.database_url, citizens) == 0
    ours = "\n".join(r.getMessage() for r in caplog.records if r.name == "gateway")
    assert "refused POST /webhooks/wechat" in ours and "over" in ours
    assert longer.strip("<>MsgId") not in ours and OPENID not in ours


@pytest.mark.parametrize(("xml_of", "field"), [
    (lambda w: w.event(OPENID, "subscribe_msg_popup_event").replace(
        "</xml>", f"<SubscribeMsgPopupEvent><List><TemplateId>{'T' * 129}</TemplateId>"
                  "<SubscribeStatusString>accept</SubscribeStatusString></List></SubscribeMsgPopupEvent></xml>"),
     "template id"),
    (lambda w: (f"<xml><ToUserName>{TEST_ACCOUNT}</ToUserName><FromUserName>{OPENID}</FromUserName>"
                f"<CreateTime>{w.clock}</CreateTime><MsgType>image</MsgType><PicUrl>http://p/1</PicUrl>"
                f"<MediaId>{'M' * 256}</MediaId><MsgId>88</MsgId></xml>"), "media id"),
    (lambda w: (f"<xml><ToUserName>{TEST_ACCOUNT}</ToUserName><FromUserName>{OPENID}</FromUserName>"
                f"<CreateTime>{w.clock}</CreateTime><MsgType>image</MsgType><PicUrl>http://p/{'a' * 1020}</PicUrl>"
                f"<MediaId>M1</MediaId><MsgId>89</MsgId></xml>"), "media url"),
])
def test_other_fields_bound_for_short_columns_are_refused(client: TestClient, wechat: WeChatSide,
                                                          settings: Settings, xml_of: Callable[[WeChatSide], str],
                                                          field: str, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO):
        assert post(client, wechat, xml_of(wechat)).status_code == 400
        assert post(client, wechat, xml_of(wechat)).status_code == 400
    assert f"{field} over" in caplog.text
    assert count(settings.database_url, inbound_messages) == 0


def test_long_values_a_genuine_push_may_carry_are_kept(client: TestClient, wechat: WeChatSide,
                                                       settings: Settings) -> None:
    # A menu's VIEW URL may be 1000 characters (the event's dedupe key is hashed), a location's label long.
    url = "https://gw.example.cn/t/ABC?" + "q" * 900
    view = wechat.event(OPENID, "VIEW", url)
    for _ in range(2):  # and its retry is recognised
        assert post(client, wechat, view).content == b"success"
    assert count(settings.database_url, inbound_messages) == 1
    post(client, wechat, wechat.text(OPENID, "小区门口的路灯坏了"))
    label = "河南省郑州市金水区" + "花园路" * 120
    shared = post(client, wechat, wechat.location(OPENID, "34.7", "113.6", label))
    assert "请核对" in wechat.open(shared.content)["Content"]
    assert "工单号" in wechat.open(post(client, wechat, wechat.text(OPENID, "1")).content)["Content"]
    engine = create_db_engine(settings.database_url)
    with engine.connect() as conn:
        kept = conn.execute(sa.select(tickets.c.location_label)).scalar_one()
    engine.dispose()
    assert label.startswith(kept) and len(kept) == 255


HOLDER = """
import sys
url = sys.argv[1]
if url.startswith("sqlite:///"):
    import sqlite3
    conn = sqlite3.connect(url[len("sqlite:///"):], isolation_level=None)
    conn.execute("BEGIN IMMEDIATE")  # the write lock, as another process's long transaction holds it
else:
    import psycopg
    conn = psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"))
    conn.execute("LOCK TABLE citizens IN ACCESS EXCLUSIVE MODE")
print("locked", flush=True)
sys.stdin.read()  # until the test closes our stdin
conn.rollback()
"""


def test_a_write_lock_held_by_another_process_gets_fast_retryable_answers(live_server: str, wechat: WeChatSide,
                                                                         settings: Settings) -> None:
    pushes = [wechat.seal(wechat.text(f"oLocked{i:02d}", "你好", msg_id=700 + i), f"oLocked{i:02d}")
              for i in range(12)]
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, settings.database_url], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        with httpx.Client(base_url=live_server, timeout=30) as http, ThreadPoolExecutor(13) as pool:
            def deliver(push: tuple[dict[str, str], bytes]) -> tuple[int, str, float]:
                started = time.monotonic()
                response = http.post("/webhooks/wechat", params=push[0], content=push[1])
                return response.status_code, response.headers.get("retry-after", ""), time.monotonic() - started

            def health() -> float:
                time.sleep(0.1)  # while the pushes are being answered
                started = time.monotonic()
                assert http.get("/healthz").status_code == 200
                assert http.get("/readyz").status_code == 200  # a read: the database is locked, not down
                return time.monotonic() - started

            started = time.monotonic()
            during = pool.submit(health)
            answers = list(pool.map(deliver, pushes))
            burst = time.monotonic() - started
            healthz = during.result()
    finally:
        for pipe in (holder.stdin, holder.stdout):
            if pipe is not None:
                pipe.close()
        holder.wait(timeout=10)
    assert {(status, retry_after) for status, retry_after, _ in answers} == {(503, "1")}
    # Each answer well inside WeChat's 5 s, and the event loop free for everything else meanwhile.
    assert max(seconds for _, _, seconds in answers) < 3.0 and burst < 4.0, answers
    assert healthz < 1.0
    # WeChat retries (seconds later; the pause after a lock wait ran out is over): stored once each, and a
    # second retry gets the same answer from the dedupe.
    time.sleep(PAUSE_S)
    with httpx.Client(base_url=live_server, timeout=10) as http:
        first = [http.post("/webhooks/wechat", params=q, content=b) for q, b in pushes]
        again = [http.post("/webhooks/wechat", params=q, content=b) for q, b in pushes]
    assert [r.status_code for r in first + again] == [200] * 24
    assert [wechat.open(r.content)["Content"] for r in first] == [wechat.open(r.content)["Content"] for r in again]
    assert count(settings.database_url, inbound_messages) == 12


def _chat(client: TestClient, wechat: WeChatSide, openid: str) -> Callable[[str], str]:
    def send(text: str) -> str:
        wechat.clock += 20  # a message a while after the one before, not a burst of fragments
        query, body = wechat.seal(wechat.text(openid, text), openid)
        response = client.post("/webhooks/wechat", params=query, content=body)
        assert response.status_code == 200
        return wechat.open(response.content).get("Content", "")
    return send


def test_danger_comes_first_in_the_chat(client: TestClient, wechat: WeChatSide, settings: Settings) -> None:
    fire = _chat(client, wechat, "oFire0001")("楼下饭店着火了，冒浓烟，好多人被困在里面")
    assert fire.startswith("请立即拨打119") and "？" not in fire  # the number first, and no intake question
    send = _chat(client, wechat, "oWires001")
    advice = send("路边电线杆上的线在冒火花，滋滋响")
    assert "请远离" in advice and "问题在哪里" in advice  # one line of advice, then only what is missing
    filed = send("金水区农业路与文化路交叉口")
    assert "紧急件" in filed and "工单号" in filed  # the place is enough: filed at once
    unsure = _chat(client, wechat, "oSmell001")("楼道里有一股怪味，说不上来是啥味")
    assert "现在有人被困或者受伤吗" in unsure
    court = _chat(client, wechat, "oCourt001")("工程款纠纷法院已经立案了，想让你们催一下")
    assert "法院" in court and "没有登记" in court
    engine = create_db_engine(settings.database_url)
    with engine.connect() as conn:
        rows = conn.execute(sa.select(tickets.c.urgency, tickets.c.description)).all()
        left = conn.execute(sa.select(citizens.c.dialog_state)
                            .where(citizens.c.external_id == "oCourt001")).scalar_one()
    engine.dispose()
    assert [(r.urgency, "冒火花" in r.description) for r in rows] == [("urgent", True)]  # nothing else filed
    assert left == "idle"  # the redirect leaves no draft open
