"""Alipay RSA2: keys, sign content, notifications (V1/V2, UTF-8/GBK) and response nodes, with fresh keys."""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Literal
from urllib.parse import quote

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import NameOID

from bots.alipay.sign import (
    RESPONSE_SIGNATURE,
    TRANSPORT,
    AlipayApiError,
    load_private_key,
    load_public_key,
    response_content,
    rsa2_sign,
    rsa2_verify,
    sign_content_request,
    sign_content_v1,
    sign_content_v2,
    verify_notification,
    verify_response,
)
from tickets.errors import ConfigurationError

Variant = Literal["v1", "v2"]
METHOD = "alipay.open.app.mini.templatemessage.send"
NODE = "alipay_open_app_mini_templatemessage_send_response"
BIZ = json.dumps({"open_id": "074a1CcTG1Le", "status": "accept", "remark": "路灯不亮，已派单 & 处理中"},
                 ensure_ascii=False, separators=(",", ":"))
NOTIFICATION = {
    "app_id": "2021000000000001", "version": "1.1", "msg_method": "alipay.open.mini.example.notify",
    "notify_id": "2024061000222153002029291512345678", "utc_timestamp": "1718000000000", "biz_content": BIZ,
}


@pytest.fixture(scope="module")
def alipay_key() -> rsa.RSAPrivateKey:
    """Alipay's pair: the gateway only ever holds its public half."""
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def other_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _signed(key: rsa.RSAPrivateKey, params: dict[str, str], variant: Variant, charset: str = "utf-8") -> dict[str, str]:
    """Sign as Alipay does, with `cryptography` directly rather than our `rsa2_sign`."""
    message = {"charset": charset, "sign_type": "RSA2", **params}
    content = sign_content_v1(message) if variant == "v1" else sign_content_v2(message)
    signature = key.sign(content.encode(charset), padding.PKCS1v15(), hashes.SHA256())
    return {**message, "sign": base64.b64encode(signature).decode()}


def _pem(key: rsa.RSAPrivateKey, fmt: serialization.PrivateFormat = serialization.PrivateFormat.PKCS8) -> str:
    return key.private_bytes(serialization.Encoding.PEM, fmt, serialization.NoEncryption()).decode()


def _public_pem(key: rsa.RSAPrivateKey,
                fmt: serialization.PublicFormat = serialization.PublicFormat.SubjectPublicKeyInfo) -> str:
    return key.public_key().public_bytes(serialization.Encoding.PEM, fmt).decode()


def _body(pem: str) -> str:
    """The bare base64 body, as Alipay's console shows a key."""
    return "".join(line for line in pem.splitlines() if not line.startswith("-----"))


# Keys

@pytest.mark.parametrize("fmt", [serialization.PrivateFormat.PKCS8, serialization.PrivateFormat.TraditionalOpenSSL])
def test_private_key_loads_from_pem_path_and_bare_body(
        alipay_key: rsa.RSAPrivateKey, tmp_path: Path, fmt: serialization.PrivateFormat) -> None:
    pem = _pem(alipay_key, fmt)
    path = tmp_path / "app_private_key.pem"
    path.write_text(pem)
    for given in (pem, str(path), _body(pem), "  " + _body(pem) + "\n"):
        assert load_private_key(given).private_numbers() == alipay_key.private_numbers()


@pytest.mark.parametrize("fmt", [serialization.PublicFormat.SubjectPublicKeyInfo, serialization.PublicFormat.PKCS1])
def test_public_key_loads_from_pem_path_and_bare_body(
        alipay_key: rsa.RSAPrivateKey, tmp_path: Path, fmt: serialization.PublicFormat) -> None:
    pem = _public_pem(alipay_key, fmt)
    path = tmp_path / "alipay_public_key.pem"
    path.write_text(_body(pem))  # a file holding what was pasted from the console
    for given in (pem, str(path), _body(pem)):
        assert load_public_key(given).public_numbers() == alipay_key.public_key().public_numbers()


def test_public_key_loads_from_a_certificate(alipay_key: rsa.RSAPrivateKey) -> None:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Alipay test")])
    now = datetime.now(UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(alipay_key.public_key())
            .serial_number(1).not_valid_before(now).not_valid_after(now + timedelta(days=1))
            .sign(alipay_key, hashes.SHA256()))
    pem = cert.public_bytes(serialization.Encoding.PEM).decode()
    assert load_public_key(pem).public_numbers() == alipay_key.public_key().public_numbers()


