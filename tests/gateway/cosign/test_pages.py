"""`/j/{token}` over HTTP on both backends: the page, the phone path, signing, withdrawing, bad input."""

from __future__ import annotations

import io
import logging
import time
from datetime import timedelta

import pytest
import sqlalchemy as sa
import zxingcpp
from PIL import Image
from sqlalchemy.engine import Engine

from gateway.cosign.identity import Identity, seal_identity
from gateway.security import CookieSeal
from qr.links import signer_for
from tests.conftest import redis_url
from tests.gateway.cosign.support import (
    PHONE_UA,
    StartSite,
    counts,
    csrf_of,
    expired_token,
    text_of,
)
from tickets import petitions, progress
from tickets.clock import utcnow
from tickets.lifecycle import Status
from tickets.progress import Satisfaction, StatusUpdate
from tickets.settings import Settings
from tickets.storage.schema import citizens, one_time_codes, signatures
from tickets.storage.schema import petitions as petitions_table

PHONE, OTHER = "13912345678", "13698765432"


def test_page_shows_the_petition_masked_its_count_and_the_phone_form(start_site: StartSite) -> None:
    site = start_site()
    made = site.petition()
    page = site.browser().get(f"/j/{made.token}")
    assert page.status_code == 200
    text = text_of(page.text)
    assert made.number in text and "小区门口污水井冒水半个月" in text and "幸福路12号" in text
    assert "138****8000" in text and "13800138000" not in page.text  # the ticket's text is masked
    assert "已有 1 人联名" in text and "获取验证码" in text
    assert f'action="/j/{made.token}/code"' in page.text
    cookies = page.headers.get_list("set-cookie")
    assert {c.split("=")[0] for c in cookies} == {"j_csrf", "j_dev"}
    for cookie in cookies:
        assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Secure" in cookie and "Path=/j/" in cookie


def test_cookies_are_not_secure_when_the_public_address_is_plain_http(start_site: StartSite) -> None:
    site = start_site(public_base_url="http://127.0.0.1:8000")
    page = site.browser().get(f"/j/{site.petition().token}")
    assert page.status_code == 200
    assert all("Secure" not in c for c in page.headers.get_list("set-cookie"))


def test_phone_path_with_consent_signs_keeps_the_number_and_answers_a_second_try(start_site: StartSite) -> None:
    site = start_site()
    made = site.petition()
    phone = site.browser()
    phone.prove_phone(made.token, PHONE)
    assert "已通过手机 139****5678 确认您的身份" in text_of(phone.pages[-1])
    assert site.sms.texts_to(PHONE)[0].startswith("您正在参加联名，验证码")
    done = phone.sign(made.token, name=" 老王 ", consent=True)
    assert done.status_code == 200
    assert "感谢您的联名" in done.text and "目前已有 2 人联名" in done.text and "撤回我的联名" in done.text
    assert PHONE not in done.text
    assert counts(site.engine, made.id) == (2, 0, 2)
    with site.engine.connect() as conn:
        row = conn.execute(sa.select(signatures).where(signatures.c.channel == "sms")).one()
        citizen = conn.execute(sa.select(citizens).where(citizens.c.id == row.citizen_id)).one()
    assert row.consent and row.name == "老王" and row.identity.startswith("sms:") and PHONE not in row.identity
    assert (citizen.channel, citizen.account, citizen.external_id) == ("sms", "", PHONE)
    again = phone.get(f"/j/{made.token}")
    assert "您已经联名过了" in again.text and "我要联名" not in again.text
    twice = phone.sign(made.token, consent=True)
    assert twice.status_code == 200 and "您已经联名过了" in twice.text and "感谢您的联名" not in twice.text
    assert counts(site.engine, made.id) == (2, 0, 2)


