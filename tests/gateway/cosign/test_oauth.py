"""Identity inside WeChat and Alipay: web authorisation through the loopback fakes, and forged callbacks."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import sqlalchemy as sa
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from bots.fakes.alipay import FakeAlipay
from bots.fakes.wechat import FakeWeChat
from tests.conftest import TEST_APP_ID
from tests.gateway.cosign.support import (
    ALIPAY_UA,
    WECHAT_UA,
    Browser,
    Site,
    StartSite,
    counts,
    text_of,
)
from tickets.settings import Settings
from tickets.storage.schema import citizens, signatures

SECRET = "wechat-app-secret"
ALIPAY_APP = "2021000000000042"
OPENID = "oNeighbour-4711-abcdefghijklmn"
ALIPAY_USER = "2088102146225135"


@pytest.fixture
def wechat(settings: Settings) -> Iterator[FakeWeChat]:
    with FakeWeChat(settings.wechat_app_id, SECRET) as fake:
        fake.start()
        settings.wechat_app_secret = SECRET
        settings.wechat_api_base = settings.wechat_open_base = fake.root_url
        fake.oauth_openid = OPENID
        yield fake


@pytest.fixture
def alipay(settings: Settings) -> Iterator[FakeAlipay]:
    app_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    with FakeAlipay(ALIPAY_APP, app_key.public_key()) as fake:
        settings.alipay_gateway = fake.start()
        settings.alipay_app_id, settings.alipay_public_key = ALIPAY_APP, fake.public_key_pem
        settings.alipay_app_private_key = app_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode()
        settings.alipay_auth_base = fake.root_url
        fake.oauth_user = ALIPAY_USER
        yield fake


def to_provider(browser: Browser, token: str) -> str:
    """Open the page in the app; the authorisation URL it redirects to."""
    start = browser.get(f"/j/{token}")
    assert start.status_code == 302, start.text
    return start.headers["location"]


def callback_from(provider_url: str) -> str:
    """What the provider sends the browser back to: our callback's path and query."""
    back = httpx.get(provider_url.split("#")[0], follow_redirects=False)
    assert back.status_code == 302, back.text
    target = urlsplit(back.headers["location"])
    assert f"{target.scheme}://{target.netloc}" == "https://gw.example.cn"
    return f"{target.path}?{target.query}"


def sign_in(browser: Browser, token: str) -> httpx.Response:
    """The whole trip: page, provider, callback, page again (the signing form)."""
    proven = browser.get(callback_from(to_provider(browser, token)))
    assert proven.status_code == 303 and proven.headers["location"] == f"/j/{token}", proven.text
    return browser.get(proven.headers["location"])


