"""Signed joint-petition links: round trip, rotation, tampering, expiry and malformed input."""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from qr import links
from qr.links import (
    LinkError,
    LinkExpired,
    LinkMalformed,
    LinkSigner,
    LinkTampered,
    LinkUnknownKey,
    derive_keys,
)
from tickets.errors import ConfigurationError, GatewayError

NOW = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
EXPIRES = NOW + timedelta(days=30)
SECRET = "test-secret-key-that-is-long-enough"
KEYS = derive_keys(SECRET, ["k1", "k2"])
BASE_30 = "https://petitions.acity.gov.cn"  # 30 characters, as in the brief
PETITION = 123456


def at(moment: datetime) -> Callable[[], datetime]:
    return lambda: moment


def signer(kid: str = "k1", keys: dict[str, bytes] = KEYS, now: datetime = NOW) -> LinkSigner:
    return LinkSigner(keys, kid, clock=at(now))


def b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def forge(pid: str, exp: str, kid: str, mac: str) -> str:
    return f"{pid}.{exp}.{kid}.{mac}"


def parts(token: str) -> list[str]:
    fields = token.split(".")
    assert len(fields) == 4
    return fields


# ---------------------------------------------------------------------------- round trip


def test_round_trip() -> None:
    token = signer().sign(PETITION, EXPIRES)
    assert signer().verify(token) == PETITION


def test_url_is_short_and_opens_the_cosign_path() -> None:
    url = signer().url(BASE_30 + "/", 9_999_999, EXPIRES)
    assert url.startswith(BASE_30 + "/j/")
    assert len(BASE_30) == 30 and len(url) < 90, url
    assert signer().verify(url.rsplit("/", 1)[1]) == 9_999_999


def test_token_is_url_safe() -> None:
    token = signer().sign(links.MAX_PETITION_ID, datetime(9999, 12, 31, tzinfo=UTC))
    assert len(token) <= links.MAX_TOKEN_CHARS
    assert set(token) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.")


def test_mac_is_hmac_sha256_over_exactly_the_fields() -> None:
    """Recomputed here from the documented format, not through the module."""
    key = bytes(range(32))
    token = LinkSigner({"k9": key}, "k9").sign(42, datetime(2030, 1, 1, tzinfo=UTC))
    expected_mac = hmac.new(key, b"42.1893456000.k9", hashlib.sha256).digest()[:16]
    assert token == "42.1893456000.k9." + b64(expected_mac)


def test_derived_keys_are_hmac_of_the_secret() -> None:
    label = b"petition-gateway/qr-link/v1\x00"
    assert KEYS["k1"] == hmac.new(SECRET.encode(), label + b"k1", hashlib.sha256).digest()
    assert len(KEYS["k1"]) == 32 and KEYS["k1"] != KEYS["k2"]
    assert derive_keys(SECRET, ["k1"]) == {"k1": KEYS["k1"]}
    assert derive_keys(SECRET + "x", ["k1"])["k1"] != KEYS["k1"]


def test_expiry_is_floored_to_the_second() -> None:
    token = signer().sign(PETITION, EXPIRES + timedelta(microseconds=999_999))
    assert parts(token)[1] == str(int(EXPIRES.timestamp()))


def test_surrounding_whitespace_is_tolerated() -> None:
    token = signer().sign(PETITION, EXPIRES)
    for padded in (f" {token} ", f"\n{token}\r\n", f"\t{token}", f"\u3000{token}\u3000"):
        assert signer().verify(padded) == PETITION


# ---------------------------------------------------------------------------- rotation


def test_old_kid_verifies_after_rotation_while_kept() -> None:
    old_token = signer("k1", {"k1": KEYS["k1"]}).sign(PETITION, EXPIRES)
    rotated = signer("k2", KEYS)
    assert rotated.verify(old_token) == PETITION
    new_token = rotated.sign(PETITION, EXPIRES)
    assert parts(new_token)[2] == "k2" and rotated.verify(new_token) == PETITION

    retired = signer("k2", {"k2": KEYS["k2"]})
    with pytest.raises(LinkUnknownKey) as info:
        retired.verify(old_token)
    assert info.value.kid == "k1"
    assert retired.verify(new_token) == PETITION


