"""The mini-program's API end to end on both backends, with the fake Alipay gateway for the OAuth exchange."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from bots.fakes.alipay import FakeAlipay
from gateway import uploads
from gateway.miniapp.session import SessionSigner
from gateway.uploads import DecodeSlots, check_photo
from qr.links import signer_for
from tests.gateway.alipay_data import APP_ID, database_held, jpeg, png
from tickets import petitions, repository
from tickets.access.apikeys import Role, create_api_key
from tickets.inbox.citizens import CitizenKey, lock_citizen
from tickets.repository import NewTicket
from tickets.settings import Settings
from tickets.storage.db import create_db_engine
from tickets.storage.schema import attachments, consents, signatures, tickets

pytest_plugins = ["tests.gateway.alipay_world"]
USER_ID = "2088102150477652"
OTHER_USER = "074a1CcTG1LelxKe4xQC0zgNdId0nxi95b5lsNpazWYoCo5"  # an open_id, as newer apps get
NOW = datetime(2026, 11, 23, 3, 0, tzinfo=UTC)
PLACE = {"address": "幸福路1号小区东门"}


def sign_in(client: TestClient, fake: FakeAlipay, user: str = USER_ID, code: str = "authcode1") -> dict[str, str]:
    """The mini-program's sign-in; the headers of the session."""
    fake.auth_codes[code] = user
    response = client.post("/api/v1/miniapp/session", json={"auth_code": code})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['token']}"}


def keys(settings: Settings) -> dict[str, str]:
    engine = create_db_engine(settings.database_url)
    with engine.begin() as conn:
        made = {role.value: create_api_key(conn, role.value, role, NOW) for role in Role}
    engine.dispose()
    return made


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def count(settings: Settings, table: sa.Table) -> int:
    engine = create_db_engine(settings.database_url)
    with engine.connect() as conn:
        n = int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())
    engine.dispose()
    return n


def stored_files(settings: Settings) -> list[Path]:
    return sorted(p for p in settings.uploads_path.rglob("*") if p.is_file())


def test_end_to_end_sign_in_file_follow_and_rate(alipay_client: TestClient, fake_alipay: FakeAlipay,
                                                 alipay_settings: Settings) -> None:
    session = sign_in(alipay_client, fake_alipay)
    photo = jpeg()
    filed = alipay_client.post("/api/v1/miniapp/requests", headers=session, data={
        "description": "路灯坏了，晚上很黑", "latitude": "31.2304", "longitude": "121.4737",
        "location_label": "幸福路1号", "zone": "winter_heating", "request_id": "req-0001",
    }, files=[("photos", ("IMG_1.jpg", photo, "image/jpeg"))])
    assert filed.status_code == 201, filed.text
    ticket = filed.json()["ticket"]
    assert (ticket["status"], ticket["status_label"], ticket["zone"]) == ("received", "已登记", "winter_heating")
    assert filed.json()["photos"] == 1 and ticket["number"] in filed.json()["message"]

    officer = keys(alipay_settings)
    listing = alipay_client.get("/api/v1/tickets", params={"channel": "alipay"},
                                headers=bearer(officer["reader"])).json()
    assert [(t["id"], t["channel"]) for t in listing["items"]] == [(ticket["id"], "alipay")]
    detail = alipay_client.get(f"/api/v1/tickets/{ticket['id']}", headers=bearer(officer["reader"])).json()
    assert detail["citizen"] == {"channel": "alipay", "account": APP_ID, "user": "2088***52"}
    [attachment] = detail["attachments"]
    assert attachment["kind"] == "image" and attachment["media_id"].startswith("store:")
    download = attachment["url"].removeprefix(alipay_settings.public_base_url)
    served = alipay_client.get(download, headers=bearer(officer["reader"]))
    assert served.status_code == 200 and served.content == check_photo(photo, len(photo) * 2).data  # kept bare
    assert served.headers["content-type"] == "image/jpeg" and "no-store" in served.headers["cache-control"]
    assert alipay_client.get(download).status_code == 401  # officers only
    assert alipay_client.get(download, headers=session).status_code == 401  # a citizen's session is no API key

    for n, status in enumerate(("accepted", "dispatched", "resolved")):
        event = alipay_client.post(f"/api/v1/tickets/{ticket['id']}/events", headers=bearer(officer["dispatcher"]),
                                   json={"event_id": f"d-{n}", "status": status, "note": "已修复" if n == 2 else ""})
        assert event.status_code == 201, event.text
    mine = alipay_client.get("/api/v1/miniapp/tickets", headers=session).json()
    assert mine["total"] == 1 and mine["items"][0]["can_rate"] is True
    timeline = alipay_client.get(f"/api/v1/miniapp/tickets/{ticket['id']}/timeline", headers=session).json()
    assert [e["status"] for e in timeline["timeline"]] == ["received", "accepted", "dispatched", "resolved"]
    assert timeline["timeline"][-1]["note"] == "已修复" and "actor" not in timeline["timeline"][-1]

    rated = alipay_client.post(f"/api/v1/miniapp/tickets/{ticket['id']}/evaluation", headers=session,
                               json={"satisfaction": "satisfied", "solved": True})
    assert rated.status_code == 200 and rated.json()["ticket"]["status"] == "closed"
    assert "感谢您的评价" in rated.json()["message"]
    again = alipay_client.post(f"/api/v1/miniapp/tickets/{ticket['id']}/evaluation", headers=session,
                               json={"satisfaction": "satisfied", "solved": True})
    assert again.status_code == 409 and again.json()["detail"]["code"] == "not_rateable"
    figures = alipay_client.get("/api/v1/stats/satisfaction", headers=bearer(officer["reader"])).json()
    assert figures["total"] == 1


