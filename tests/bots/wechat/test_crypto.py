"""bots/wechat/crypto.py: published known-answer vectors, and WeRoBot as an independent implementation."""

from __future__ import annotations

import base64
import random
import string
from collections.abc import Callable

import pytest
import xmltodict
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from werobot.crypto import MessageCrypt
from werobot.utils import get_signature

from bots.wechat.crypto import MessageCipher, signature_matches, wechat_signature
from tickets.errors import ConfigurationError, DecryptError

TOKEN = "petition_token"
APP_ID = "wx1234567890abcdef"
AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
KEY = base64.b64decode(AES_KEY + "=")

# wechatpy's own vectors (wechatpy/wechatpy tests/test_crypto.py; its WeCom class uses the same algorithm).
KAT_TOKEN = "123456"
KAT_AES_KEY = "kWxPEV2UEDyxWpmPdKC3F4dgPDmOvfKX1HGnEUDS1aR"
KAT_APP_ID = "wx49f0ab532d5d035a"
KAT_TIMESTAMP = "1411525903"
KAT_NONCE = "461056294"
KAT_DECRYPT_SIGNATURE = "74d92dfeb87ba7c714f89d98870ae5eb62dff26d"
KAT_DECRYPT_ENCRYPT = (
    "RgqEoJj5A4EMYlLvWO1F86ioRjZfaex/gePD0gOXTxpsq5Yj4GNglrBb8I2BAJVODGajiFnXBu7mCPatfjsu6IHCrsTyeDXzF6Bv283d"
    "Gymzxh6ydJRvZsryDyZbLTE7rhnus50qGPMfp2wASFlzEgMW9z1ef/RD8XzaFYgm7iTdaXpXaG4+BiYyolBug/gYNx410cvkKR2/nPwB"
    "iT+P4hIiOAQqGp/TywZBtDh1yCF2KOd0gpiMZ5jSw3e29mTvmUHzkVQiMS6td7vXUaWOMZnYZlF3So2SjHnwh4jYFxdgpkHHqIrH/54S"
    "NdshoQgWYEvccTKe7FS709/5t6NMxuGhcUGAPOQipvWTT4dShyqio7mlsl5noTrb++x6En749zCpQVhDpbV6GDnTbcX2e8K9QaNWHp91"
    "eBdCRxthuL0="
)
KAT_REPLY = """<xml>
<MsgType><![CDATA[text]]></MsgType>
<Content><![CDATA[test]]></Content>
<FromUserName><![CDATA[wx49f0ab532d5d035a]]></FromUserName>
<ToUserName><![CDATA[messense]]></ToUserName>
<AgentID>1</AgentID>
<CreateTime>1411525903</CreateTime>
</xml>"""
KAT_ENCRYPT = (
    "9s4gMv99m88kKTh/H8IdkOiMg6bisoy3ypwy9H4hvSPe9nsGaqyw5hhSjdYbcrKk+j3nba4HMOTzHrluLBYqxgNcBqGsL8GqxlhZgURn"
    "AtObvesEl5nZ+uBE8bviY0LWke8Zy9V/QYKxNV2FqllNXcfmstttyIkMKCCmVbCFM2JTF5wY0nFhHZSjPUL2Q1qvSUCUld+/WIXrx0oy"
    "KQmpB6o8NRrrNrsDf03oxI1p9FxUgMnwKKZeOA/uu+2IEvEBtb7muXsVbwbgX05UPPJvFurDXafG0RQyPR+mf1nDnAtQmmNOuiR5MIkd"
    "Q39xn1vWwi1O5oazPoQJz0nTYjxxEE8kv3kFxtAGVRe3ypD3WeK2XeFYFMNMpatF9XiKzHo3"
)
KAT_MSG_SIGNATURE = "407518b7649e86ef23978113f92d27afa9296533"


class FixedPrefixCipher(MessageCipher):
    """The known-answer vector was made with this random prefix."""

    def random_prefix(self) -> str:
        return "1234567890123456"


def werobot(app_id: str = APP_ID) -> MessageCrypt:
    return MessageCrypt(token=TOKEN, encoding_aes_key=AES_KEY, app_id=app_id)


def cipher() -> MessageCipher:
    return MessageCipher(TOKEN, AES_KEY, APP_ID)


def raw_encrypt(plaintext: bytes) -> str:
    """AES-256-CBC as WeChat does it, without any padding of our own: for hand-made broken plaintexts."""
    encryptor = Cipher(algorithms.AES(KEY), modes.CBC(KEY[:16])).encryptor()
    return base64.b64encode(encryptor.update(plaintext) + encryptor.finalize()).decode()