def test_wechat_snsapi_base_end_to_end(start_site: StartSite, wechat: FakeWeChat,
                                       caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    site = start_site()
    made = site.petition()
    browser = site.browser(agent=WECHAT_UA)
    url = to_provider(browser, made.token)
    assert url.startswith(f"{wechat.root_url}/connect/oauth2/authorize?") and url.endswith("#wechat_redirect")
    query = parse_qs(urlsplit(url.split("#")[0]).query)
    assert query["appid"] == [TEST_APP_ID] and query["scope"] == ["snsapi_base"]
    assert query["response_type"] == ["code"] and query["state"][0].isalnum()
    assert query["redirect_uri"] == [f"https://gw.example.cn/j/{made.token}/oauth/wechat"]
    oauth_cookie = next(c for c in browser.client.cookies.jar if c.name == "j_oauth")
    assert oauth_cookie.path == f"/j/{made.token}/oauth/" and oauth_cookie.secure

    proven = browser.get(callback_from(url))
    assert proven.status_code == 303 and "j_id" in browser.client.cookies
    page = browser.get(f"/j/{made.token}")
    assert "已通过微信确认您的身份" in page.text
    done = browser.sign(made.token, consent=True)
    assert "感谢您的联名" in done.text and counts(site.engine, made.id) == (2, 0, 2)
    with site.engine.connect() as conn:
        row = conn.execute(sa.select(signatures).where(signatures.c.consent.is_(True),
                                                       signatures.c.channel == "wechat",
                                                       signatures.c.citizen_id.is_not(None))
                           .order_by(signatures.c.id.desc()).limit(1)).one()
        citizen = conn.execute(sa.select(citizens).where(citizens.c.id == row.citizen_id)).one()
    # No original id configured and no earlier conversation: the app id names the account.
    assert (citizen.channel, citizen.account, citizen.external_id) == ("wechat", TEST_APP_ID, OPENID)
    for text in (*browser.pages, caplog.text):
        assert OPENID not in text


def test_the_representative_is_the_same_signer_on_the_page_as_in_the_chat(start_site: StartSite,
                                                                          wechat: FakeWeChat) -> None:
    site = start_site()
    made = site.petition(rep_openid="oRepresentativeFromTheChat01")
    wechat.oauth_openid = "oRepresentativeFromTheChat01"
    browser = site.browser(agent=WECHAT_UA)
    page = sign_in(browser, made.token)
    assert "您已经联名过了" in page.text
    again = browser.sign(made.token, consent=True)  # a form kept open from before, say
    assert again.status_code == 200 and "您已经联名过了" in again.text
    assert counts(site.engine, made.id) == (1, 0, 1)


def test_a_consenting_signer_who_wrote_to_the_account_is_reached_there(start_site: StartSite,
                                                                       wechat: FakeWeChat) -> None:
    site = start_site()
    made = site.petition()
    site.petition(rep_openid=OPENID)  # OPENID has a citizen row already, under the account gh_0123456789ab
    browser = site.browser(agent=WECHAT_UA)
    sign_in(browser, made.token)
    browser.sign(made.token, consent=True)
    with site.engine.connect() as conn:
        accounts = conn.execute(sa.select(citizens.c.account).where(citizens.c.external_id == OPENID)).scalars()
        assert list(accounts) == ["gh_0123456789ab"]


def test_forged_foreign_and_replayed_callbacks_are_refused_and_sign_nothing(start_site: StartSite,
                                                                            wechat: FakeWeChat) -> None:
    site = start_site()
    made = site.petition()
    victim, attacker = site.browser(agent=WECHAT_UA), site.browser(agent=WECHAT_UA, ip="198.51.100.66")

    genuine = callback_from(to_provider(victim, made.token))
    code = parse_qs(urlsplit(genuine).query)["code"][0]
    forged = victim.get(f"/j/{made.token}/oauth/wechat?code={code}&state={'a' * 40}")
    assert forged.status_code == 403 and "身份确认请求无效" in forged.text and "j_id" not in victim.client.cookies

    lured = callback_from(to_provider(victim, made.token))  # the attacker's browser holds no matching cookie
    assert attacker.get(lured).status_code == 403 and "j_id" not in attacker.client.cookies

    fresh = callback_from(to_provider(victim, made.token))
    assert victim.get(fresh).status_code == 303
    replayed = victim.get(fresh)  # the cookie that bound it was spent
    assert replayed.status_code == 403 and "没有替您联名" in replayed.text
    assert counts(site.engine, made.id) == (1, 0, 1)


def test_code_errors_snapshot_pages_and_wechat_down_get_polite_pages(start_site: StartSite,
                                                                     wechat: FakeWeChat) -> None:
    site = start_site()
    made = site.petition()
    browser = site.browser(agent=WECHAT_UA)

    def with_code(code: str) -> httpx.Response:
        back = callback_from(to_provider(browser, made.token))
        state = parse_qs(urlsplit(back).query)["state"][0]
        return browser.get(f"/j/{made.token}/oauth/wechat?code={code}&state={state}")

    invalid = with_code("not-a-code")
    assert invalid.status_code == 400 and "身份确认没有完成" in invalid.text and "?via=sms" in invalid.text
    used = callback_from(to_provider(browser, made.token))
    assert browser.get(used).status_code == 303
    browser.client.cookies.delete("j_id")
    again = with_code(parse_qs(urlsplit(used).query)["code"][0])  # 40163: code been used
    assert again.status_code == 400 and "身份确认没有完成" in again.text
    wechat.oauth_snapshot = True
    snapshot = browser.get(callback_from(to_provider(browser, made.token)))
    assert snapshot.status_code == 400 and "使用完整服务" in snapshot.text and "j_id" not in browser.client.cookies
    wechat.oauth_snapshot = False
    wechat.fail_next("/sns/oauth2/access_token", -1, "system error")
    busy = browser.get(callback_from(to_provider(browser, made.token)))
    assert busy.status_code == 502 and "暂时无法确认身份" in busy.text
    no_code = browser.get(f"/j/{made.token}/oauth/wechat?state=x")
    assert no_code.status_code == 403  # no matching state either: refused before anything else
    assert counts(site.engine, made.id) == (1, 0, 1)


def test_inside_wechat_the_phone_path_stays_open(start_site: StartSite, wechat: FakeWeChat) -> None:
    site = start_site()
    made = site.petition()
    browser = site.browser(agent=WECHAT_UA)
    page = browser.get(f"/j/{made.token}?via=sms")
    assert page.status_code == 200 and "获取验证码" in page.text


def test_without_an_app_secret_wechat_users_use_their_phone(start_site: StartSite) -> None:
    site = start_site()
    made = site.petition()
    page = site.browser(agent=WECHAT_UA).get(f"/j/{made.token}")
    assert page.status_code == 200 and "获取验证码" in page.text
    assert site.browser().get(f"/j/{made.token}/oauth/wechat?code=x&state=y").status_code == 404


def test_alipay_auth_base_end_to_end_and_forged_state(start_site: StartSite, alipay: FakeAlipay) -> None:
    site = start_site()
    made = site.petition()
    browser = site.browser(agent=ALIPAY_UA)
    url = to_provider(browser, made.token)
    query = parse_qs(urlsplit(url).query)
    assert url.startswith(f"{alipay.root_url}/oauth2/publicAppAuthorize.htm?")
    assert query["app_id"] == [ALIPAY_APP] and query["scope"] == ["auth_base"]
    assert query["redirect_uri"] == [f"https://gw.example.cn/j/{made.token}/oauth/alipay"]

    back = callback_from(url)
    code = parse_qs(urlsplit(back).query)["auth_code"][0]
    forged = browser.get(f"/j/{made.token}/oauth/alipay?auth_code={code}&state=0123abcd")
    assert forged.status_code == 403 and "j_id" not in browser.client.cookies
    assert browser.get(back).status_code == 303  # the genuine one still works: the forgery spent nothing
    page = browser.get(f"/j/{made.token}")
    assert "已通过支付宝确认您的身份" in page.text
    assert "感谢您的联名" in browser.sign(made.token, consent=True).text
    with site.engine.connect() as conn:
        keys = conn.execute(sa.select(citizens.c.channel, citizens.c.account, citizens.c.external_id)
                            .where(citizens.c.channel == "alipay")).all()
    assert [tuple(k) for k in keys] == [("alipay", ALIPAY_APP, ALIPAY_USER)]
    assert counts(site.engine, made.id) == (2, 0, 2)
    assert ALIPAY_USER not in text_of(" ".join(browser.pages))


def test_alipay_refusing_the_code_gets_a_polite_page(start_site: StartSite, alipay: FakeAlipay) -> None:
    site: Site = start_site()
    made = site.petition()
    browser = site.browser(agent=ALIPAY_UA)
    back = callback_from(to_provider(browser, made.token))
    state = parse_qs(urlsplit(back).query)["state"][0]
    refused = browser.get(f"/j/{made.token}/oauth/alipay?auth_code=bogus&state={state}")
    assert refused.status_code == 400 and "身份确认没有完成" in refused.text
    alipay.fail_next("alipay.system.oauth.token", "20000", "isp.unknow-error")
    busy = browser.get(callback_from(to_provider(browser, made.token)))
    assert busy.status_code == 502 and "暂时无法确认身份" in busy.text
    assert counts(site.engine, made.id) == (1, 0, 1)