def test_without_consent_the_number_is_not_kept(start_site: StartSite) -> None:
    site = start_site()
    made = site.petition()
    phone = site.browser()
    phone.prove_phone(made.token, PHONE)
    assert "感谢您的联名" in phone.sign(made.token).text
    with site.engine.connect() as conn:
        row = conn.execute(sa.select(signatures).where(signatures.c.channel == "sms")).one()
        kept = conn.execute(sa.select(citizens.c.external_id)).scalars().all()
    assert not row.consent and row.citizen_id is None and PHONE not in kept


def test_withdraw_then_sign_again(start_site: StartSite) -> None:
    site = start_site()
    made = site.petition()
    phone = site.browser()
    phone.prove_phone(made.token, PHONE)
    phone.sign(made.token)
    gone = phone.post(f"/j/{made.token}/withdraw", {})
    assert gone.status_code == 200 and "您已撤回联名" in gone.text and "已有 1 人联名" in text_of(gone.text)
    assert counts(site.engine, made.id) == (1, 0, 1)
    phone.get(f"/j/{made.token}")
    none = phone.post(f"/j/{made.token}/withdraw", {})
    assert "您还没有在这次联名中签名" in none.text
    phone.get(f"/j/{made.token}")
    assert "感谢您的联名" in phone.sign(made.token).text
    assert counts(site.engine, made.id) == (2, 0, 2)


def test_wrong_expired_replayed_and_guessed_codes_prove_nothing(start_site: StartSite, engine: Engine) -> None:
    site = start_site()
    made = site.petition()
    phone = site.browser()
    assert phone.ask_code(made.token, "12345").status_code == 400
    assert "请填写正确的11位手机号码" in phone.pages[-1] and site.sms.sent == []
    phone.ask_code(made.token, PHONE)
    page = phone.get(f"/j/{made.token}")
    assert "验证码已发送到 139****5678" in text_of(page.text) and PHONE not in page.text
    right = site.sms.last_code(PHONE)
    wrong = "000000" if right != "000000" else "111111"
    assert phone.post(f"/j/{made.token}/verify", {"code": "12ab"}).status_code == 400
    assert "验证码是6位数字" in phone.pages[-1]
    tried = phone.post(f"/j/{made.token}/verify", {"code": wrong})
    assert tried.status_code == 400 and "还可以再试 4 次" in tried.text
    for _ in range(4):
        phone.post(f"/j/{made.token}/verify", {"code": wrong})
    assert "输错次数太多" in phone.pages[-1]
    late = phone.post(f"/j/{made.token}/verify", {"code": right})  # the right code, after five wrong tries
    assert late.status_code == 400 and "输错次数太多" in late.text and "j_id=" not in str(late.headers)

    phone.post(f"/j/{made.token}/code", {"resend": "1"})
    with engine.begin() as conn:  # the new code's five minutes have passed
        conn.execute(sa.update(one_time_codes).values(expires_at=utcnow() - timedelta(seconds=1)))
    phone.get(f"/j/{made.token}")
    expired = phone.post(f"/j/{made.token}/verify", {"code": site.sms.last_code(PHONE)})
    assert expired.status_code == 400 and "验证码已过期" in expired.text

    # A code used once does not prove the number again, even with the waiting-number cookie copied.
    phone.post(f"/j/{made.token}/code", {"resend": "1"})
    thief = site.browser(ip="198.51.100.9")
    thief.get(f"/j/{made.token}")
    thief.set_cookie("j_phone", phone.client.cookies["j_phone"])
    code = site.sms.last_code(PHONE)
    phone.get(f"/j/{made.token}")
    assert phone.post(f"/j/{made.token}/verify", {"code": code}).status_code == 303
    thief.get(f"/j/{made.token}")
    replayed = thief.post(f"/j/{made.token}/verify", {"code": code})
    assert replayed.status_code == 400 and "这个验证码已经用过了" in replayed.text
    assert "j_id" not in thief.client.cookies
    assert counts(site.engine, made.id) == (1, 0, 1)