def test_garbage_keys_are_configuration_errors(alipay_key: rsa.RSAPrivateKey, tmp_path: Path) -> None:
    ec_key = ec.generate_private_key(ec.SECP256R1())
    ec_pem = ec_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                  serialization.NoEncryption()).decode()
    encrypted = alipay_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                         serialization.BestAvailableEncryption(b"pw")).decode()
    binary = tmp_path / "key.der"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    for garbage in ("", "not a key", "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA", ec_pem, encrypted,
                    str(tmp_path / "missing.pem"), str(binary), "密钥"):
        with pytest.raises(ConfigurationError):
            load_private_key(garbage)
    with pytest.raises(ConfigurationError):
        load_public_key(_pem(alipay_key))  # a private key where the public one is due
    with pytest.raises(ConfigurationError):
        load_public_key(_body(_public_pem(alipay_key))[:-8])


# Sign content

def test_sign_content_rules() -> None:
    params = {"b": "2", "a": "1=x&y", "sign": "S", "sign_type": "RSA2", "empty": "", "c": "中文"}
    assert sign_content_v1(params) == "a=1=x&y&b=2&c=中文&empty="
    assert sign_content_v2(params) == "a=1=x&y&b=2&c=中文&empty=&sign_type=RSA2"
    assert sign_content_request(params) == "a=1=x&y&b=2&c=中文&sign_type=RSA2"


def test_request_content_matches_alipays_documented_example() -> None:
    # The worked example of 自行实现签名 (https://docs.open.alipay.com/291/106118).
    biz = ('{"button":[{"actionParam":"ZFB_HFCZ","actionType":"out","name":"话费充值"},{"name":"查询","subButton":'
           '[{"actionParam":"ZFB_YECX","actionType":"out","name":"余额查询"},{"actionParam":"ZFB_LLCX","actionType":'
           '"out","name":"流量查询"},{"actionParam":"ZFB_HFCX","actionType":"out","name":"话费查询"}]},{"actionParam":'
           '"http://m.alipay.com","actionType":"link","name":"最新优惠"}]}')
    params = {"app_id": "2014072300007148", "method": "alipay.mobile.public.menu.add", "charset": "GBK",
              "sign_type": "RSA2", "timestamp": "2014-07-24 03:07:50", "biz_content": biz,
              "sign": "e9zEAe4TTQ4LPLQvETPoLGXTiURcxiAKfMVQ6Hrrsx2hmyIEGvSfAQzbLxHrhyZ48wOJXTsD4FPnt+YGdK57+fP1B"
                      "Cbf9rIVycfjhYCqlFhbTu9pFnZgT55W+xbAFb9y7vL0MyAxwXUXvZtQVqEwW7pURtKilbcBTEW7TAxzgro=",
              "version": "1.0"}
    assert sign_content_request(params) == (
        f"app_id=2014072300007148&biz_content={biz}&charset=GBK&method=alipay.mobile.public.menu.add"
        "&sign_type=RSA2&timestamp=2014-07-24 03:07:50&version=1.0")


# Notifications

@pytest.mark.parametrize("charset", ["utf-8", "GBK"])
@pytest.mark.parametrize("variant", ["v1", "v2"])
def test_notification_round_trip(alipay_key: rsa.RSAPrivateKey, variant: Variant, charset: str) -> None:
    message = _signed(alipay_key, NOTIFICATION, variant, charset)
    assert verify_notification(message, alipay_key.public_key(), variant=variant)


def test_gbk_content_is_signed_over_gbk_bytes(alipay_key: rsa.RSAPrivateKey) -> None:
    message = _signed(alipay_key, NOTIFICATION, "v1", "GBK")
    content = sign_content_v1(message)
    assert content.encode("gbk") != content.encode("utf-8")
    assert rsa2_verify(alipay_key.public_key(), content, message["sign"], "GBK")
    assert not rsa2_verify(alipay_key.public_key(), content, message["sign"], "utf-8")
    assert not verify_notification({**message, "charset": "utf-8"}, alipay_key.public_key(), variant="v1")