def test_an_unsatisfied_rating_reopens(alipay_client: TestClient, fake_alipay: FakeAlipay,
                                       alipay_settings: Settings) -> None:
    session = sign_in(alipay_client, fake_alipay, OTHER_USER)
    ticket = alipay_client.post("/api/v1/miniapp/requests", headers=session,
                                data={"description": "楼道积水", **PLACE}).json()["ticket"]
    officer = keys(alipay_settings)
    for n, status in enumerate(("dispatched", "resolved")):
        moved = alipay_client.post(f"/api/v1/tickets/{ticket['id']}/events", headers=bearer(officer["dispatcher"]),
                                   json={"event_id": f"r-{n}", "status": status})
        assert moved.status_code == 201
    rated = alipay_client.post(f"/api/v1/miniapp/tickets/{ticket['id']}/evaluation", headers=session,
                               json={"satisfaction": "unsatisfied", "solved": False, "reason": "水还在"})
    assert rated.json()["ticket"]["status"] == "reopened" and "重新交办" in rated.json()["message"]


def test_a_repeated_request_id_opens_nothing_new(alipay_client: TestClient, fake_alipay: FakeAlipay,
                                                 alipay_settings: Settings) -> None:
    session = sign_in(alipay_client, fake_alipay)
    form = {"description": "井盖丢失", **PLACE, "request_id": "same-id"}
    first = alipay_client.post("/api/v1/miniapp/requests", headers=session, data=form,
                               files=[("photos", ("a.png", png(), "image/png"))])
    second = alipay_client.post("/api/v1/miniapp/requests", headers=session, data=form,
                                files=[("photos", ("a.png", png(), "image/png"))])
    assert (first.status_code, second.status_code) == (201, 200)
    assert first.json()["ticket"]["id"] == second.json()["ticket"]["id"]
    assert count(alipay_settings, tickets) == 1 and count(alipay_settings, attachments) == 1
    assert len(stored_files(alipay_settings)) == 1


def test_the_chats_rules_refuse_and_nothing_is_stored(alipay_client: TestClient, fake_alipay: FakeAlipay,
                                                      alipay_settings: Settings) -> None:
    session = sign_in(alipay_client, fake_alipay)
    photo = [("photos", ("a.jpg", jpeg(), "image/jpeg"))]
    cases = {
        "description": {"description": "   ", **PLACE},
        "place": {"description": "路灯坏了"},
        "too_long": {"description": "坏" * 2001, **PLACE},
        "zone_unknown": {"description": "路灯坏了", **PLACE, "zone": "nowhere"},
    }
    for code, form in cases.items():
        refused = alipay_client.post("/api/v1/miniapp/requests", headers=session, data=form, files=photo)
        assert (code, refused.status_code) == (code, 422)
        assert refused.json()["detail"]["code"] == code and refused.json()["detail"]["message"]
    half = alipay_client.post("/api/v1/miniapp/requests", headers=session,
                              data={"description": "路灯坏了", "latitude": "31.2"}, files=photo)
    assert half.status_code == 422 and half.json()["detail"]["code"] == "place"
    long_address = alipay_client.post("/api/v1/miniapp/requests", headers=session,
                                      data={"description": "路灯坏了", "address": "路" * 201})
    assert long_address.json()["detail"]["code"] == "too_long"
    many = [("photos", (f"{n}.jpg", jpeg(), "image/jpeg")) for n in range(10)]
    too_many = alipay_client.post("/api/v1/miniapp/requests", headers=session,
                                  data={"description": "路灯坏了", **PLACE}, files=many)
    assert too_many.status_code == 422 and too_many.json()["detail"]["code"] == "too_many_photos"
    assert count(alipay_settings, tickets) == 0 and stored_files(alipay_settings) == []