def test_verify_without_a_code_asked_and_the_sms_gateway_down(start_site: StartSite) -> None:
    site = start_site()
    made = site.petition()
    phone = site.browser()
    phone.get(f"/j/{made.token}")
    nothing = phone.post(f"/j/{made.token}/verify", {"code": "123456"})
    assert nothing.status_code == 400 and "请先填写手机号码" in nothing.text
    site.sms.fail_next(503)
    down = phone.ask_code(made.token, PHONE)
    assert down.status_code == 502 and "短信暂时发不出去" in down.text and "j_phone" not in phone.client.cookies


def test_forms_without_the_csrf_token_of_this_browser_are_refused(start_site: StartSite) -> None:
    site = start_site()
    made, other = site.petition(), site.petition(rep_openid="o-rep-2")
    phone = site.browser()
    phone.prove_phone(made.token, PHONE)
    sent = len(site.sms.sent)
    mine = csrf_of(phone.get(f"/j/{made.token}").text)
    for csrf in ("", "0" * 64, csrf_of(phone.get(f"/j/{other.token}").text)):  # the last: another petition's
        refused = phone.post(f"/j/{made.token}", {}, csrf=csrf)
        assert refused.status_code == 403 and "页面已过期" in refused.text
    stranger = site.browser(ip="198.51.100.20")
    stranger.get(f"/j/{made.token}")
    for path, data in ((f"/j/{made.token}/code", {"phone": OTHER}), (f"/j/{made.token}", {})):
        assert stranger.post(path, data, csrf=mine).status_code == 403  # another browser's token
    assert counts(site.engine, made.id) == (1, 0, 1) and len(site.sms.sent) == sent


def test_oversized_and_malformed_fields_get_a_clear_400(start_site: StartSite) -> None:
    site = start_site()
    made = site.petition()
    phone = site.browser()
    phone.prove_phone(made.token, PHONE)
    long_name = phone.sign(made.token, name="名" * 21)
    assert long_name.status_code == 400 and "称呼最多20个字" in long_name.text and "我要联名" in long_name.text
    phone.get(f"/j/{made.token}")
    huge = phone.post(f"/j/{made.token}", {"name": "x" * 5000})
    assert huge.status_code == 400 and "填写的内容无法提交" in huge.text
    as_json = phone.client.post(f"/j/{made.token}", json={"name": "x"})
    assert as_json.status_code == 400
    repeated = phone.client.post(f"/j/{made.token}", content=b"csrf=a&csrf=b",
                                 headers={"content-type": "application/x-www-form-urlencoded"})
    assert repeated.status_code == 400
    assert counts(site.engine, made.id) == (1, 0, 1)


def test_closed_and_expired_petitions_take_no_signature(start_site: StartSite, engine: Engine) -> None:
    site = start_site()
    made = site.petition()
    phone = site.browser()
    phone.prove_phone(made.token, PHONE)
    with engine.begin() as conn:
        petitions.close(conn, made.id, utcnow())
    refused = phone.sign(made.token)
    assert refused.status_code == 410 and "联名已结束" in refused.text and "发起人已经结束" in refused.text
    page = phone.get(f"/j/{made.token}")
    assert page.status_code == 410 and "发起人已经结束" in page.text
    assert counts(site.engine, made.id) == (1, 0, 1)
    old = site.petition(created=utcnow() - timedelta(days=2), days=3, rep_openid="o-rep-old")
    with engine.begin() as conn:  # the petition's own end passed before the link's
        conn.execute(sa.update(petitions_table).where(petitions_table.c.id == old.id)
                     .values(expires_at=utcnow() - timedelta(minutes=1)))
    ended = site.browser().get(f"/j/{old.token}")
    assert ended.status_code == 410 and "已过截止时间" in ended.text


