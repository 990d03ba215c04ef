"""`POST /webhooks/alipay` over HTTP, both backends: stored once, `success` only once stored, refusals store nothing."""

from __future__ import annotations

import json
import time
from datetime import timedelta

import sqlalchemy as sa
from fastapi.testclient import TestClient

from bots.fakes.alipay import FakeAlipay
from gateway.busy import PAUSE_S
from tests.gateway.alipay_data import APP_ID, CONSENT_METHOD, FORM, database_held, form_body
from tickets.clock import utcnow
from tickets.settings import Settings
from tickets.storage.db import create_db_engine
from tickets.storage.schema import citizens, consents, inbound_messages

pytest_plugins = ["tests.gateway.alipay_world"]
USER_ID = "2088102150477652"


def notification(method: str, biz: dict[str, object], notify_id: str = "2026112300222153002029291512345678",
                 age: timedelta = timedelta(0)) -> dict[str, str]:
    return {"app_id": APP_ID, "version": "1.1", "msg_method": method, "notify_id": notify_id,
            "utc_timestamp": str(int((utcnow() - age).timestamp() * 1000)),
            "biz_content": json.dumps(biz, ensure_ascii=False, separators=(",", ":"))}


def post(client: TestClient, params: dict[str, str]) -> tuple[int, str]:
    response = client.post("/webhooks/alipay", content=form_body(params), headers=FORM)
    return response.status_code, response.text


def rows(settings: Settings, table: sa.Table) -> list[sa.Row[object]]:
    engine = create_db_engine(settings.database_url)
    with engine.connect() as conn:
        found = list(conn.execute(sa.select(table).order_by(table.c.id)))
    engine.dispose()
    return found


def test_a_consent_change_is_recorded_once(alipay_client: TestClient, fake_alipay: FakeAlipay,
                                           alipay_settings: Settings) -> None:
    biz = {"user_id": USER_ID, "subscribe_relations": [{"template_id": "TPL1", "status": "subscribe"},
                                                        {"template_id": "TPL2", "status": "unsubscribe"}]}
    signed = fake_alipay.signed_notification(notification(CONSENT_METHOD, biz), charset="GBK")
    assert post(alipay_client, signed) == (200, "success")
    assert post(alipay_client, signed) == (200, "success")  # Alipay's retry: answered, nothing new
    [message] = rows(alipay_settings, inbound_messages)
    assert (message.channel, message.account, message.kind) == ("alipay", APP_ID, "consent")
    assert message.dedupe_key == "n:2026112300222153002029291512345678"
    [citizen] = rows(alipay_settings, citizens)
    assert (citizen.channel, citizen.account, citizen.external_id) == ("alipay", APP_ID, USER_ID)
    assert message.citizen_id == citizen.id
    assert {(c.template_id, c.status) for c in rows(alipay_settings, consents)} == {("TPL1", "accept"),
                                                                                     ("TPL2", "reject")}


def test_an_unknown_method_about_no_citizen_is_kept(alipay_client: TestClient, fake_alipay: FakeAlipay,
                                                    alipay_settings: Settings) -> None:
    signed = fake_alipay.signed_notification(notification("alipay.open.mini.version.audit.passed",
                                                          {"mini_app_id": APP_ID, "version": "1.0.2"}))
    assert post(alipay_client, signed) == (200, "success")
    assert post(alipay_client, signed) == (200, "success")
    [message] = rows(alipay_settings, inbound_messages)
    assert message.citizen_id is None and message.kind == "unknown"
    assert message.payload["extra"]["msg_method"] == "alipay.open.mini.version.audit.passed"
    assert message.payload["extra"]["biz_content"] == {"mini_app_id": APP_ID, "version": "1.0.2"}
    assert rows(alipay_settings, citizens) == []


def test_a_service_event_signed_v2_in_gbk_is_kept(alipay_client: TestClient, fake_alipay: FakeAlipay,
                                                  alipay_settings: Settings) -> None:
    event = {"app_id": APP_ID, "service": "alipay.mobile.public.message.notify",
             "biz_content": "<XML><MsgType>event</MsgType><EventType>follow</EventType><Text>关注</Text></XML>"}
    signed = fake_alipay.signed_notification(event, variant="v2", charset="GBK")
    assert post(alipay_client, signed) == (200, "success")
    assert post(alipay_client, signed) == (200, "success")
    [message] = rows(alipay_settings, inbound_messages)
    assert message.payload["extra"]["variant"] == "v2" and "关注" in message.payload["extra"]["biz_content"]
    assert message.dedupe_key.startswith("s:")