def test_bad_uploads_are_refused_and_nothing_is_stored(alipay_client: TestClient, fake_alipay: FakeAlipay,
                                                       alipay_settings: Settings) -> None:
    session = sign_in(alipay_client, fake_alipay)
    alipay_settings.upload_max_bytes = 4096
    form = {"description": "路灯坏了", **PLACE}
    good = ("photos", ("ok.jpg", jpeg(), "image/jpeg"))
    cases = {
        "too_large": (413, ("photos", ("big.jpg", jpeg((640, 480), quality=95), "image/jpeg"))),
        "not_image": (415, ("photos", ("fake.jpg", b"GIF89a this is no photo", "image/jpeg"))),
    }
    broken_jpeg = jpeg()[:200]  # the magic bytes of a JPEG, then nothing decodable
    broken_png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
    for code, (status, upload) in cases.items():
        refused = alipay_client.post("/api/v1/miniapp/requests", headers=session, data=form, files=[good, upload])
        assert (code, refused.status_code, refused.json()["detail"]["code"]) == (code, status, code)
    for data in (broken_jpeg, broken_png):
        refused = alipay_client.post("/api/v1/miniapp/requests", headers=session, data=form,
                                     files=[("photos", ("x.jpg", data, "image/jpeg"))])
        assert refused.status_code == 415
    over_cap = alipay_client.post("/api/v1/miniapp/requests", headers={**session, "Content-Length": "99999999"},
                                  content=b"x")
    assert over_cap.status_code == 413
    assert count(alipay_settings, tickets) == 0 and count(alipay_settings, attachments) == 0
    assert stored_files(alipay_settings) == []


def test_requests_with_photos_are_limited_per_citizen(alipay_client: TestClient, fake_alipay: FakeAlipay,
                                                      alipay_settings: Settings) -> None:
    alipay_settings.upload_citizen_limits = "2/86400"  # a day's window: none ends mid-test
    session = sign_in(alipay_client, fake_alipay)
    form = {"description": "路灯坏了", **PLACE}

    def file(headers: dict[str, str], *, photo: bool = True) -> int:
        files = [("photos", ("a.jpg", jpeg(), "image/jpeg"))] if photo else None
        return alipay_client.post("/api/v1/miniapp/requests", headers=headers, data=form, files=files).status_code

    assert [file(session), file(session)] == [201, 201]
    refused = alipay_client.post("/api/v1/miniapp/requests", headers=session, data=form,
                                 files=[("photos", ("a.jpg", jpeg(), "image/jpeg"))])
    assert refused.status_code == 429 and int(refused.headers["retry-after"]) > 0
    detail = refused.json()["detail"]
    assert detail["code"] == "rate_limited" and "太频繁" in detail["message"] and detail["retry_after"] > 0
    assert file(session, photo=False) == 201  # without photos: nothing to decode or keep
    assert file(sign_in(alipay_client, fake_alipay, OTHER_USER, "authcode2")) == 201  # another citizen
    assert count(alipay_settings, tickets) == 4 and len(stored_files(alipay_settings)) == 3