def test_a_petition_ends_with_its_ticket_resolved_and_rated(start_site: StartSite, engine: Engine) -> None:
    """The reported case: the ticket was resolved and rated, and a new signer was still accepted with "we will
    tell you of progress". Now the page says it ended with its ticket, and nothing is signed."""
    site = start_site()
    made = site.petition()
    phone = site.browser()
    phone.prove_phone(made.token, PHONE)  # the page was open before the ticket ended
    with engine.begin() as conn:
        ticket_id = petitions.get(conn, made.id).ticket_id
        for status in (Status.ACCEPTED, Status.RESOLVED):
            progress.apply_update(conn, ticket_id, StatusUpdate(status, actor="dispatch"), utcnow())
        progress.evaluate(conn, ticket_id, channel="wechat", satisfaction=Satisfaction.SATISFIED, solved=True,
                          reason="", now=utcnow())
    refused = phone.sign(made.token)
    assert refused.status_code == 410 and "已经办结，联名随之结束" in refused.text
    assert "感谢您的联名" not in refused.text and "发起人已经结束" not in refused.text
    page = site.browser().get(f"/j/{made.token}")
    assert page.status_code == 410 and "已经办结，联名随之结束" in page.text
    assert counts(site.engine, made.id) == (1, 0, 1)


def test_tampered_unknown_and_expired_links(start_site: StartSite) -> None:
    site = start_site()
    made = site.petition()
    browser = site.browser()
    pid, exp, kid, mac = made.token.split(".")
    tampered = f"{pid}.{int(exp) + 1}.{kid}.{mac}"
    for path in (f"/j/{tampered}", f"/j/{tampered}/card.png"):
        page = browser.get(path)
        assert page.status_code == 400 and "链接无效" in page.text
    assert browser.client.post(f"/j/{tampered}", data={"csrf": "x"}).status_code == 400
    assert browser.get("/j/not-a-token").status_code == 404 and "链接无效" in browser.pages[-1]
    foreign = signer_for(site.settings.secret_key, ["k9"]).sign(made.id, utcnow() + timedelta(days=1))
    assert browser.get(f"/j/{foreign}").status_code == 404 and "链接无效" in browser.pages[-1]
    late = browser.get(f"/j/{expired_token(site.settings, made.id)}")
    assert late.status_code == 410 and "联名已结束" in late.text
    signer = signer_for(site.settings.secret_key, site.settings.link_key_ids)
    missing = signer.sign(999_999, utcnow() + timedelta(days=1))
    assert browser.get(f"/j/{missing}").status_code == 404


def test_a_forged_or_foreign_identity_cookie_proves_nothing(start_site: StartSite) -> None:
    site = start_site()
    made = site.petition()
    phone = site.browser()
    phone.ask_code(made.token, PHONE)
    pending = phone.client.cookies["j_phone"]
    forger = site.browser(ip="198.51.100.30")
    for value in ("garbage", pending, pending[:-2] + ("AA" if not pending.endswith("AA") else "BB")):
        forger.set_cookie("j_id", value)
        page = forger.get(f"/j/{made.token}")
        assert "获取验证码" in page.text and "我要联名" not in page.text
        assert forger.sign(made.token).status_code == 303  # back to the page: prove who you are first
    assert counts(site.engine, made.id) == (1, 0, 1)


def test_rate_limits_per_ip_and_identity_answer_429(start_site: StartSite) -> None:
    site = start_site(cosign_ip_limits="1/60,5/300", cosign_identity_limits="1/60")
    made, other = site.petition(), site.petition(rep_openid="o-rep-2")
    first, second = site.browser(ip="203.0.113.50"), site.browser(ip="203.0.113.50")
    first.prove_phone(made.token, PHONE)
    second.prove_phone(made.token, OTHER)
    assert "感谢您的联名" in first.sign(made.token).text
    double_tap = first.sign(made.token)  # over the limit, but a signer who stands is told so, not to wait
    assert double_tap.status_code == 200 and "您已经联名过了" in double_tap.text
    refused = second.sign(made.token)
    assert refused.status_code == 429 and "操作太频繁" in refused.text
    assert 0 < int(refused.headers["retry-after"]) <= 60
    assert counts(site.engine, made.id) == (1 + 1, 0, 2)
    first.get(f"/j/{other.token}")  # the same signer on another petition, from the same minute
    assert first.sign(other.token).status_code == 429
    assert counts(site.engine, other.id) == (1, 0, 1)