def test_a_retry_two_days_late_is_still_deduplicated(alipay_client: TestClient, fake_alipay: FakeAlipay,
                                                     alipay_settings: Settings) -> None:
    late = fake_alipay.signed_notification(notification("alipay.open.mini.x", {"user_id": USER_ID},
                                                        age=timedelta(hours=49)))
    assert post(alipay_client, late) == (200, "success")
    assert post(alipay_client, late) == (200, "success")
    assert len(rows(alipay_settings, inbound_messages)) == 1


def test_refused_notifications_store_nothing(alipay_client: TestClient, fake_alipay: FakeAlipay,
                                             alipay_settings: Settings) -> None:
    base = notification(CONSENT_METHOD, {"user_id": USER_ID, "template_id": "TPL1", "status": "accept"})
    signed = fake_alipay.signed_notification(base)
    with FakeAlipay(APP_ID, fake_alipay.public_key_pem) as impostor:  # another key: a forger, or our app key
        forged = impostor.signed_notification(base)
    cases = {
        "forged": (forged, 403),
        "missing sign": ({k: v for k, v in signed.items() if k != "sign"}, 403),
        "sign_type mismatch": ({**signed, "sign_type": "RSA"}, 403),
        "tampered": ({**signed, "biz_content": signed["biz_content"].replace("accept", "reject")}, 403),
        "url-encoded value": ({**signed, "biz_content": signed["biz_content"].replace('"', "%22")}, 403),
        "V2-signed": (fake_alipay.signed_notification(base, variant="v2"), 403),
        "another app": (fake_alipay.signed_notification({**base, "app_id": "2021000000000999"}), 403),
        "too old": (fake_alipay.signed_notification(notification(CONSENT_METHOD, {"user_id": USER_ID},
                                                                 age=timedelta(hours=80))), 400),
    }
    for name, (params, status) in cases.items():
        code, text = post(alipay_client, params)
        assert (name, code) == (name, status) and text != "success"
    gbk = form_body(fake_alipay.signed_notification(notification(CONSENT_METHOD, {"user_id": USER_ID, "x": "路灯"}),
                                                    charset="GBK"))
    wrong_charset = alipay_client.post("/webhooks/alipay", content=gbk.replace(b"charset=GBK", b"charset=utf-8"),
                                       headers=FORM)
    assert wrong_charset.status_code == 400 and "utf-8" in wrong_charset.text
    assert alipay_client.post("/webhooks/alipay", content=b"x" * 70_000, headers=FORM).status_code == 413
    assert rows(alipay_settings, inbound_messages) == [] and rows(alipay_settings, consents) == []


def test_success_only_once_stored(alipay_client: TestClient, fake_alipay: FakeAlipay,
                                  alipay_settings: Settings) -> None:
    signed = fake_alipay.signed_notification(notification(CONSENT_METHOD, {"user_id": USER_ID, "template_id": "T",
                                                                           "status": "accept"}))
    with database_held(alipay_settings.database_url, "inbound_messages"):
        code, text = post(alipay_client, signed)
    assert code == 503 and text != "success"  # Alipay will send it again (minutes later; the pause is over)
    assert rows(alipay_settings, inbound_messages) == []
    time.sleep(PAUSE_S)
    assert post(alipay_client, signed) == (200, "success")
    assert len(rows(alipay_settings, inbound_messages)) == 1 and len(rows(alipay_settings, consents)) == 1


def test_the_channel_is_off_without_alipays_key(settings: Settings, client: TestClient) -> None:
    assert client.post("/webhooks/alipay", content=b"a=1", headers=FORM).status_code == 404


def test_openapi_documents_the_webhook(alipay_client: TestClient) -> None:
    assert "/webhooks/alipay" in alipay_client.get("/openapi.json").json()["paths"]



def test_a_notification_with_numbers_json_has_not_is_kept_as_text(alipay_client: TestClient, fake_alipay: FakeAlipay,
                                                                    alipay_settings: Settings) -> None:
    # NaN, Infinity and numbers too large for a float are no JSON: stored as parsed they break the JSON column on
    # PostgreSQL (a 503 on every retry, for Alipay's 25 hours). The text is kept as it came, as for XML content.
    for n, value in enumerate(("NaN", "Infinity", "-Infinity", "1e999")):
        params = notification("alipay.open.mini.location.report", {"mini_app_id": APP_ID},
                              notify_id=f"2026112300222153002029291512345{n:03d}")
        params["biz_content"] = f'{{"user_id":"{USER_ID}","latitude":{value},"longitude":113.6}}'
        assert post(alipay_client, fake_alipay.signed_notification(params)) == (200, "success")
    kept = rows(alipay_settings, inbound_messages)
    assert len(kept) == 4
    assert all(isinstance(m.payload["extra"]["biz_content"], str) and m.citizen_id is None for m in kept)
    assert rows(alipay_settings, citizens) == []