def raw_decrypt(encrypt: str) -> bytes:
    decryptor = Cipher(algorithms.AES(KEY), modes.CBC(KEY[:16])).decryptor()
    return decryptor.update(base64.b64decode(encrypt)) + decryptor.finalize()


def pkcs7_32(data: bytes) -> bytes:
    pad = 32 - len(data) % 32
    return data + bytes([pad]) * pad


def frame(message: bytes, app_id: bytes = APP_ID.encode(), length: int | None = None) -> bytes:
    size = len(message) if length is None else length
    return b"R" * 16 + size.to_bytes(4, "big") + message + app_id


@pytest.mark.parametrize(
    ("timestamp", "nonce", "expected"),
    [
        # developers.weixin.qq.com/miniprogram/dev/framework/server-ability/message-push.md
        ("1714036504", "1514711492", "f464b24fc39322e44b38aa78f5edd27bd1441696"),
        # developers.weixin.qq.com/doc/oplatform/developers/dev/push/encryption.md
        ("1714037059", "486452656", "899cf89e464efb63f54ddac96b0a0a235f53aa78"),
    ],
)
def test_url_signature_matches_the_documented_vectors(timestamp: str, nonce: str, expected: str) -> None:
    assert wechat_signature("AAAAA", timestamp, nonce) == expected
    assert signature_matches(expected, "AAAAA", timestamp, nonce)
    assert not signature_matches(expected, "AAAAA", timestamp, nonce + "1")


def test_signature_sorts_its_parts_and_joins_them_without_separator() -> None:
    # SHA-1("abc") is the FIPS 180 example digest.
    assert wechat_signature("c", "a", "b") == "a9993e364706816aba3e25717850c26c9cd0d89d"
    assert wechat_signature("ab", "c") == "a9993e364706816aba3e25717850c26c9cd0d89d"
    # Lexicographic on the strings: upper case sorts before lower case.
    assert wechat_signature("a", "B", "1") == get_signature("a", "B", "1") != wechat_signature("A", "b", "1")


@pytest.mark.parametrize("expected", ["", "F464B24FC39322E44B38AA78F5EDD27BD1441696", "签名", "f464b24f"])
def test_signature_mismatch_is_false_never_an_exception(expected: str) -> None:
    assert not signature_matches(expected, "AAAAA", "1714036504", "1514711492")


def test_decrypt_known_answer_from_wechatpy() -> None:
    assert signature_matches(KAT_DECRYPT_SIGNATURE, KAT_TOKEN, KAT_TIMESTAMP, KAT_NONCE, KAT_DECRYPT_ENCRYPT)
    xml = MessageCipher(KAT_TOKEN, KAT_AES_KEY, KAT_APP_ID).decrypt(KAT_DECRYPT_ENCRYPT)
    fields = xmltodict.parse(xml)["xml"]
    assert fields["Content"] == "test"
    assert fields["FromUserName"] == "messense"
    assert fields["MsgId"] == "4363689963896700987"


def test_encrypt_known_answer_from_wechatpy() -> None:
    sealed = FixedPrefixCipher(KAT_TOKEN, KAT_AES_KEY, KAT_APP_ID).seal(KAT_REPLY, KAT_NONCE, KAT_TIMESTAMP)
    assert xmltodict.parse(sealed)["xml"] == {
        "Encrypt": KAT_ENCRYPT,
        "MsgSignature": KAT_MSG_SIGNATURE,
        "TimeStamp": KAT_TIMESTAMP,
        "Nonce": KAT_NONCE,
    }
    assert list(xmltodict.parse(sealed)["xml"]) == ["Encrypt", "MsgSignature", "TimeStamp", "Nonce"]


def test_random_prefix_does_not_come_from_the_random_module() -> None:
    state = random.getstate()
    try:
        random.seed(12345)
        first = cipher().encrypt("<xml/>")
        random.seed(12345)
        second = cipher().encrypt("<xml/>")
    finally:
        random.setstate(state)
    assert first != second  # wechatpy's random.sample would repeat itself after the same seed
    prefixes = {raw_decrypt(first)[:16], raw_decrypt(second)[:16]}
    alphabet = set(string.ascii_letters + string.digits)
    assert all(len(p) == 16 and set(p.decode()) <= alphabet for p in prefixes)


@pytest.mark.parametrize("message", ["x", "y" * 26, "路灯坏了 #12345", "<xml>" + "长" * 300 + "</xml>"])
def test_werobot_and_we_read_each_others_ciphertext(message: str) -> None:
    ours = cipher().encrypt(message)
    assert werobot().prp_crypto.decrypt(ours, APP_ID).decode("utf-8") == message
    theirs = werobot().prp_crypto.encrypt(message, APP_ID).decode()
    assert cipher().decrypt(theirs) == message