@pytest.mark.parametrize("variant", ["v1", "v2"])
def test_tampering_any_field_fails(alipay_key: rsa.RSAPrivateKey, variant: Variant) -> None:
    message = _signed(alipay_key, NOTIFICATION, variant)
    pub = alipay_key.public_key()
    for key in message:
        if key == "sign":
            continue
        assert not verify_notification({**message, key: message[key] + "0"}, pub, variant=variant), key
        assert not verify_notification({k: v for k, v in message.items() if k != key}, pub, variant=variant) \
            or key == "sign_type", key  # sign_type is optional; when absent, V1 does not sign it
    assert not verify_notification({**message, "extra": "1"}, pub, variant=variant)
    assert not verify_notification({**message, "biz_content": BIZ.replace("accept", "reject")}, pub, variant=variant)
    sig = base64.b64decode(message["sign"])
    flipped = base64.b64encode(bytes([sig[0] ^ 1]) + sig[1:]).decode()
    assert not verify_notification({**message, "sign": flipped}, pub, variant=variant)


def test_wrong_key_fails(alipay_key: rsa.RSAPrivateKey, other_key: rsa.RSAPrivateKey) -> None:
    message = _signed(alipay_key, NOTIFICATION, "v1")
    assert not verify_notification(message, other_key.public_key(), variant="v1")
    assert not verify_notification(_signed(other_key, NOTIFICATION, "v1"), alipay_key.public_key(), variant="v1")


def test_sign_type_other_than_rsa2_is_refused(alipay_key: rsa.RSAPrivateKey) -> None:
    # V1 does not sign sign_type, so this signature is valid: the refusal is what makes it fail.
    message = _signed(alipay_key, {**NOTIFICATION, "sign_type": "RSA"}, "v1")
    assert rsa2_verify(alipay_key.public_key(), sign_content_v1(message), message["sign"])
    assert not verify_notification(message, alipay_key.public_key(), variant="v1")
    assert not verify_notification({**message, "sign_type": "rsa2"}, alipay_key.public_key(), variant="v1")


def test_still_url_encoded_values_fail(alipay_key: rsa.RSAPrivateKey) -> None:
    message = _signed(alipay_key, NOTIFICATION, "v1")
    encoded = {**message, "biz_content": quote(message["biz_content"], safe="")}
    assert not verify_notification(encoded, alipay_key.public_key(), variant="v1")


def test_v2_signed_fails_v1_and_v1_signed_fails_v2(alipay_key: rsa.RSAPrivateKey) -> None:
    pub = alipay_key.public_key()
    assert not verify_notification(_signed(alipay_key, NOTIFICATION, "v2"), pub, variant="v1")
    assert not verify_notification(_signed(alipay_key, NOTIFICATION, "v1"), pub, variant="v2")


def test_missing_sign_fails(alipay_key: rsa.RSAPrivateKey) -> None:
    message = _signed(alipay_key, NOTIFICATION, "v1")
    assert not verify_notification({k: v for k, v in message.items() if k != "sign"}, alipay_key.public_key(),
                                   variant="v1")
    assert not verify_notification({**message, "sign": ""}, alipay_key.public_key(), variant="v1")


