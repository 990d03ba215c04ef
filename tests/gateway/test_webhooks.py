"""`/webhooks/wechat` over HTTP: WeRoBot plays WeChat; tickets land on SQLite and PostgreSQL."""

from __future__ import annotations

import logging
import threading
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from werobot.utils import get_signature

from tests.conftest import TEST_ACCOUNT, TEST_TOKEN
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


@pytest.mark.parametrize("encrypted", [True, False], ids=["safe", "plain"])
def test_a_citizen_files_a_request(client: TestClient, wechat: WeChatSide, settings: Settings,
                                   encrypted: bool) -> None:
    first = wechat.open(post(client, wechat, wechat.text(OPENID, "小区门口的路灯坏了"), encrypted=encrypted).content)
    assert first["ToUserName"] == OPENID and first["FromUserName"] == TEST_ACCOUNT
    assert "问题在哪里" in first["Content"]
    wechat.clock += 20  # a second later than this would be one burst of fragments: one reply after it
    assert "请核对" in wechat.open(post(client, wechat, wechat.text(OPENID, "文化路80号"), encrypted=encrypted)
                                .content)["Content"]
    done = wechat.open(post(client, wechat, wechat.text(OPENID, "1"), encrypted=encrypted).content)["Content"]
    assert "工单号" in done and "https://gw.example.cn/t/" in done
    code = done.split("/t/")[1].split()[0]
    page = client.get(f"/t/{code}")
    assert page.status_code == 200 and "小区门口的路灯坏了" in page.text and "已登记" in page.text
    assert OPENID not in page.text
    assert count(settings.database_url, tickets) == 1


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
    retried = wechat.open(post(client, wechat, confirm).content)["Content"]
    again = wechat.open(post(client, wechat, confirm).content)["Content"]
    assert "工单号" in retried and retried == again
    assert count(settings.database_url, tickets) == 1


def test_channel_off_without_credentials(db_url: str, tmp_path: object) -> None:
    from gateway.app import create_app

    settings = Settings(gateway_env="production", database_url=db_url, secret_key="s" * 40,
                        public_base_url="https://gw.example.cn", _env_file=None).prepared()  # type: ignore[call-arg]
    with TestClient(create_app(settings, run_jobs=False)) as client:
        assert client.post("/webhooks/wechat", content=b"<xml/>").status_code == 404
        assert client.get("/dev/wechat").status_code == 404