def test_a_photo_that_finds_no_decode_slot_is_answered_busy(alipay_client: TestClient, fake_alipay: FakeAlipay,
                                                            alipay_settings: Settings,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    session = sign_in(alipay_client, fake_alipay)
    slots = DecodeSlots(1, wait=0.05)
    monkeypatch.setattr(uploads, "DECODES", slots)
    with slots.held():  # every slot of the process busy decoding other photos
        busy = alipay_client.post("/api/v1/miniapp/requests", headers=session,
                                  data={"description": "路灯坏了", **PLACE},
                                  files=[("photos", ("a.jpg", jpeg(), "image/jpeg"))])
    assert busy.status_code == 503 and busy.headers["retry-after"] == "10"
    assert busy.json()["detail"]["code"] == "busy" and busy.json()["detail"]["message"]
    assert count(alipay_settings, tickets) == 0 and stored_files(alipay_settings) == []


def test_photos_do_not_outlive_a_ticket_that_was_not_stored(alipay_client: TestClient, fake_alipay: FakeAlipay,
                                                             alipay_settings: Settings) -> None:
    session = sign_in(alipay_client, fake_alipay)
    with database_held(alipay_settings.database_url, "tickets"):
        failed = alipay_client.post("/api/v1/miniapp/requests", headers=session,
                                    data={"description": "路灯坏了", **PLACE},
                                    files=[("photos", ("a.jpg", jpeg(), "image/jpeg"))])
    assert failed.status_code == 503
    assert count(alipay_settings, tickets) == 0 and stored_files(alipay_settings) == []


def test_sessions_forged_expired_or_missing(alipay_client: TestClient, fake_alipay: FakeAlipay,
                                            alipay_settings: Settings) -> None:
    session = sign_in(alipay_client, fake_alipay)
    token = session["Authorization"].removeprefix("Bearer ")
    assert USER_ID not in token and "2088" not in token.split(".", 2)[1]
    prefix, citizen_id, expires, mac = token.split(".")
    forged = [f"{prefix}.{int(citizen_id) + 1}.{expires}.{mac}", f"{prefix}.{citizen_id}.{int(expires) + 60}.{mac}",
              f"{prefix}.{citizen_id}.{expires}.{'A' * 22}", "not-a-token", token + "x"]
    other_secret = SessionSigner("y" * 40, timedelta(hours=1)).issue(int(citizen_id))[0]
    expired = SessionSigner(alipay_settings.secret_key, timedelta(hours=2),
                            clock=lambda: datetime.now(UTC) - timedelta(hours=3)).issue(int(citizen_id))[0]
    for bad, code in [*((t, "session_invalid") for t in [*forged, other_secret]), (expired, "session_expired")]:
        refused = alipay_client.get("/api/v1/miniapp/tickets", headers=bearer(bad))
        assert (refused.status_code, refused.json()["detail"]["code"]) == (401, code), bad
        assert refused.headers["www-authenticate"] == "Bearer"
    assert alipay_client.get("/api/v1/miniapp/tickets").status_code == 401
    engine = create_db_engine(alipay_settings.database_url)
    with engine.begin() as conn:  # a genuine token for a citizen of another channel
        wechat_id = lock_citizen(conn, CitizenKey("wechat", "gh_x", "oUser"), NOW).id
    engine.dispose()
    theirs = SessionSigner(alipay_settings.secret_key, timedelta(hours=1)).issue(wechat_id)[0]
    refused = alipay_client.post("/api/v1/miniapp/requests", headers=bearer(theirs),
                                 data={"description": "路灯坏了", **PLACE})
    assert refused.status_code == 401 and count(alipay_settings, tickets) == 0


def test_sign_in_failures(alipay_client: TestClient, fake_alipay: FakeAlipay) -> None:
    sign_in(alipay_client, fake_alipay, code="once")
    used = alipay_client.post("/api/v1/miniapp/session", json={"auth_code": "once"})  # a code is good once
    assert used.status_code == 401 and used.json()["detail"]["code"] == "auth_code_refused"
    assert alipay_client.post("/api/v1/miniapp/session", json={"auth_code": "a b"}).status_code == 422
    fake_alipay.auth_codes["busy"] = USER_ID
    fake_alipay.fail_next("alipay.system.oauth.token", "20000", "isp.unknow-error")
    busy = alipay_client.post("/api/v1/miniapp/session", json={"auth_code": "busy"})
    assert busy.status_code == 503 and busy.json()["detail"]["code"] == "alipay_unavailable"
    fake_alipay.auth_codes["forged"] = USER_ID
    fake_alipay.corrupt_signatures = True  # a reply whose signature fails is not believed
    assert alipay_client.post("/api/v1/miniapp/session", json={"auth_code": "forged"}).status_code == 503


def test_own_tickets_only(alipay_client: TestClient, fake_alipay: FakeAlipay, alipay_settings: Settings) -> None:
    mine = sign_in(alipay_client, fake_alipay, USER_ID, "c1")
    theirs = sign_in(alipay_client, fake_alipay, OTHER_USER, "c2")
    ticket = alipay_client.post("/api/v1/miniapp/requests", headers=mine,
                                data={"description": "路灯坏了", **PLACE}).json()["ticket"]
    assert alipay_client.get("/api/v1/miniapp/tickets", headers=theirs).json()["total"] == 0
    for path in (f"/api/v1/miniapp/tickets/{ticket['id']}/timeline", "/api/v1/miniapp/tickets/9999/timeline"):
        refused = alipay_client.get(path, headers=theirs)
        assert refused.status_code == 404 and refused.json()["detail"]["code"] == "not_found"
    rate = alipay_client.post(f"/api/v1/miniapp/tickets/{ticket['id']}/evaluation", headers=theirs,
                              json={"satisfaction": "satisfied", "solved": True})
    assert rate.status_code == 404
    early = alipay_client.post(f"/api/v1/miniapp/tickets/{ticket['id']}/evaluation", headers=mine,
                               json={"satisfaction": "satisfied", "solved": True})
    assert early.status_code == 409 and early.json()["detail"]["code"] == "not_rateable"


def test_cosign_from_a_scanned_code(alipay_client: TestClient, fake_alipay: FakeAlipay,
                                    alipay_settings: Settings) -> None:
    engine = create_db_engine(alipay_settings.database_url)
    with engine.begin() as conn:
        filer = lock_citizen(conn, CitizenKey("wechat", "gh_x", "oRep"), NOW)
        base = repository.open_ticket(conn, NewTicket("wechat", filer.id, "小区供暖不热", address="建设路8号"),
                                      datetime.now(UTC), ZoneInfo("Asia/Shanghai"))
        petition, _ = petitions.start(conn, base.id, now=datetime.now(UTC), days=30, zone="winter_heating")
    engine.dispose()
    links = signer_for(alipay_settings.secret_key, alipay_settings.link_key_ids)
    url = links.url(alipay_settings.public_base_url, petition.id, petition.expires_at)
    session = sign_in(alipay_client, fake_alipay)

    signed = alipay_client.post("/api/v1/miniapp/cosign", headers=session, json={"link": url, "consent": True})
    assert signed.status_code == 200, signed.text
    body = signed.json()
    assert (body["petition_id"], body["signed"], body["signature_count"]) == (petition.id, True, 1)
    assert "签名成功" in body["message"]
    token = url.rsplit("/j/", 1)[1]
    again = alipay_client.post("/api/v1/miniapp/cosign", headers=session, json={"link": token}).json()
    assert (again["signed"], again["signature_count"]) == (False, 1)

    tampered = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    expired = links.sign(petition.id, datetime.now(UTC) - timedelta(minutes=1))
    for link, status, code in [(tampered, 400, "link_invalid"), ("https://evil.example/j/1.2.k1.x", 400,
                                                                "link_invalid"), (expired, 410, "link_expired")]:
        refused = alipay_client.post("/api/v1/miniapp/cosign", headers=session, json={"link": link})
        assert (refused.status_code, refused.json()["detail"]["code"]) == (status, code)
    engine = create_db_engine(alipay_settings.database_url)
    with engine.begin() as conn:
        petitions.close(conn, petition.id, datetime.now(UTC))
        [row] = conn.execute(sa.select(signatures)).all()
    engine.dispose()
    assert row.channel == "alipay" and row.consent is True and row.citizen_id is not None
    assert row.identity.startswith("alipay:") and USER_ID not in row.identity and row.source_block
    other = sign_in(alipay_client, fake_alipay, OTHER_USER, "c9")
    closed = alipay_client.post("/api/v1/miniapp/cosign", headers=other, json={"link": url})
    assert closed.status_code == 409 and closed.json()["detail"]["code"] == "petition_closed"
    assert count(alipay_settings, signatures) == 1


def test_subscription_consent_is_recorded(alipay_client: TestClient, fake_alipay: FakeAlipay,
                                          alipay_settings: Settings) -> None:
    session = sign_in(alipay_client, fake_alipay)
    body = {"decisions": {"TPL_progress": "accept", "TPL_rating": "reject"}}
    assert alipay_client.post("/api/v1/miniapp/consents", headers=session, json=body).json() == {"recorded": 2}
    changed = {"decisions": {"TPL_progress": "reject"}}
    assert alipay_client.post("/api/v1/miniapp/consents", headers=session, json=changed).json() == {"recorded": 1}
    engine = create_db_engine(alipay_settings.database_url)
    with engine.connect() as conn:
        found = {(r.template_id, r.status) for r in conn.execute(sa.select(consents))}
    engine.dispose()
    assert found == {("TPL_progress", "reject"), ("TPL_rating", "reject")}
    bad = alipay_client.post("/api/v1/miniapp/consents", headers=session, json={"decisions": {"T": "maybe"}})
    assert bad.status_code == 422


def test_openapi_documents_the_miniapp_api(alipay_client: TestClient) -> None:
    spec = alipay_client.get("/openapi.json").json()
    paths = {p: v for p, v in spec["paths"].items() if p.startswith("/api/v1/miniapp/")}
    expected = {"session", "requests", "tickets", "tickets/{ticket_id}/timeline", "tickets/{ticket_id}/evaluation",
                "cosign", "consents"}
    assert set(paths) >= {f"/api/v1/miniapp/{path}" for path in expected}
    assert all(op["tags"] == ["miniapp"] for path in paths.values() for op in path.values())
    assert "RequestForm" in str(spec["paths"]["/api/v1/miniapp/requests"]["post"]["requestBody"])
    assert "/api/v1/attachments/{attachment_id}" in spec["paths"]


def test_a_citizen_starts_a_petition_from_their_own_ticket(alipay_client: TestClient, fake_alipay: FakeAlipay,
                                                           alipay_settings: Settings) -> None:
    session = sign_in(alipay_client, fake_alipay)
    filed = alipay_client.post("/api/v1/miniapp/requests", headers=session, data={
        "description": "小区暖气一直不热，室温只有十三度", "address": "和平里小区5号楼"})
    ticket_id = filed.json()["ticket"]["id"]
    started = alipay_client.post("/api/v1/miniapp/petitions", headers=session, json={"ticket_id": ticket_id})
    assert started.status_code == 201, started.text
    body = started.json()
    assert body["signature_count"] == 1 and body["status"] == "open" and "发起联名" in body["message"]
    assert body["card_url"] == body["link"] + "/card.png"
    token = body["link"].rsplit("/j/", 1)[1]
    links = signer_for(alipay_settings.secret_key, alipay_settings.link_key_ids)
    assert links.verify(token) == body["petition_id"]
    again = alipay_client.post("/api/v1/miniapp/petitions", headers=session, json={"ticket_id": ticket_id})
    assert again.status_code == 200 and again.json()["petition_id"] == body["petition_id"]
    # The representative co-signing their own petition is told they have signed already.
    signed = alipay_client.post("/api/v1/miniapp/cosign", headers=session, json={"link": body["link"]}).json()
    assert (signed["signed"], signed["signature_count"]) == (False, 1)

    other = sign_in(alipay_client, fake_alipay, OTHER_USER, "c9")
    theirs = alipay_client.post("/api/v1/miniapp/petitions", headers=other, json={"ticket_id": ticket_id})
    assert theirs.status_code == 404 and theirs.json()["detail"]["code"] == "not_found"
    assert alipay_client.post("/api/v1/miniapp/petitions", json={"ticket_id": ticket_id}).status_code == 401
    assert count(alipay_settings, signatures) == 1


def test_coordinates_that_are_no_point_on_earth_are_refused(alipay_client: TestClient, fake_alipay: FakeAlipay,
                                                            alipay_settings: Settings) -> None:
    session = sign_in(alipay_client, fake_alipay)
    for latitude, longitude in (("NaN", "121.47"), ("inf", "121.47"), ("31.23", "-Infinity"), ("1e400", "0"),
                                ("90.5", "121.47"), ("31.23", "180.5")):
        refused = alipay_client.post("/api/v1/miniapp/requests", headers=session, data={
            "description": "路灯坏了", "latitude": latitude, "longitude": longitude})
        assert (latitude, longitude, refused.status_code) == (latitude, longitude, 422)
    assert count(alipay_settings, tickets) == 0