def test_rsa2_verify_never_raises(alipay_key: rsa.RSAPrivateKey) -> None:
    pub = alipay_key.public_key()
    good = rsa2_sign(alipay_key, "a=1")
    assert rsa2_verify(pub, "a=1", good)
    for bad in ("", "not base64!", good[:-4], "AAAA", good + "x"):
        assert not rsa2_verify(pub, "a=1", bad), bad
    assert not rsa2_verify(pub, "a=1", good, charset="no-such-charset")
    assert not rsa2_verify(pub, "a=😀", rsa2_sign(alipay_key, "a=😀"), charset="gbk")  # not encodable


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command line")
def test_openssl_agrees_with_rsa2(alipay_key: rsa.RSAPrivateKey, tmp_path: Path) -> None:
    """An independent RSA-SHA256 implementation signs what we verify and verifies what we sign (GBK content)."""
    (tmp_path / "key.pem").write_text(_pem(alipay_key))
    (tmp_path / "pub.pem").write_text(_public_pem(alipay_key))
    content = sign_content_v1({**NOTIFICATION, "charset": "GBK"})
    (tmp_path / "content").write_bytes(content.encode("gbk"))
    subprocess.run(["openssl", "dgst", "-sha256", "-sign", tmp_path / "key.pem", "-out", tmp_path / "sig",
                    tmp_path / "content"], check=True, capture_output=True)
    theirs = base64.b64encode((tmp_path / "sig").read_bytes()).decode()
    assert rsa2_verify(alipay_key.public_key(), content, theirs, "GBK")
    assert theirs == rsa2_sign(alipay_key, content, "GBK")  # PKCS#1 v1.5 is deterministic
    (tmp_path / "ours").write_bytes(base64.b64decode(rsa2_sign(alipay_key, content, "GBK")))
    checked = subprocess.run(["openssl", "dgst", "-sha256", "-verify", tmp_path / "pub.pem", "-signature",
                              tmp_path / "ours", tmp_path / "content"], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stdout + checked.stderr


# Response nodes

TRICKY_NODE = ('{"code":"10000","msg":"Success","note":"braces } { ] [ and \\"quotes\\" and \\\\",'
               '"nested":{"a":[1,{"b":"}"}],"c":null},"n":-1.5e3,"ok":true,"zh":"中文"}')


@pytest.mark.parametrize("body", [
    f'{{"{NODE}":{TRICKY_NODE},"sign":"SIG"}}',
    f'{{"sign":"SIG","{NODE}":{TRICKY_NODE}}}',
    f'{{ "sign" : "SIG" ,\n  "{NODE}" :\t{TRICKY_NODE}\n}}',
    f'{{"alipay_cert_sn":"x","decoy":"\\"{NODE}\\":{{}}","other":{{"{NODE}":{{"code":"1"}}}},"{NODE}":{TRICKY_NODE}}}',
])
def test_response_content_is_the_exact_node_text(body: str) -> None:
    assert response_content(body, METHOD) == TRICKY_NODE
    assert json.loads(body)[NODE] == json.loads(TRICKY_NODE)


@pytest.mark.parametrize("body", [
    "", "[]", "not json", '{"sign":"x"}', f'{{"{NODE}":"a string"}}', f'{{"{NODE}":{{"code":"10000"}}',
    f'{{"{NODE}":{{"code":"10000"}},"{NODE}":{{"code":"10000"}}}}', f'{{"{NODE}":{{"code":"10000"}} x}}',
])
def test_response_content_refuses_bad_bodies(body: str) -> None:
    with pytest.raises(AlipayApiError) as caught:
        response_content(body, METHOD)
    assert caught.value.code == TRANSPORT


def _response(key: rsa.RSAPrivateKey, node: str, name: str = NODE) -> str:
    return f'{{"{name}":{node},"sign":"{rsa2_sign(key, node)}"}}'


def test_verify_response_returns_the_signed_node(alipay_key: rsa.RSAPrivateKey) -> None:
    assert verify_response(_response(alipay_key, TRICKY_NODE), METHOD, alipay_key.public_key()) == \
        json.loads(TRICKY_NODE)


def test_verify_response_refuses_tampering_wrong_key_and_unsigned_success(
        alipay_key: rsa.RSAPrivateKey, other_key: rsa.RSAPrivateKey) -> None:
    pub = alipay_key.public_key()
    body = _response(alipay_key, TRICKY_NODE)
    # Re-serialising would change the text (spaces, escapes) and fail: only the exact substring verifies.
    for bad in (body.replace("中文", "中午"), body.replace('"msg":"Success"', '"msg": "Success"'),
                _response(other_key, TRICKY_NODE), f'{{"{NODE}":{TRICKY_NODE}}}'):
        with pytest.raises(AlipayApiError) as caught:
            verify_response(bad, METHOD, pub)
        assert caught.value.code == RESPONSE_SIGNATURE
        assert not caught.value.retryable


def test_verify_response_refuses_a_second_forged_node(alipay_key: rsa.RSAPrivateKey) -> None:
    genuine = _response(alipay_key, '{"code":"40004","msg":"Business Failed"}')
    forged = genuine[:-1] + f',"{NODE}":{{"code":"10000","msg":"Success"}}}}'
    assert json.loads(forged)[NODE]["code"] == "10000"  # what a naive parser would return
    with pytest.raises(AlipayApiError):
        verify_response(forged, METHOD, alipay_key.public_key())


def test_unsigned_failures_and_error_response_are_returned(alipay_key: rsa.RSAPrivateKey) -> None:
    failure = '{"code":"40002","msg":"Invalid Arguments","sub_code":"isv.invalid-app-id"}'
    assert verify_response(f'{{"{NODE}":{failure}}}', METHOD, alipay_key.public_key())["code"] == "40002"
    node = verify_response(_response(alipay_key, failure, "error_response"), METHOD, alipay_key.public_key())
    assert node["sub_code"] == "isv.invalid-app-id"