def test_same_kid_under_another_secret_does_not_verify() -> None:
    token = signer().sign(PETITION, EXPIRES)
    other = LinkSigner(derive_keys("another-secret-entirely", ["k1"]), "k1", clock=at(NOW))
    with pytest.raises(LinkTampered):
        other.verify(token)


# ---------------------------------------------------------------------------- tampering


@pytest.mark.parametrize(
    ("part", "value", "error"),
    [
        ("pid", str(PETITION + 1), LinkTampered),
        ("pid", "1", LinkTampered),
        ("exp", str(int(EXPIRES.timestamp()) + 86_400 * 365), LinkTampered),
        # An earlier expiry that has passed still reads as tampered: expiry is judged after the mac.
        ("exp", str(int(NOW.timestamp()) - 60), LinkTampered),
        ("kid", "k2", LinkTampered),
        ("kid", "k3", LinkUnknownKey),
    ],
)
def test_tampered_field(part: str, value: str, error: type[LinkError]) -> None:
    pid, exp, kid, mac = parts(signer().sign(PETITION, EXPIRES))
    fields = {"pid": pid, "exp": exp, "kid": kid, "mac": mac} | {part: value}
    with pytest.raises(error):
        signer().verify(forge(**fields))


def test_tampered_mac_every_position() -> None:
    pid, exp, kid, mac = parts(signer().sign(PETITION, EXPIRES))
    raw = base64.urlsafe_b64decode(mac + "==")
    for i in range(len(raw)):
        flipped = bytearray(raw)
        flipped[i] ^= 0x01
        with pytest.raises(LinkTampered):
            signer().verify(forge(pid, exp, kid, b64(bytes(flipped))))


def test_wrong_mac_of_the_right_length_fails() -> None:
    pid, exp, kid, _ = parts(signer().sign(PETITION, EXPIRES))
    for raw in (bytes(16), b"\xff" * 16, hashlib.sha256(b"guess").digest()[:16]):
        with pytest.raises(LinkTampered):
            signer().verify(forge(pid, exp, kid, b64(raw)))


def test_mac_is_compared_with_compare_digest(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[bytes, bytes]] = []
    real = hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", spy)  # qr.links looks it up at each call
    token = signer().sign(PETITION, EXPIRES)
    assert signer().verify(token) == PETITION
    pid, exp, kid, _ = parts(token)
    with pytest.raises(LinkTampered):
        signer().verify(forge(pid, exp, kid, b64(bytes(16))))
    assert len(calls) == 2 and all(len(a) == len(b) == 16 for a, b in calls)


# ---------------------------------------------------------------------------- expiry


def test_expired() -> None:
    token = signer().sign(PETITION, EXPIRES)
    assert signer(now=EXPIRES - timedelta(seconds=1)).verify(token) == PETITION
    for now in (EXPIRES, EXPIRES + timedelta(days=400)):
        with pytest.raises(LinkExpired) as info:
            signer(now=now).verify(token)
        assert info.value.petition_id == PETITION
        assert info.value.expired_at == EXPIRES


def test_default_clock_is_now() -> None:
    live = LinkSigner(KEYS, "k1")
    assert live.verify(live.sign(7, datetime.now(UTC) + timedelta(minutes=5))) == 7
    with pytest.raises(LinkExpired):
        live.verify(live.sign(7, datetime.now(UTC) - timedelta(seconds=5)))


# ---------------------------------------------------------------------------- malformed


def _good() -> str:
    return signer().sign(PETITION, EXPIRES)


