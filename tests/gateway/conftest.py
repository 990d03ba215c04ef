"""The app over HTTP, with WeRoBot (an independent implementation) playing WeChat."""

from __future__ import annotations

import secrets
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import pytest
import uvicorn
import xmltodict
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from werobot.crypto import MessageCrypt
from werobot.utils import get_signature

from bots.fakes.sms import FakeSmsGateway
from gateway.app import create_app
from tests.conftest import TEST_ACCOUNT, TEST_AES_KEY, TEST_APP_ID, TEST_TOKEN
from tests.gateway.cosign.support import SMS_SECRET, StartSite, site_starter
from tickets.settings import Settings
from workers.context import WorkerContext, install
from workers.runner import Loop


@dataclass
class WeChatSide:
    """Builds pushes as WeChat would (WeRoBot's crypto) and opens our replies."""

    crypt: MessageCrypt = field(default_factory=lambda: MessageCrypt(TEST_TOKEN, TEST_AES_KEY, TEST_APP_ID))
    # Now: the gateway refuses pushes whose timestamp is outside WECHAT_MAX_CLOCK_SKEW_SECONDS.
    clock: int = field(default_factory=lambda: int(time.time()))
    # The CreateTime of the messages built so far: each 10 s after the one before, as a citizen types, so they
    # are not taken for a burst of fragments (8 s; bots/conversations/drafting.py) that gets one reply after it.
    created: int = 0

    def create_time(self) -> int:
        """The CreateTime of the next message."""
        self.created = max(self.created + 10, self.clock)
        return self.created

    def text(self, openid: str, content: str, msg_id: int | None = None) -> str:
        msg_id = msg_id if msg_id is not None else secrets.randbits(62)
        return f"<xml>{self._head(openid, 'text')}<Content><![CDATA[{content}]]></Content><MsgId>{msg_id}</MsgId></xml>"

    def event(self, openid: str, event: str, key: str = "") -> str:
        return (f"<xml>{self._head(openid, 'event')}<Event><![CDATA[{event}]]></Event>"
                f"<EventKey><![CDATA[{key}]]></EventKey></xml>")

    def location(self, openid: str, latitude: str, longitude: str, label: str = "文化路80号") -> str:
        """A shared location; the coordinates are written as given (the tests send ones that are no number)."""
        return (f"<xml>{self._head(openid, 'location')}<Location_X>{latitude}</Location_X>"
                f"<Location_Y>{longitude}</Location_Y><Scale>15</Scale><Label><![CDATA[{label}]]></Label>"
                f"<MsgId>{secrets.randbits(62)}</MsgId></xml>")

    def location_report(self, openid: str, latitude: str, longitude: str, precision: str = "65.0") -> str:
        """The LOCATION event an account that asks for it receives; the figures are written as given."""
        return (f"<xml>{self._head(openid, 'event')}<Event><![CDATA[LOCATION]]></Event>"
                f"<Latitude>{latitude}</Latitude><Longitude>{longitude}</Longitude>"
                f"<Precision>{precision}</Precision></xml>")

    def _head(self, openid: str, msg_type: str) -> str:
        return (f"<ToUserName><![CDATA[{TEST_ACCOUNT}]]></ToUserName><FromUserName><![CDATA[{openid}]]></FromUserName>"
                f"<CreateTime>{self.create_time()}</CreateTime><MsgType><![CDATA[{msg_type}]]></MsgType>")

    def seal(self, xml: str, openid: str = "oUser", *, encrypted: bool = True, compatible: bool = False,
             nonce: str | None = None) -> tuple[dict[str, str], bytes]:
        """The query and body of the POST WeChat would make: plain, safe or (`compatible`) compatible mode."""
        ts, nonce = str(self.clock), nonce or str(secrets.randbelow(10**9))
        query = {"signature": get_signature(TEST_TOKEN, ts, nonce), "timestamp": ts, "nonce": nonce,
                 "openid": openid}
        if not encrypted:
            return query, xml.encode()
        envelope = xmltodict.parse(self.crypt.encrypt_message(xml, ts, nonce))["xml"]
        query |= {"encrypt_type": "aes", "msg_signature": envelope["MsgSignature"]}
        if compatible:
            return query, xml.replace("</xml>", f"<Encrypt><![CDATA[{envelope['Encrypt']}]]></Encrypt></xml>").encode()
        body = (f"<xml><ToUserName><![CDATA[{TEST_ACCOUNT}]]></ToUserName>"
                f"<Encrypt><![CDATA[{envelope['Encrypt']}]]></Encrypt></xml>")
        return query, body.encode()

    def open(self, body: bytes) -> dict[str, str]:
        """Our reply as WeChat reads it: verified and decrypted by WeRoBot ({} for `success`)."""
        if body == b"success":
            return {}
        outer = xmltodict.parse(body)["xml"]
        if "Encrypt" not in outer:
            return dict(outer)
        plain = self.crypt.decrypt_message(outer["TimeStamp"], outer["Nonce"], outer["MsgSignature"],
                                           outer["Encrypt"])
        return dict(xmltodict.parse(plain)["xml"])


@pytest.fixture
def wechat() -> WeChatSide:
    return WeChatSide()


@pytest.fixture
def app(settings: Settings) -> FastAPI:
    return create_app(settings, run_jobs=False)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as test_client:
        yield test_client


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def serve(app: FastAPI) -> Iterator[str]:
    """The app on a real uvicorn server on loopback; yields its base URL."""
    port = free_port()
    # Keep-alive connections live for the whole test: with uvicorn's 5 s, a slow machine preparing many clients
    # had the first ones closed under them just as they sent (connection reset by peer).
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                                           timeout_keep_alive=300))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("server did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture
def live_server(app: FastAPI) -> Iterator[str]:
    """The app on a real uvicorn server on loopback, for concurrency tests."""
    with serve(app) as url:
        yield url


@pytest.fixture
def sms() -> Iterator[FakeSmsGateway]:
    """An SMS gateway on loopback that the co-sign pages text their codes to."""
    with FakeSmsGateway(SMS_SECRET) as fake:
        fake.start()
        yield fake


@pytest.fixture
def start_site(settings: Settings, engine: Engine, sms: FakeSmsGateway) -> Iterator[StartSite]:
    """Starts the co-sign site with settings overridden per test (tests/gateway/cosign/support.py)."""
    with site_starter(settings, engine, sms) as start:
        yield start


def run_jobs(settings: Settings, engine: Engine) -> WorkerContext:
    """Run every due outbox row, as the in-process runner does, with a worker wired from `settings`; the caller
    closes the returned context (or hands a job to it again)."""
    context = WorkerContext.build(settings, engine)
    install(context)
    loop = Loop(context, sweep_every_s=3600)
    loop._last_sweep = float("inf")
    while loop.tick():
        pass
    return context
