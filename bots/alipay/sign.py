"""Alipay's RSA2 signatures, our own on `cryptography`: keys, sign content, notifications and responses.

The rules are AlipaySignature.java's (docs/platforms.md sections 4.2 and 4.3); we do not use an
Alipay SDK (section 4.4). RSA2 is RSASSA-PKCS1-v1_5 with SHA-256 over the content encoded in `charset`.

    GatewayError
    └── AlipayApiError      code, msg, sub_code, sub_msg, retryable
"""

from __future__ import annotations

import base64
import binascii
import json
import textwrap
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, Literal

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from tickets.errors import ConfigurationError, GatewayError

TRANSPORT = "transport"  # ours: no answer, an HTTP error, or not Alipay's JSON
RESPONSE_SIGNATURE = "response-signature"  # ours: the response signature is missing or does not verify
SUCCESS = "10000"
UNKNOWN_ERROR = "20000"  # Service Currently Unavailable
# Alipay's own failures: the same call may succeed later. 40002 (invalid parameters) and 40004 (business
# failure) will fail the same way again. https://docs.open.alipay.com/common/105806
RETRYABLE_SUB_CODES = frozenset({"isp.unknow-error", "aop.unknow-error", "aop.ACQ.SYSTEM_ERROR", "ACQ.SYSTEM_ERROR"})
_ERROR_NODE = "error_response"  # where Alipay answers when it cannot tell the method (and for oauth.token)


class AlipayApiError(GatewayError):
    """Alipay answered a code other than 10000, or did not answer (`TRANSPORT`). Never carries a secret."""

    def __init__(self, code: str, msg: str, sub_code: str = "", sub_msg: str = "") -> None:
        super().__init__(f"alipay {code} {msg}" + (f": {sub_code} {sub_msg}".rstrip() if sub_code else ""))
        self.code, self.msg, self.sub_code, self.sub_msg = code, msg, sub_code, sub_msg

    @property
    def retryable(self) -> bool:
        """Whether the same call may succeed later (network, Alipay's system errors)."""
        return self.code in {TRANSPORT, UNKNOWN_ERROR} or self.sub_code in RETRYABLE_SUB_CODES


def _is_file(text: str) -> bool:
    # A bare base64 key body is longer than a file name may be (ENAMETOOLONG): then it is no path.
    try:
        return Path(text).is_file()
    except (OSError, ValueError):
        return False


def _pem_text(pem_or_path: str, label: str) -> list[bytes]:
    """Candidate PEM encodings of a key given as PEM text, a file path, or the console's bare base64 body."""
    text = pem_or_path.strip()
    if "-----BEGIN" not in text and "\n" not in text and len(text) < 1024 and _is_file(text):
        try:
            text = Path(text).read_text(encoding="ascii").strip()
        except (OSError, ValueError) as exc:
            raise ConfigurationError(f"cannot read the Alipay key file: {exc}") from exc
    if "-----BEGIN" in text:
        return [text.encode("ascii", "replace")]
    body = "\n".join(textwrap.wrap("".join(text.split()), 64))
    # The console shows PKCS#8 / SubjectPublicKeyInfo; Alipay's key tool can also save PKCS#1.
    return [f"-----BEGIN {kind}-----\n{body}\n-----END {kind}-----\n".encode("ascii", "replace")
            for kind in (label, f"RSA {label}")]


def load_private_key(pem_or_path: str) -> rsa.RSAPrivateKey:
    """Our app private key from PEM text, a file path or a bare base64 body; `ConfigurationError` if it is not one."""
    for pem in _pem_text(pem_or_path, "PRIVATE KEY"):
        try:
            key = serialization.load_pem_private_key(pem, password=None)
        except (ValueError, TypeError):
            continue
        if isinstance(key, rsa.RSAPrivateKey):
            return key
    raise ConfigurationError("the Alipay app private key is not an unencrypted RSA private key")


def load_public_key(pem_or_path: str) -> rsa.RSAPublicKey:
    """Alipay's public key (PEM, path, bare base64 body, or a certificate); `ConfigurationError` if not one."""
    for pem in _pem_text(pem_or_path, "PUBLIC KEY"):
        try:
            if b"CERTIFICATE" in pem:
                key: Any = x509.load_pem_x509_certificate(pem).public_key()
            else:
                key = serialization.load_pem_public_key(pem)
        except (ValueError, TypeError):
            continue
        if isinstance(key, rsa.RSAPublicKey):
            return key
    raise ConfigurationError("the Alipay public key is not an RSA public key")


def _content(params: Mapping[str, str], drop: frozenset[str], skip_empty: bool = False) -> str:
    return "&".join(f"{key}={value}" for key, value in sorted(params.items())
                    if key not in drop and not (skip_empty and not value))


def sign_content_v1(params: Mapping[str, str]) -> str:
    """Notification content, rsaCheckV1: all but `sign` and `sign_type`, sorted, decoded values, empties kept."""
    return _content(params, frozenset({"sign", "sign_type"}))


def sign_content_v2(params: Mapping[str, str]) -> str:
    """Notification content, rsaCheckV2 (生活号 events and others): all but `sign`, so `sign_type` is signed."""
    return _content(params, frozenset({"sign"}))


def sign_content_request(params: Mapping[str, str]) -> str:
    """Our request's content: every non-empty parameter but `sign`, sorted (`sign_type` included).

    https://docs.open.alipay.com/291/106118 (自行实现签名)
    """
    return _content(params, frozenset({"sign"}), skip_empty=True)