def test_werobot_verifies_what_we_seal() -> None:
    sealed = xmltodict.parse(cipher().seal("<xml><Content>hi</Content></xml>", "nonce42", "1718000000"))
    f = sealed["xml"]
    back = werobot().decrypt_message(f["TimeStamp"], f["Nonce"], f["MsgSignature"], f["Encrypt"])
    assert back.decode() == "<xml><Content>hi</Content></xml>"


@pytest.mark.parametrize(("message", "pad"), [("x", 25), ("y" * 26, 32), ("z" * 10, 16)])
def test_pad_bytes_up_to_32_are_accepted(message: str, pad: int) -> None:
    encrypt = werobot().prp_crypto.encrypt(message, APP_ID).decode()
    assert raw_decrypt(encrypt)[-1] == pad  # the case really has this pad byte
    assert cipher().decrypt(encrypt) == message


def test_another_accounts_ciphertext_is_refused() -> None:
    encrypt = werobot(app_id="wx0000000000000000").prp_crypto.encrypt("<xml/>", "wx0000000000000000").decode()
    with pytest.raises(DecryptError, match="AppID"):
        cipher().decrypt(encrypt)


@pytest.mark.parametrize(
    "corrupt",
    [
        lambda e: e[:10] + "*" + e[11:],  # a character outside the alphabet
        lambda e: e[:-2] + e[-1],  # one character lost: bad base64 padding
        lambda e: e[:20] + " " + e[20:],
        lambda e: "中文" + e,
        lambda e: "not base64!",
    ],
)
def test_corrupted_base64_is_refused(corrupt: Callable[[str], str]) -> None:
    encrypt = werobot().prp_crypto.encrypt("<xml/>", APP_ID).decode()
    assert cipher().decrypt(encrypt) == "<xml/>"
    with pytest.raises(DecryptError, match="base64"):
        cipher().decrypt(corrupt(encrypt))


@pytest.mark.parametrize("cut", [1, 16, 33])
def test_truncated_ciphertext_is_refused(cut: int) -> None:
    raw = base64.b64decode(werobot().prp_crypto.encrypt("<xml>" + "a" * 80 + "</xml>", APP_ID))
    with pytest.raises(DecryptError):
        cipher().decrypt(base64.b64encode(raw[:-cut]).decode())


@pytest.mark.parametrize("size", [0, 3, 16, 47])
def test_ciphertext_not_in_whole_blocks_of_at_least_32_bytes_is_refused(size: int) -> None:
    with pytest.raises(DecryptError, match="length"):
        cipher().decrypt(base64.b64encode(b"\0" * size).decode())


@pytest.mark.parametrize("last", [0, 33, 255])
def test_pad_byte_out_of_range_is_refused(last: int) -> None:
    plaintext = frame(b"<xml/>")
    plaintext += b"\0" * (-(len(plaintext) + 1) % 32) + bytes([last])
    with pytest.raises(DecryptError, match="padding"):
        cipher().decrypt(raw_encrypt(plaintext))


def test_inconsistent_pad_bytes_are_refused() -> None:
    padded = bytearray(pkcs7_32(frame(b"<xml/>")))
    padded[-2] ^= 1
    with pytest.raises(DecryptError, match="padding"):
        cipher().decrypt(raw_encrypt(bytes(padded)))


def test_length_field_beyond_the_plaintext_is_refused() -> None:
    with pytest.raises(DecryptError, match="length"):
        cipher().decrypt(raw_encrypt(pkcs7_32(frame(b"<xml/>", length=10_000))))


def test_hand_made_frame_decrypts() -> None:
    """The hand-made frame of the refusals above is itself valid, so they fail for their stated reason."""
    assert cipher().decrypt(raw_encrypt(pkcs7_32(frame(b"<xml/>")))) == "<xml/>"


def test_message_that_is_not_utf8_is_refused() -> None:
    with pytest.raises(DecryptError, match="UTF-8"):
        cipher().decrypt(raw_encrypt(pkcs7_32(frame("路灯".encode("gbk")))))


@pytest.mark.parametrize("aes_key", ["", "short", AES_KEY + "A", AES_KEY[:-1] + "*"])
def test_a_bad_encoding_aes_key_is_a_configuration_error(aes_key: str) -> None:
    with pytest.raises(ConfigurationError):
        MessageCipher(TOKEN, aes_key, APP_ID)
