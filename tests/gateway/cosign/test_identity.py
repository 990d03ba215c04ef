"""The co-sign pages' small parts: sealed cookies, network blocks, CSRF and OAuth state, the name field."""

from __future__ import annotations

import pytest

from gateway.cosign.forms import clean_name, csrf_ok, csrf_token, oauth_cookie, oauth_state, oauth_state_ok
from gateway.cosign.identity import (
    IDENTITY_SECONDS,
    Identity,
    open_identity,
    open_pending_phone,
    seal_identity,
    seal_pending_phone,
)
from gateway.security import CookieSeal, Fingerprints, network_block

SECRET = "s" * 40
NOW = 1_800_000_000.0
KEY = b"k" * 32


def test_a_sealed_identity_opens_until_it_expires_and_only_as_itself() -> None:
    seal = CookieSeal(SECRET)
    sealed = seal_identity(seal, Identity("wechat", "oSomeOpenId"), NOW)
    assert "oSomeOpenId" not in sealed
    assert open_identity(seal, sealed, NOW + IDENTITY_SECONDS - 1) == Identity("wechat", "oSomeOpenId")
    assert open_identity(seal, sealed, NOW + IDENTITY_SECONDS) is None
    assert open_identity(CookieSeal("t" * 40), sealed, NOW) is None  # another SECRET_KEY
    assert open_pending_phone(seal, sealed, NOW) is None  # sealed for another purpose
    pending = seal_pending_phone(seal, "13912345678", NOW)
    assert open_pending_phone(seal, pending, NOW) == "13912345678" and open_identity(seal, pending, NOW) is None


@pytest.mark.parametrize("value", ["", "not base64 !", "AAAA", "A" * 2000, "é" * 10])
def test_garbled_cookies_open_to_nothing(value: str) -> None:
    assert open_identity(CookieSeal(SECRET), value, NOW) is None


def test_a_flipped_bit_is_refused() -> None:
    seal = CookieSeal(SECRET)
    sealed = seal_identity(seal, Identity("sms", "13912345678"), NOW)
    flipped = sealed[:20] + ("A" if sealed[20] != "A" else "B") + sealed[21:]
    assert open_identity(seal, flipped, NOW) is None


@pytest.mark.parametrize(("host", "block"), [
    ("203.0.113.77", "203.0.113.0/24"), ("2001:db8:abcd:12::1", "2001:db8:abcd::/48"),
    ("::ffff:198.51.100.9", "198.51.100.0/24"), ("testclient", "testclient"),
])
def test_network_blocks(host: str, block: str) -> None:
    assert network_block(host) == block


def test_fingerprints_are_keyed_and_fit_the_columns() -> None:
    prints = Fingerprints(SECRET)
    assert prints.block("203.0.113.1") == prints.block("203.0.113.254") != prints.block("203.0.114.1")
    assert len(prints.block("203.0.113.1")) == 32 and "203.0.113" not in prints.block("203.0.113.1")
    assert prints.device(None) == "" and prints.device("abc") != Fingerprints("t" * 40).device("abc")


def test_csrf_tokens_belong_to_one_nonce_and_petition() -> None:
    token = csrf_token(KEY, 7, "nonce-a")
    assert csrf_ok(KEY, 7, "nonce-a", token)
    assert not csrf_ok(KEY, 8, "nonce-a", token) and not csrf_ok(KEY, 7, "nonce-b", token)
    assert not csrf_ok(KEY, 7, None, token) and not csrf_ok(KEY, 7, "nonce-a", "") and not csrf_ok(KEY, 7, "n", "é")


def test_oauth_state_belongs_to_the_browser_provider_and_petition_for_ten_minutes() -> None:
    cookie = oauth_cookie(NOW)
    state = oauth_state(KEY, "wechat", 7, cookie)
    assert state.isalnum() and len(state) <= 128
    assert oauth_state_ok(KEY, "wechat", 7, cookie, state, NOW + 599)
    assert not oauth_state_ok(KEY, "wechat", 7, cookie, state, NOW + 601)
    assert not oauth_state_ok(KEY, "alipay", 7, cookie, state, NOW)
    assert not oauth_state_ok(KEY, "wechat", 8, cookie, state, NOW)
    assert not oauth_state_ok(KEY, "wechat", 7, oauth_cookie(NOW), state, NOW)
    assert not oauth_state_ok(KEY, "wechat", 7, None, state, NOW)


@pytest.mark.parametrize(("text", "name"), [
    ("", ""), ("  老 王  ", "老 王"), ("名" * 20, "名" * 20), ("名" * 21, None), ("a\x00b", None),
    ("第一行\n第二行", "第一行 第二行"),
])
def test_the_name_field(text: str, name: str | None) -> None:
    assert clean_name(text) == name
