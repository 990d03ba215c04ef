"""Helpers of the co-sign page tests: a petition in the database, and a browser that walks the pages."""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
import sqlalchemy as sa
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from bots.fakes.sms import FakeSmsGateway
from gateway.app import create_app
from qr.links import signer_for
from tickets import petitions, repository
from tickets.clock import utcnow
from tickets.inbox.citizens import CitizenKey, lock_citizen
from tickets.petitions import Signer
from tickets.repository import NewTicket
from tickets.settings import Settings
from tickets.storage.schema import signatures

TZ = ZoneInfo("Asia/Shanghai")
SMS_SECRET = "sms-shared-secret"
DESCRIPTION = "小区门口污水井冒水半个月，气味很大，联系人电话13800138000"
WECHAT_UA = ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
             "Mobile/15E148 MicroMessenger/8.0.47(0x18002f2c) NetType/WIFI Language/zh_CN")
ALIPAY_UA = ("Mozilla/5.0 (Linux; Android 13) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/110.0 Mobile Safari/537.36 "
             "AlipayClient/10.5.36.8000 Language/zh-Hans")
PHONE_UA = "Mozilla/5.0 (Linux; Android 13) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Mobile Safari/537.36"
_CSRF = re.compile(r'name="csrf" value="([0-9a-f]{64})"')


@dataclass
class Made:
    """A petition made for a test, and its co-sign link's token."""

    id: int
    token: str
    number: str


def make_petition(engine: Engine, settings: Settings, *, days: int = 30, created: datetime | None = None,
                  zone: str = "", rep_openid: str = "o-representative-1") -> Made:
    """A ticket turned into a petition, its WeChat citizen the representative and first signer."""
    now = created or utcnow()
    key = petitions.identity_key(settings.secret_key)
    with engine.begin() as conn:
        rep = lock_citizen(conn, CitizenKey("wechat", "gh_0123456789ab", rep_openid), now)
        ticket = repository.open_ticket(conn, NewTicket("wechat", rep.id, DESCRIPTION, address="幸福路12号"), now, TZ)
        signer = Signer(petitions.identity_of(key, "wechat", rep_openid), "wechat", rep.id, consent=True)
        petition, _ = petitions.start(conn, ticket.id, now=now, days=days, zone=zone, representative=signer)
    token = signer_for(settings.secret_key, settings.link_key_ids).sign(petition.id, petition.expires_at)
    return Made(petition.id, token, petition.number)


def counts(engine: Engine, petition_id: int) -> tuple[int, int, int]:
    """(signature_count, flagged_count, signature rows standing) of a petition."""
    with engine.connect() as conn:
        petition = petitions.get(conn, petition_id)
        rows = conn.execute(sa.select(sa.func.count()).select_from(signatures).where(
            signatures.c.petition_id == petition_id, signatures.c.status == "signed")).scalar_one()
    return petition.signature_count, petition.flagged_count, int(rows)


def expired_token(settings: Settings, petition_id: int) -> str:
    """A genuine token whose expiry has passed."""
    return signer_for(settings.secret_key, settings.link_key_ids).sign(petition_id, utcnow() - timedelta(minutes=1))


def csrf_of(page: str) -> str:
    """The CSRF token in a page's forms."""
    found = _CSRF.search(page)
    if found is None:
        raise AssertionError("no CSRF token in the page")
    return found.group(1)


def text_of(page: str) -> str:
    """A page's visible text, roughly (the head and tags dropped, entities decoded, blanks collapsed)."""
    body = re.sub(r"(?s)<head>.*</head>", " ", page)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", body)).split())


@dataclass
class Site:
    """The app under test, started (lifespan run), with its settings, database and SMS gateway."""

    app: FastAPI
    settings: Settings
    engine: Engine
    sms: FakeSmsGateway

    def browser(self, *, ip: str = "203.0.113.7", agent: str = PHONE_UA) -> Browser:
        """A new phone."""
        return Browser.on(self.app, ip=ip, agent=agent, sms=self.sms)

    def petition(self, *, days: int = 30, created: datetime | None = None, zone: str = "",
                 rep_openid: str = "o-representative-1") -> Made:
        """A new petition with its link."""
        return make_petition(self.engine, self.settings, days=days, created=created, zone=zone, rep_openid=rep_openid)


StartSite = Callable[..., Site]


@contextmanager
def site_starter(settings: Settings, engine: Engine, sms: FakeSmsGateway) -> Iterator[StartSite]:
    """Starts the app with the SMS gateway faked and no limits, after applying overrides to the settings."""
    settings.sms_sender, settings.sms_http_url, settings.sms_http_secret = "http", sms.entry_url, SMS_SECRET
    settings.cosign_ip_limits = settings.cosign_identity_limits = ""
    settings.otp_phone_limits = settings.otp_ip_limits = ""
    with ExitStack() as stack:
        def start(**overrides: object) -> Site:
            for name, value in overrides.items():
                setattr(settings, name, value)
            app = create_app(settings, run_jobs=False)
            stack.enter_context(TestClient(app))  # runs the lifespan; the browsers share the app
            return Site(app, settings, engine, sms)

        yield start


@dataclass
class Browser:
    """One phone's browser: its own cookies, address and user agent."""

    client: httpx.Client
    sms: FakeSmsGateway | None = None
    pages: list[str] = field(default_factory=list)

    @classmethod
    def on(cls, app: FastAPI, *, ip: str = "203.0.113.7", agent: str = PHONE_UA,
           sms: FakeSmsGateway | None = None) -> Browser:
        """A browser talking to the app in-process (HTTPS, as the public address is)."""
        client = TestClient(app, base_url="https://testserver", client=(ip, 50123), follow_redirects=False,
                            headers={"user-agent": agent})
        return cls(client, sms)

    def set_cookie(self, name: str, value: str) -> None:
        """Put a cookie in this browser as the app would (the cookie jar files "testserver" under ".local")."""
        self.client.cookies.set(name, value, domain="testserver.local", path="/j/")

    def get(self, path: str) -> httpx.Response:
        response = self.client.get(path)
        self.pages.append(response.text)
        return response

    def post(self, path: str, data: dict[str, str], *, csrf: str | None = None) -> httpx.Response:
        """Post a form with the CSRF token of the last page (or the one given)."""
        token = csrf if csrf is not None else csrf_of(self.pages[-1])
        response = self.client.post(path, data={"csrf": token, **data})
        self.pages.append(response.text)
        return response

    def ask_code(self, token: str, phone: str) -> httpx.Response:
        """Open the page and ask for a code to `phone`."""
        opened = self.get(f"/j/{token}")
        assert opened.status_code == 200, opened.text
        return self.post(f"/j/{token}/code", {"phone": phone})

    def prove_phone(self, token: str, phone: str) -> None:
        """Prove `phone` with the code the fake SMS gateway received; ends on the signing form."""
        assert self.sms is not None
        sent = self.ask_code(token, phone)
        assert sent.status_code == 303, sent.text
        assert self.get(sent.headers["location"]).status_code == 200
        proven = self.post(f"/j/{token}/verify", {"code": self.sms.last_code(phone)})
        assert proven.status_code == 303, proven.text
        page = self.get(proven.headers["location"])
        assert page.status_code == 200 and "我要联名" in page.text, page.text

    def sign(self, token: str, *, name: str = "", consent: bool = False) -> httpx.Response:
        """Post the signing form of the last page."""
        data = {"name": name} | ({"consent": "1"} if consent else {})
        return self.post(f"/j/{token}", data)