SHIPPED_LIMITS = {name: Settings.model_fields[name].default
                  for name in ("cosign_ip_limits", "cosign_identity_limits", "otp_phone_limits", "otp_ip_limits",
                               "surge_block_per_hour", "surge_device_per_hour")}


def test_neighbours_behind_one_address_all_sign_with_the_shipped_limits(start_site: StartSite) -> None:
    site = start_site(**SHIPPED_LIMITS)
    made = site.petition()
    for phone in ("13900000011", "13900000012", "13900000013", "13900000014"):  # one carrier address (CGNAT)
        neighbour = site.browser(ip="100.64.0.1")
        neighbour.prove_phone(made.token, phone)
        signed = neighbour.sign(made.token)
        assert signed.status_code == 200 and "感谢您的联名" in signed.text
    assert counts(site.engine, made.id) == (1 + 4, 0, 5)


def test_a_crowd_behind_one_address_is_flagged_not_refused(start_site: StartSite) -> None:
    site = start_site(**SHIPPED_LIMITS)
    made = site.petition()
    seal = CookieSeal(site.settings.secret_key)
    outcomes = []
    for n in range(14):  # a residents' meeting scanning the poster, on the same mobile network
        neighbour = site.browser(ip="100.64.0.2", agent=PHONE_UA)
        neighbour.set_cookie("j_id", seal_identity(seal, Identity("wechat", f"o-neighbour-{n}"), time.time()))
        assert "我要联名" in neighbour.get(f"/j/{made.token}").text
        signed = neighbour.sign(made.token)
        assert signed.status_code == 200, signed.text
        outcomes.append("flagged" if "您的联名已收到" in signed.text else "signed")
    per_block = SHIPPED_LIMITS["surge_block_per_hour"]
    assert outcomes == ["signed"] * per_block + ["flagged"] * (14 - per_block)
    assert counts(site.engine, made.id) == (1 + per_block, 14 - per_block, 15)
    one = site.browser(ip="100.64.0.3")  # one signer going from petition to petition is limited, by identity
    one.set_cookie("j_id", seal_identity(seal, Identity("wechat", "o-neighbour-0"), time.time()))
    answers = []
    for other in (site.petition(rep_openid=f"o-rep-{n}") for n in range(6)):  # 3 a minute: 7 span 3 minutes
        one.get(f"/j/{other.token}")
        answers.append(one.sign(other.token).status_code)
    assert 429 in answers


def test_codes_per_phone_burst_and_sustained_and_per_ip(start_site: StartSite) -> None:
    import time

    site = start_site(otp_phone_limits="1/1,2/86400", otp_ip_limits="2/86400")  # fixed windows: no boundary mid-test
    made = site.petition()
    phone = site.browser(ip="203.0.113.60")
    time.sleep(1.02 - time.time() % 1)  # windows are whole seconds: start at the top of one
    assert phone.ask_code(made.token, PHONE).status_code == 303
    burst = phone.ask_code(made.token, PHONE)
    assert burst.status_code == 429 and burst.headers["retry-after"] == "1"
    time.sleep(1.05)
    assert phone.ask_code(made.token, PHONE).status_code == 303
    time.sleep(1.05)
    sustained = phone.ask_code(made.token, PHONE)  # a new second, but the day's two are spent
    assert sustained.status_code == 429 and int(sustained.headers["retry-after"]) > 1
    assert len(site.sms.texts_to(PHONE)) == 2
    by_ip = phone.ask_code(made.token, OTHER)  # the address had its two codes today
    assert by_ip.status_code == 429 and site.sms.texts_to(OTHER) == []