def rsa2_sign(private_key: rsa.RSAPrivateKey, content: str, charset: str = "utf-8") -> str:
    """Base64 of RSASSA-PKCS1-v1_5/SHA-256 over `content` encoded in `charset`."""
    return base64.b64encode(private_key.sign(content.encode(charset), padding.PKCS1v15(), hashes.SHA256())).decode()


def rsa2_verify(public_key: rsa.RSAPublicKey, content: str, signature_b64: str, charset: str = "utf-8") -> bool:
    """Whether `signature_b64` signs `content` in `charset`; False (never an exception) for any bad input."""
    try:
        signature = base64.b64decode(signature_b64, validate=True)
        public_key.verify(signature, content.encode(charset), padding.PKCS1v15(), hashes.SHA256())
    except (InvalidSignature, binascii.Error, ValueError, LookupError, TypeError):
        return False
    return True


def verify_notification(params: Mapping[str, str], public_key: rsa.RSAPublicKey, *,
                        variant: Literal["v1", "v2"]) -> bool:
    """Whether a form-decoded notification (one value per key) is signed by Alipay with RSA2.

    A `sign_type` other than RSA2 is refused with False; python-alipay-sdk raises instead.
    """
    signature = params.get("sign")
    if not signature or params.get("sign_type", "RSA2") != "RSA2":
        return False
    content = sign_content_v1(params) if variant == "v1" else sign_content_v2(params)
    return rsa2_verify(public_key, content, signature, params.get("charset") or "utf-8")


def _string_end(text: str, i: int) -> int:
    """Index after the JSON string that starts at `text[i] == '"'`."""
    i += 1
    while i < len(text):
        if text[i] == "\\":
            i += 2
        elif text[i] == '"':
            return i + 1
        else:
            i += 1
    raise ValueError("unterminated string")


def _value_end(text: str, i: int) -> int:
    """Index after the JSON value that starts at `i`; brackets inside strings do not count."""
    if i >= len(text):
        raise ValueError("value expected")
    if text[i] == '"':
        return _string_end(text, i)
    if text[i] not in "{[":
        end = i
        while end < len(text) and text[end] not in ",}] \t\r\n":
            end += 1
        if end == i:
            raise ValueError("value expected")
        return end
    depth = 0
    while i < len(text):
        if text[i] == '"':
            i = _string_end(text, i)
            continue
        if text[i] in "{[":
            depth += 1
        elif text[i] in "}]":
            depth -= 1
            if depth == 0:
                return i + 1
        i += 1
    raise ValueError("unbalanced brackets")


def _members(text: str) -> Iterator[tuple[str, str]]:
    """The top-level members of a JSON object as (key, exact value text)."""
    def skip(i: int) -> int:
        while i < len(text) and text[i] in " \t\r\n":
            i += 1
        return i

    i = skip(0)
    if not text.startswith("{", i):
        raise ValueError("not a JSON object")
    i = skip(i + 1)
    while not text.startswith("}", i):
        if not text.startswith('"', i):
            raise ValueError("key expected")
        end = _string_end(text, i)
        key = str(json.loads(text[i:end]))
        i = skip(end)
        if not text.startswith(":", i):
            raise ValueError("colon expected")
        start = skip(i + 1)
        i = _value_end(text, start)
        yield key, text[start:i]
        i = skip(i)
        if text.startswith(",", i):
            i = skip(i + 1)
        elif not text.startswith("}", i):
            raise ValueError("comma expected")


def _top_level(body: str) -> dict[str, str]:
    members: dict[str, str] = {}
    try:
        for key, raw in _members(body):
            # A second copy of a node would let a forger pair a replayed signed node with its own.
            if key in members:
                raise AlipayApiError(TRANSPORT, f"reply repeats {key}")
            members[key] = raw
    except ValueError as exc:
        raise AlipayApiError(TRANSPORT, f"reply is not Alipay's JSON: {exc}") from exc
    return members


def node_name(method: str) -> str:
    """The response node of a method: `alipay.system.oauth.token` -> `alipay_system_oauth_token_response`."""
    return method.replace(".", "_") + "_response"


def response_content(body: str, method: str) -> str:
    """The exact text of the method's response node in `body`: what Alipay signed (never re-serialised)."""
    raw = _top_level(body).get(node_name(method))
    if raw is None or not raw.startswith("{"):
        raise AlipayApiError(TRANSPORT, f"reply has no {node_name(method)} object")
    return raw


def verify_response(body: str, method: str, public_key: rsa.RSAPublicKey, charset: str = "utf-8") -> dict[str, Any]:
    """The method's response node (or `error_response`), parsed from the exact text its signature covers.

    An unsigned node is accepted only when it reports a failure, which the caller raises anyway.
    https://docs.open.alipay.com/200/106120 (自行实现验签)
    """
    members = _top_level(body)
    name = node_name(method) if node_name(method) in members else _ERROR_NODE
    raw = members.get(name, "")
    try:
        node = json.loads(raw) if raw.startswith("{") else None
        signature = json.loads(members.get("sign", '""'))
    except ValueError as exc:
        raise AlipayApiError(TRANSPORT, f"reply is not Alipay's JSON: {exc}") from exc
    if not isinstance(node, dict):
        raise AlipayApiError(TRANSPORT, f"reply has no {node_name(method)} object")
    if isinstance(signature, str) and signature:
        if not rsa2_verify(public_key, raw, signature, charset):
            raise AlipayApiError(RESPONSE_SIGNATURE, "the response signature does not verify")
    elif str(node.get("code", SUCCESS)) == SUCCESS:
        raise AlipayApiError(RESPONSE_SIGNATURE, "the response is not signed")
    return node
