"""64 phones sign one petition at once through the form on live servers, 10% of them twice: the count is exact.

Two uvicorn servers share the database, and each doubled submission goes to both at the same moment,
so the race is decided by the database (the unique signature per identity and the counter update),
not by one event loop taking requests in turn.
"""

from __future__ import annotations

import threading

import httpx
import pytest
from sqlalchemy.engine import Engine

from bots.fakes.sms import FakeSmsGateway
from gateway.app import create_app
from tests.gateway.conftest import serve
from tests.gateway.cosign.support import PHONE_UA, SMS_SECRET, Browser, counts, csrf_of, make_petition
from tickets import warnings
from tickets.settings import Settings

CLIENTS = 64
TWICE = 7  # 10% of 64, rounded up


@pytest.mark.timeout(300)
def test_64_clients_sign_at_once_and_10_percent_twice(settings: Settings, engine: Engine,
                                                     sms: FakeSmsGateway) -> None:
    settings.public_base_url = "http://127.0.0.1"  # the servers speak plain HTTP: cookies without Secure
    settings.sms_sender, settings.sms_http_url, settings.sms_http_secret = "http", sms.entry_url, SMS_SECRET
    settings.cosign_ip_limits = settings.cosign_identity_limits = ""  # every client is on 127.0.0.1
    settings.otp_phone_limits = settings.otp_ip_limits = ""
    settings.surge_block_per_hour = settings.surge_device_per_hour = 10_000
    made = make_petition(engine, settings)
    with serve(create_app(settings, run_jobs=False)) as first, serve(create_app(settings, run_jobs=False)) as second:
        bases = (first, second)
        browsers: list[Browser] = []
        for n in range(CLIENTS):
            client = httpx.Client(base_url=bases[n % 2], follow_redirects=False, timeout=30,
                                  headers={"user-agent": PHONE_UA})
            browser = Browser(client, sms)
            browser.prove_phone(made.token, f"139{n:08d}")
            browsers.append(browser)
        # (client, csrf, consent): every phone once, and the first TWICE of them again on the other server.
        posts = [(b.client, csrf_of(b.pages[-1]), n % 3 == 0) for n, b in enumerate(browsers)]
        twins = [httpx.Client(base_url=bases[(n + 1) % 2], cookies=browsers[n].client.cookies, timeout=30,
                              follow_redirects=False, headers={"user-agent": PHONE_UA}) for n in range(TWICE)]
        posts += [(twins[n], posts[n][1], posts[n][2]) for n in range(TWICE)]
        answers: list[httpx.Response | None] = [None] * len(posts)
        barrier = threading.Barrier(len(posts))

        def sign(index: int) -> None:
            client, csrf, consent = posts[index]
            form = {"csrf": csrf, "name": f"邻居{index}"} | ({"consent": "1"} if consent else {})
            barrier.wait()
            answers[index] = client.post(f"/j/{made.token}", data=form)

        threads = [threading.Thread(target=sign, args=(i,)) for i in range(len(posts))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        for client in [b.client for b in browsers] + twins:
            client.close()

    texts = [answer.text for answer in answers if answer is not None and answer.status_code == 200]
    assert len(texts) == len(posts)
    thanked = ["感谢您的联名" in text for text in texts]
    already = ["您已经联名过了" in text for text in texts]
    assert all(thanked[n] for n in range(TWICE, CLIENTS))
    for n in range(TWICE):  # of each doubled pair, exactly one signed
        assert sorted([thanked[n], thanked[CLIENTS + n]]) == [False, True]
        assert sorted([already[n], already[CLIENTS + n]]) == [False, True]
    assert sum(thanked) == CLIENTS
    assert counts(engine, made.id) == (CLIENTS + 1, 0, CLIENTS + 1)  # and the representative
    with engine.connect() as conn:  # each level of the default thresholds (5, 20, 50) raised once, by its signer
        found, _ = warnings.list_warnings(conn)
    assert sorted(w.level for w in found if w.kind == warnings.THRESHOLD) == [1, 2, 3]