@pytest.mark.redis
def test_redis_limits_over_http(start_site: StartSite) -> None:
    import secrets

    site = start_site(redis_url=redis_url(12), cosign_ip_limits="1/60",
                      secret_key=secrets.token_urlsafe(40))  # a fresh key: fresh counter names in Redis
    made = site.petition()
    first, second = site.browser(ip="203.0.113.70"), site.browser(ip="203.0.113.70")
    first.prove_phone(made.token, PHONE)
    second.prove_phone(made.token, OTHER)
    assert "感谢您的联名" in first.sign(made.token).text
    assert second.sign(made.token).status_code == 429
    assert counts(site.engine, made.id) == (2, 0, 2)


def test_a_surge_from_one_block_or_device_is_flagged_over_http(start_site: StartSite) -> None:
    site = start_site(surge_block_per_hour=2, surge_device_per_hour=2)
    made = site.petition()
    outcomes = []
    for n, phone in enumerate(("13900000001", "13900000002", "13900000003")):
        browser = site.browser(ip=f"198.51.100.{10 + n}")  # three addresses of one /24
        browser.prove_phone(made.token, phone)
        outcomes.append(browser.sign(made.token).text)
    assert ["感谢您的联名" in o for o in outcomes] == [True, True, False]
    assert "您的联名已收到" in outcomes[2] and "核实" in outcomes[2] and "人联名" not in text_of(outcomes[2])
    assert counts(site.engine, made.id) == (3, 1, 4)

    other = site.petition(rep_openid="o-rep-device")
    device = site.browser(ip="192.0.2.1")
    device.get(f"/j/{other.token}")  # the phone's device cookie
    for n, phone in enumerate(("13700000001", "13700000002", "13700000003")):
        moved = site.browser(ip=f"10.{n}.0.1")  # another network each time, the same phone's cookies
        moved.client.cookies = device.client.cookies
        moved.prove_phone(other.token, phone)
        moved.sign(other.token)
    with site.engine.connect() as conn:
        flagged = petitions.list_signatures(conn, other.id, flagged=True)
    assert [s.flag_reason for s in flagged] == ["device"]
    assert counts(site.engine, other.id) == (3, 1, 4)


def test_no_phone_number_or_name_in_pages_or_logs(start_site: StartSite, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    site = start_site()
    made = site.petition()
    phone = site.browser()
    phone.prove_phone(made.token, PHONE)
    phone.sign(made.token, name="张三丰", consent=True)
    phone.post(f"/j/{made.token}/withdraw", {})
    for page in phone.pages:
        assert PHONE not in page and "张三丰" not in page
    assert PHONE not in caplog.text and "张三丰" not in caplog.text and site.sms.last_code(PHONE) not in caplog.text
    assert "139****5678" in caplog.text


def test_the_console_sender_logs_the_code_with_the_number_masked(start_site: StartSite,
                                                                 caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    site = start_site(sms_sender="console")
    made = site.petition()
    phone = site.browser()
    assert phone.ask_code(made.token, PHONE).status_code == 303
    [line] = [r.getMessage() for r in caplog.records if "console sender" in r.getMessage()]
    assert "139****5678" in line and "验证码" in line and PHONE not in caplog.text and site.sms.sent == []


def test_the_card_decodes_to_the_exact_link_and_is_cached(start_site: StartSite) -> None:
    site = start_site()
    made = site.petition()
    browser = site.browser()
    card = browser.get(f"/j/{made.token}/card.png")
    assert card.status_code == 200 and card.headers["content-type"] == "image/png"
    assert card.headers["cache-control"].startswith("public")
    [found] = zxingcpp.read_barcodes(Image.open(io.BytesIO(card.content)))
    assert found.text == f"https://gw.example.cn/j/{made.token}"
    assert browser.client.get(f"/j/{made.token}/card.png").content == card.content