def _malformed_inputs() -> list[object]:
    token = _good()
    pid, exp, kid, mac = parts(token)
    # The mac's last character carries 2 data bits and 4 spare bits; set a spare bit.
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    non_canonical_mac = mac[:-1] + alphabet[alphabet.index(mac[-1]) | 0x01]
    return [
        "",
        "   ",
        "x" * 1_000_000,
        " " * 10_000 + token,
        token + "." + "A" * 200,
        "9" * 60 + f".{exp}.{kid}.{mac}",
        forge(str(links.MAX_PETITION_ID + 1), exp, kid, mac),
        forge("0", exp, kid, mac),
        forge("0" + pid, exp, kid, mac),
        forge("+" + pid, exp, kid, mac),
        forge("-" + pid, exp, kid, mac),
        forge(pid, "0" + exp, kid, mac),
        forge(pid, "1" * 13, kid, mac),
        forge(pid, exp, "", mac),
        forge(pid, exp, "k" * 17, mac),
        forge(pid, exp, "k.1", mac),
        forge(pid, exp, kid, mac + "=="),
        forge(pid, exp, kid, mac + "="),
        forge(pid, exp, kid, mac[:-1]),
        forge(pid, exp, kid, mac + "A"),
        forge(pid, exp, kid, non_canonical_mac),
        forge(pid, exp, kid, "+" + mac[1:]),
        forge(pid, exp, kid, "/" + mac[1:]),
        forge(pid, exp, kid, mac[:10] + " " + mac[11:]),
        forge(pid, exp, kid, mac[:10] + "%2" + mac[12:]),
        token.replace(".", "..", 1),
        token + ".",
        "." + token,
        ".".join([pid, exp, mac]),
        "/".join([pid, exp, kid, mac]),
        token[:5] + "\n" + token[5:],
        token[:5] + "\x00" + token[5:],
        "１２３４５６." + ".".join([exp, kid, mac]),  # full-width digits
        "١٢٣." + ".".join([exp, kid, mac]),  # Arabic-Indic digits
        forge(pid, exp, "ｋ1", mac),
        forge(pid, exp, kid, mac[:-1] + "é"),
        token + "\u200b",  # zero-width space is not whitespace
        "\ufeff" + token,
        token.encode(),
        None,
        12345,
    ]


@pytest.mark.parametrize("raw", _malformed_inputs(), ids=lambda raw: repr(raw)[:40])
def test_malformed(raw: object) -> None:
    with pytest.raises(LinkMalformed):
        signer().verify(raw)  # type: ignore[arg-type]


def test_errors_form_one_tree() -> None:
    for error in (LinkMalformed, LinkUnknownKey, LinkTampered, LinkExpired):
        assert issubclass(error, LinkError)
    assert issubclass(LinkError, GatewayError)
    with pytest.raises(LinkError) as info:
        signer().verify("nonsense")
    assert info.value.reason


# ---------------------------------------------------------------------------- configuration and signing input


def test_signer_configuration_is_checked() -> None:
    with pytest.raises(ConfigurationError):
        LinkSigner(KEYS, "k3")
    with pytest.raises(ConfigurationError):
        LinkSigner({"k1": b"short"}, "k1")
    with pytest.raises(ConfigurationError):
        LinkSigner({"bad.kid": KEYS["k1"]}, "bad.kid")


def test_derive_keys_checks_its_input() -> None:
    with pytest.raises(ConfigurationError):
        derive_keys("", ["k1"])
    with pytest.raises(ConfigurationError):
        derive_keys(SECRET, ["k1", "k1"])
    with pytest.raises(ConfigurationError):
        derive_keys(SECRET, ["k 1"])
    with pytest.raises(TypeError):
        derive_keys(SECRET, "k1")


@pytest.mark.parametrize(
    ("petition_id", "expires_at", "error"),
    [
        (0, EXPIRES, ValueError),
        (-5, EXPIRES, ValueError),
        (links.MAX_PETITION_ID + 1, EXPIRES, ValueError),
        (True, EXPIRES, TypeError),
        ("12", EXPIRES, TypeError),
        (PETITION, EXPIRES.replace(tzinfo=None), ValueError),
        (PETITION, datetime(1969, 12, 31, tzinfo=UTC), ValueError),
    ],
)
def test_sign_refuses_bad_input(petition_id: object, expires_at: datetime, error: type[Exception]) -> None:
    with pytest.raises(error):
        signer().sign(petition_id, expires_at)  # type: ignore[arg-type]
