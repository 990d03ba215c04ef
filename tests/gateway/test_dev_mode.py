"""Dev mode as the Procfile runs it: `serve`, `worker` and `relay` as separate processes against Redis.

Every process finds the same fake of WeChat's API and its credentials through the dev credentials file,
and the links they write point at the address `serve` was started on (docs/configuration.md).
"""

from __future__ import annotations

import io
import json
import re
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis
import zxingcpp
from PIL import Image
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import redis_url
from tests.processes import deployment, free_port, wait_for
from tickets import dev_credentials

pytestmark = pytest.mark.redis
REDIS_URL = redis_url(11)


def sent_to(fake: str, openid: str) -> list[dict[str, Any]]:
    """What the dev fake of WeChat accepted for `openid`."""
    items: list[dict[str, Any]] = httpx.get(f"{fake}/_fake/sent", params={"openid": openid}, timeout=5).json()["items"]
    return items


def counted(metrics: str, **labels: str) -> float:
    """The request count with `labels` in a /metrics text."""
    return sum(sample.value for family in text_string_to_metric_families(metrics) for sample in family.samples
               if sample.name == "gateway_http_requests_total" and labels.items() <= sample.labels.items())


def card_link(fake: str, credentials: dict[str, str], media_id: str) -> str:
    """The link in the QR code of a card the fake holds, read as a phone would."""
    token = httpx.post(f"{fake}/cgi-bin/stable_token", timeout=5, json={
        "grant_type": "client_credential", "appid": credentials["wechat_app_id"],
        "secret": credentials["wechat_app_secret"]}).json()["access_token"]
    png = httpx.get(f"{fake}/cgi-bin/media/get", params={"access_token": token, "media_id": media_id}, timeout=5)
    [decoded] = zxingcpp.read_barcodes(Image.open(io.BytesIO(png.content)))
    return str(decoded.text)


def test_serve_worker_and_relay_deliver_notices_and_qr_cards_to_the_dev_fake(db_url: str, tmp_path: Path) -> None:
    client = redis.Redis.from_url(REDIS_URL)
    client.flushdb()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with deployment(tmp_path / "dev", GATEWAY_ENV="dev", DATABASE_URL=db_url, REDIS_URL=REDIS_URL) as dev:
        # As a Procfile starts them: all at once, the worker and relay before `serve` knows its address.
        dev.start("worker", "worker")
        dev.start("relay", "relay")
        dev.start("serve", "serve", "--host", "0.0.0.0", "--port", str(port))  # noqa: S104 - the Procfile's
        dev.wait_until_serving(base)
        credentials = dev_credentials.load(tmp_path / "dev" / "var")
        fake = credentials["wechat_api_base"]
        assert credentials["public_base_url"] == base  # recorded for the worker and relay, never 0.0.0.0

        with httpx.Client(base_url=base, follow_redirects=True, timeout=30) as citizen:
            citizen.get("/dev/wechat")
            openid = citizen.cookies["dev_openid"]
            for action, content in (("text", "人行道上的树倒了，挡住了路"), ("location", ""), ("text", "1")):
                page = citizen.post("/dev/wechat", data={"action": action, "content": content, "encrypted": "1"}).text
            tracking = re.search(r"http://[^\s<\"]+/t/([A-Z0-9]+)", page)
            assert tracking is not None and tracking.group(0).startswith(f"{base}/t/"), page[-2000:]

            key = dev.run("create-api-key", "--name", "dispatch", "--role", "dispatcher").stdout.strip()
            answer = httpx.post(f"{base}/api/v1/tickets/1/events", headers={"Authorization": f"Bearer {key}"},
                                json={"event_id": "disp-1", "status": "accepted", "note": "已受理，正在安排"},
                                timeout=10)
            assert answer.status_code == 201, answer.text
            page = citizen.post("/dev/wechat", data={"action": "text", "content": "联名", "encrypted": "1"}).text
            assert f"{base}/j/" in page, page[-2000:]

            def delivered() -> bool:
                kinds = {item["body"].get("msgtype") for item in sent_to(fake, openid)}
                return {"text", "image"} <= kinds
            wait_for(delivered, 60, "a WeChat notice and a QR card at the fake", every=0.3,
                     logs=lambda: dev.logs() + json.dumps(sent_to(fake, openid), ensure_ascii=False))
            sent = sent_to(fake, openid)
            notice = next(i["body"]["text"]["content"] for i in sent if i["body"]["msgtype"] == "text")
            assert "已受理，正在安排" in notice and f"{base}/t/{tracking.group(1)}" in notice
            card = next(i["body"]["image"]["media_id"] for i in sent if i["body"]["msgtype"] == "image")
            assert card_link(fake, credentials, card).startswith(f"{base}/j/")  # the worker's link, right server
            assert "公众号消息" in citizen.get("/dev/wechat").text  # the simulator shows the worker's push
            assert "given up" not in dev.log("worker") and "Job OK" in dev.log("worker")
    client.flushdb()
    client.close()


def test_serve_with_two_web_processes_logs_from_each_and_they_share_the_fake(tmp_path: Path) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    # The README's command with two web processes and the embedded defaults (SQLite under var/, no Redis).
    with deployment(tmp_path / "two") as dev:
        dev.start("serve", "serve", "--port", str(port), "--workers", "2")
        dev.wait_until_serving(base)
        wait_for(lambda: dev.log("serve").count("INFO gateway: gateway up: env=dev") == 2, 60,
                 "both web processes to log that they are up", logs=dev.logs)
        with httpx.Client(base_url=base, follow_redirects=True, timeout=30) as citizen:
            for action, content in (("text", "小区路灯坏了好几天"), ("location", ""), ("text", "1")):
                page = citizen.post("/dev/wechat", data={"action": action, "content": content, "encrypted": "1"})
            assert "工单号：" in page.text
            key = dev.run("create-api-key", "--name", "dispatch", "--role", "dispatcher").stdout.strip()
            answer = httpx.post(f"{base}/api/v1/tickets/1/events", headers={"Authorization": f"Bearer {key}"},
                                json={"event_id": "e-1", "status": "accepted", "note": "已派人查看"}, timeout=10)
            assert answer.status_code == 201
            # Either web process runs the job and either shows the page: one fake, in the `serve` parent.
            wait_for(lambda: "已派人查看" in citizen.get("/dev/wechat").text, 60, "the push in the simulator",
                     logs=dev.logs)
            # A new connection each time, so both processes answer some (a kept-alive one stays with one).
            for _ in range(20):
                assert httpx.get(f"{base}/t/NOSUCHCODE", timeout=10).status_code == 404
            # Whichever process answers the scrape adds up both (PROMETHEUS_MULTIPROC_DIR, set by `serve`).
            for _ in range(10):
                assert counted(httpx.get(f"{base}/metrics", timeout=10).text, route="/t/{code}", status="404") == 20
    log = dev.log("serve")
    assert "INFO workers.runner: outbox relay started: due rows to in-process jobs" in log
    assert re.search(r"INFO workers\.runner: relay moved \d+ outbox rows to in-process jobs", log), log
