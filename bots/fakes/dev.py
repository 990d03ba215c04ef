"""The dev deployment's one fake of WeChat's API, shared by every process of it.

In dev mode without a real account (`Settings.dev_fake_wechat`) the fake listens on the address kept in
the dev credentials file (tickets/dev_credentials.py). The first process that needs it (`serve`, or an app
a test builds) serves it there; every other process reaches that one over loopback: workers and the relay
send to it as to WeChat (same AppSecret, same access tokens), and the simulator page of any web process
reads what it accepted through a `RemoteFakeWeChat`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import httpx

from bots.fakes.wechat import INSPECT, FakeWeChat
from bots.fakes.wechat_mailbox import Mailbox
from tickets.errors import ConfigurationError


class RemoteFakeWeChat:
    """What the simulator asks of a FakeWeChat, asked of one serving in another process."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self._http = httpx.Client(base_url=base_url + INSPECT, timeout=httpx.Timeout(3.0, connect=1.0))

    def texts_to(self, openid: str) -> list[dict[str, Any]]:
        """Customer-service texts the fake accepted for `openid`, oldest first: `{"text", "at"}`."""
        return self._items("texts", openid)

    def sent_to(self, openid: str) -> list[dict[str, Any]]:
        """Everything the fake accepted for `openid`, oldest first: `{"path", "body", "at"}`."""
        return self._items("sent", openid)

    def message_from(self, openid: str) -> None:
        """The citizen wrote to the account: a new 48 h window with a fresh quota."""
        self._http.post("message_from", params={"openid": openid}).raise_for_status()

    def close(self) -> None:
        """Close the connection."""
        self._http.close()

    def _items(self, what: str, openid: str) -> list[dict[str, Any]]:
        answer = self._http.get(what, params={"openid": openid})
        answer.raise_for_status()
        return [{**item, "at": datetime.fromisoformat(item["at"])} for item in answer.json()["items"]]


def account_at(base_url: str) -> str | None:
    """The AppID of the fake answering at `base_url`; None when nothing, or something else, answers there."""
    try:
        answer = httpx.get(f"{base_url}{INSPECT}account", timeout=httpx.Timeout(3.0, connect=1.0))
        found = answer.json().get("app_id") if answer.status_code == 200 else None
    except (httpx.HTTPError, ValueError, AttributeError):
        return None
    return str(found) if found else None


@contextmanager
def dev_fake_wechat(app_id: str, app_secret: str, base_url: str, *, mailbox: Mailbox | None = None
                    ) -> Iterator[FakeWeChat | RemoteFakeWeChat]:
    """Serve the deployment's fake at `base_url` (keeping what it is sent in `mailbox`), or reach the one another
    process of it serves there.

    Raises ConfigurationError when something else holds the address.
    """
    fake = FakeWeChat(app_id, app_secret, mailbox=mailbox)
    try:
        fake.start(urlsplit(base_url).port or 80)
    except OSError:
        if account_at(base_url) != app_id:
            raise ConfigurationError(f"the dev WeChat fake's address {base_url} is taken by another program") from None
        remote = RemoteFakeWeChat(base_url)
        try:
            yield remote
        finally:
            remote.close()
        return
    try:
        yield fake
    finally:
        fake.stop()
