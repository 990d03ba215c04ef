"""WeChat's signatures and safe-mode message encryption, a thin wrapper over wechatpy 1.8.18.

The scheme (the same as WXBizMsgCrypt): AES-256-CBC with key = base64(EncodingAESKey + "="), IV = key[:16],
plaintext = random(16) ‖ len(msg) as 4 bytes big-endian ‖ msg ‖ AppID, PKCS#7-padded to 32-byte blocks.
https://developers.weixin.qq.com/doc/oplatform/developers/dev/push/encryption.md

What we change from wechatpy: signatures are compared in constant time (wechatpy uses `!=`), the 16-byte
random prefix comes from `secrets` (wechatpy uses `random.sample`), and padding and length are checked so
that every malformed ciphertext ends in one `DecryptError` instead of whatever wechatpy happens to raise.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
import string
import struct
from collections.abc import Callable
from typing import Any

from wechatpy.crypto import PrpCrypto
from wechatpy.exceptions import InvalidAppIdException

from tickets.errors import ConfigurationError, DecryptError

BLOCK_SIZE = 32  # WeChat pads to 32-byte blocks, so a pad byte of 17..32 is legitimate
_PREFIX_ALPHABET = string.ascii_letters + string.digits  # 62 characters
_UNBIASED = 256 - 256 % len(_PREFIX_ALPHABET)


def wechat_signature(*parts: str) -> str:
    """SHA-1 hex digest of the parts sorted lexicographically and joined with no separator."""
    # SHA-1 is what WeChat's protocol prescribes; the token inside the hash is the secret.
    return hashlib.sha1("".join(sorted(parts)).encode("utf-8")).hexdigest()  # noqa: S324


def signature_matches(expected: str, *parts: str) -> bool:
    """Whether `expected` is the WeChat signature of `parts`, compared in constant time."""
    return hmac.compare_digest(expected.encode("utf-8"), wechat_signature(*parts).encode("utf-8"))


class _CheckedCipher:
    """wechatpy's AES-CBC cipher, with the padding and the length field checked after decrypting.

    wechatpy strips `plain[-1]` bytes without looking at them; a broken ciphertext then fails somewhere
    random (struct.error, a short AppID). Checking here gives one clear reason.
    """

    def __init__(self, inner: Any) -> None:
        self._inner = inner

    def encrypt(self, plaintext: bytes) -> bytes:
        return bytes(self._inner.encrypt(plaintext))

    def decrypt(self, ciphertext: bytes) -> bytes:
        plain = bytes(self._inner.decrypt(ciphertext))
        pad = plain[-1]
        if not 1 <= pad <= BLOCK_SIZE or plain[-pad:] != bytes([pad]) * pad:
            raise DecryptError("bad padding")
        body = plain[16:-pad]
        if len(body) < 4 or 4 + int.from_bytes(body[:4], "big") > len(body):
            raise DecryptError("bad message length")
        return plain


class _PrpCrypto(PrpCrypto):  # type: ignore[misc]  # wechatpy has no type hints
    """wechatpy's PrpCrypto with a checked cipher and a random prefix we choose."""

    cipher: Any  # set by wechatpy's __init__

    def __init__(self, key: bytes, prefix: Callable[[], str]) -> None:
        super().__init__(key)
        self.cipher = _CheckedCipher(self.cipher)
        self._prefix = prefix

    def get_random_string(self) -> str:
        prefix = self._prefix()
        if len(prefix.encode("utf-8")) != 16:
            raise ValueError("the random prefix must be 16 bytes")
        return prefix


class MessageCipher:
    """Encrypts and decrypts safe-mode messages of one Official Account."""

    def __init__(self, token: str, aes_key: str, app_id: str) -> None:
        try:
            key = base64.b64decode(aes_key + "=", validate=True)
        except (binascii.Error, ValueError):
            key = b""
        if len(aes_key) != 43 or len(key) != 32:
            raise ConfigurationError("the EncodingAESKey must be 43 base64 characters")
        self._token = token
        self._app_id = app_id
        self._prp = _PrpCrypto(key, self.random_prefix)

    def random_prefix(self) -> str:
        """The 16 random characters in front of each plaintext; from `secrets`.

        One read of the system's random source (not one per character, as `secrets.choice` does);
        bytes at or above `_UNBIASED` are dropped, so every character is equally likely.
        """
        chars: list[str] = []
        while len(chars) < 16:
            chars += [_PREFIX_ALPHABET[b % 62] for b in secrets.token_bytes(24) if b < _UNBIASED]
        return "".join(chars[:16])

    def decrypt(self, encrypt_b64: str) -> str:
        """The XML inside an `Encrypt` value; check `msg_signature` before calling this.

        Raises:
            DecryptError: bad base64, length, padding or UTF-8, or another account's AppID inside.
        """
        try:
            raw = base64.b64decode(encrypt_b64, validate=True)
        except (binascii.Error, ValueError):
            raise DecryptError("Encrypt is not base64") from None
        if len(raw) < BLOCK_SIZE or len(raw) % 16:
            raise DecryptError("ciphertext length is not whole AES blocks")
        try:
            return str(self._prp.decrypt(encrypt_b64, self._app_id))
        except InvalidAppIdException:
            raise DecryptError("AppID inside the ciphertext does not match") from None
        except UnicodeDecodeError:
            raise DecryptError("message is not UTF-8") from None
        except (ValueError, struct.error):
            raise DecryptError("ciphertext does not decrypt") from None

    def encrypt(self, xml: str) -> str:
        """The base64 `Encrypt` value for `xml`."""
        return bytes(self._prp.encrypt(xml, self._app_id)).decode("ascii")

    def seal(self, xml: str, nonce: str, timestamp: str) -> str:
        """WeChat's encrypted envelope for `xml`, signed with msg_signature."""
        encrypt = self.encrypt(xml)
        signature = wechat_signature(self._token, timestamp, nonce, encrypt)
        return (
            f"<xml><Encrypt><![CDATA[{encrypt}]]></Encrypt>"
            f"<MsgSignature><![CDATA[{signature}]]></MsgSignature>"
            f"<TimeStamp>{timestamp}</TimeStamp><Nonce><![CDATA[{nonce}]]></Nonce></xml>"
        )
