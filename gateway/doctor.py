"""`petition-gateway doctor`: check a deployment before it goes live, and say what to fix (docs/operations.md).

Each check reads the settings the processes will run with and, where it can, asks the thing itself with a
harmless call: the database and its schema revision, Redis, WeChat (an access token from the stable token
endpoint, which hands out the one in force), Alipay (a signed call with a made-up auth code: refused as
such, it proves the keys), the public address (`/healthz`) and the font of the QR cards. Nothing is
written (but dev mode's credentials file, made when missing), and no secret is printed.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, TextIO
from urllib.parse import urlsplit, urlunsplit

import httpx
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from bots.alipay.api import AlipayApi
from bots.alipay.sign import RESPONSE_SIGNATURE, TRANSPORT, AlipayApiError
from bots.wechat import errors as wechat_codes
from bots.wechat.access_token import fetch_stable_token, stable_token_url
from bots.wechat.errors import WeChatApiError
from qr.images import FONT_DIRS, cjk_font
from tickets.settings import KNOWN_DEFAULT_SECRETS, Settings
from tickets.storage.db import create_db_engine, schema_revisions

Status = Literal["ok", "warn", "FAIL"]
TIMEOUT = httpx.Timeout(5.0, connect=3.0)
# What an Alipay app's refusal of a made-up auth code looks like: the app, its keys and signing all passed.
ALIPAY_CODE_REFUSED = frozenset({"isv.code-invalid", "isv.invalid-auth-code", "isv.auth-code-invalid"})
WECHAT_FIXES = {
    wechat_codes.INVALID_APPID: "WECHAT_APP_ID is not an Official Account's AppID",
    wechat_codes.INVALID_APPSECRET: "WECHAT_APP_SECRET is wrong (mp.weixin.qq.com: 设置与开发 > 基本配置 > AppSecret)",
    40164: "this server's outbound IP is not on the account's IP allow-list (基本配置 > IP白名单)",
    wechat_codes.TRANSPORT: "no answer from WECHAT_API_BASE: check outbound HTTPS to api.weixin.qq.com",
}


@dataclass(frozen=True, slots=True)
class Finding:
    """The outcome of one check; `fix` says what to do when it is not ok."""

    check: str
    status: Status
    detail: str
    fix: str = ""


def examine(settings: Settings, *, font_dirs: Sequence[Path] = FONT_DIRS) -> list[Finding]:
    """Every check, in order, for settings already `prepared()`."""
    findings = [Finding("settings", "ok", f"GATEWAY_ENV={settings.gateway_env}, read and checked")]
    if settings.is_dev:
        findings.append(Finding("mode", "warn", "dev mode: generated credentials and the /dev pages",
                                "set GATEWAY_ENV=production for a deployment"))
    findings += _secrets(settings)
    with httpx.Client(timeout=TIMEOUT) as http:
        for check in (_database, _redis):
            findings.append(check(settings))
        findings.append(_wechat(settings, http))
        findings.append(_alipay(settings, http))
        findings.append(_public_address(settings, http))
    findings.append(_font(font_dirs))
    findings += _exposure(settings)
    return findings


def report(findings: Sequence[Finding], out: TextIO) -> int:
    """Print one line per check (and what to fix); 1 when any check failed, else 0."""
    for finding in findings:
        print(f"{finding.status:<5} {finding.check:<15} {finding.detail}", file=out)
        if finding.fix and finding.status != "ok":
            print(f"{'':<5} {'':<15} fix: {finding.fix}", file=out)
    failed = sum(f.status == "FAIL" for f in findings)
    warned = sum(f.status == "warn" for f in findings)
    verdict = "ready" if not failed else "not ready"
    print(f"{verdict}: {failed} failed, {warned} warning(s), {len(findings) - failed - warned} ok", file=out)
    return 1 if failed else 0


def _weak(value: str, minimum: int) -> bool:
    return value.strip().lower() in KNOWN_DEFAULT_SECRETS or len(value) < minimum


def _secrets(settings: Settings) -> list[Finding]:
    """Secrets that are set must not be examples or too short; generated dev ones are fine in dev."""
    named = {"WECHAT_TOKEN": (settings.wechat_token, 8), "WECHAT_APP_SECRET": (settings.wechat_app_secret, 16),
             "DISPATCH_WEBHOOK_SECRET": (settings.dispatch_webhook_secret, 16),
             "WARNING_WEBHOOK_SECRET": (settings.warning_webhook_secret, 16),
             "SMS_HTTP_SECRET": (settings.sms_http_secret, 16), "METRICS_TOKEN": (settings.metrics_token, 16)}
    problems = [name for name, (value, minimum) in named.items() if value and _weak(value, minimum)]
    if _weak(settings.secret_key, 32):
        problems.insert(0, "SECRET_KEY")
    findings = [Finding("secrets", "FAIL", f"default or too short: {', '.join(problems)}",
                        "use long random values (python3 -c 'import secrets; print(secrets.token_urlsafe(32))')")
                if problems else Finding("secrets", "ok", "no default or short secret")]
    if settings.dispatch_webhook_url and not settings.dispatch_webhook_secret:
        findings.append(Finding("webhook signing", "warn", "DISPATCH_WEBHOOK_URL is set without a secret: events "
                                "go unsigned", "set DISPATCH_WEBHOOK_SECRET, shared with the dispatch system"))
    return findings


def _database(settings: Settings) -> Finding:
    shown = make_url(settings.database_url).render_as_string(hide_password=True)
    engine = create_db_engine(settings.database_url)
    try:
        current, heads = schema_revisions(engine)
    except sa.exc.SQLAlchemyError as exc:
        return Finding("database", "FAIL", f"cannot read {shown} ({type(exc).__name__})",
                       "start the database server, or correct DATABASE_URL")
    finally:
        engine.dispose()
    if current != heads:
        return Finding("database", "FAIL", f"{shown}: schema at {sorted(current) or 'nothing'}, the code needs "
                       f"{sorted(heads)}", "run `petition-gateway migrate`")
    if engine.dialect.name == "sqlite" and not settings.is_dev:
        return Finding("database", "warn", f"{shown}: up to date, but SQLite takes one writer at a time",
                       "use PostgreSQL in production (DATABASE_URL=postgresql://...)")
    return Finding("database", "ok", f"{shown}: reachable, schema up to date ({', '.join(sorted(heads))})")


def _redis(settings: Settings) -> Finding:
    if not settings.redis_url:
        return Finding("redis", "ok", "REDIS_URL unset: `serve` runs the jobs in its own processes")
    import redis

    parts = urlsplit(settings.redis_url)
    shown = urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))
    client = redis.Redis.from_url(settings.redis_url, socket_timeout=3, socket_connect_timeout=3)
    try:
        client.ping()
    except redis.RedisError as exc:
        return Finding("redis", "FAIL", f"no answer from {shown} ({type(exc).__name__})",
                       "start Redis, or correct REDIS_URL")
    finally:
        client.close()
    return Finding("redis", "ok", f"{shown} answers")


def _wechat(settings: Settings, http: httpx.Client) -> Finding:
    if not settings.wechat_app_id:
        return Finding("wechat", "warn" if not settings.is_dev else "ok", "no WeChat account: the channel is off",
                       "set WECHAT_TOKEN, WECHAT_APP_ID, WECHAT_APP_SECRET and WECHAT_AES_KEY")
    if not settings.wechat_app_secret:
        return Finding("wechat", "FAIL", "WECHAT_APP_SECRET missing: notices and QR cards cannot be sent",
                       "set WECHAT_APP_SECRET (mp.weixin.qq.com: 设置与开发 > 基本配置)")
    try:
        _, lifetime = fetch_stable_token(http, stable_token_url(settings.wechat_api_base), settings.wechat_app_id,
                                         settings.wechat_app_secret, TIMEOUT)
    except WeChatApiError as exc:
        if settings.dev_fake_wechat and exc.errcode == wechat_codes.TRANSPORT:
            return Finding("wechat", "warn", "the dev fake of WeChat is not running", "start `petition-gateway serve`")
        fix = WECHAT_FIXES.get(exc.errcode, f"WeChat refused the credentials: {exc.errmsg}"[:200])
        return Finding("wechat", "FAIL", f"no access token: errcode {exc.errcode}", fix)
    plain = "" if settings.wechat_aes_key else "; plain mode (no WECHAT_AES_KEY)"
    found = Finding("wechat", "ok", f"access token fetched (valid {lifetime} s){plain}")
    if plain and not settings.is_dev:
        return Finding("wechat", "warn", found.detail, "set WECHAT_AES_KEY and safe mode (安全模式) in the console")
    return found


def _alipay(settings: Settings, http: httpx.Client) -> Finding:
    if not settings.alipay_app_id:
        return Finding("alipay", "ok", "no Alipay app: the channel is off")
    if not (settings.alipay_app_private_key and settings.alipay_public_key):
        return Finding("alipay", "FAIL", "ALIPAY_APP_PRIVATE_KEY or ALIPAY_PUBLIC_KEY missing",
                       "set both (PEM text or a file path)")
    try:
        api = AlipayApi(settings.alipay_app_id, settings.alipay_app_private_key, settings.alipay_public_key,
                        settings.alipay_gateway, http, timeout=TIMEOUT)
    except (ValueError, TypeError, OSError) as exc:
        return Finding("alipay", "FAIL", f"a key does not load ({type(exc).__name__})",
                       "ALIPAY_APP_PRIVATE_KEY must be the app's RSA private key, ALIPAY_PUBLIC_KEY "
                       "Alipay's public key")
    try:
        api.oauth_token("petition-gateway-doctor")
    except AlipayApiError as exc:
        if exc.sub_code in ALIPAY_CODE_REFUSED:
            return Finding("alipay", "ok", "a signed call was verified both ways (the made-up code refused as such)")
        fix = {RESPONSE_SIGNATURE: "ALIPAY_PUBLIC_KEY must be Alipay's public key (支付宝公钥), not the app's",
               TRANSPORT: "no answer from ALIPAY_GATEWAY: check outbound HTTPS to openapi.alipay.com",
               "isv.invalid-signature": "ALIPAY_APP_PRIVATE_KEY does not match the app public key uploaded to the "
                                        "open platform",
               "isv.invalid-app-id": "ALIPAY_APP_ID is not this app's id"}
        return Finding("alipay", "FAIL", f"refused: {exc}"[:200],
                       fix.get(exc.sub_code) or fix.get(exc.code) or "see the open platform's 开发设置")
    return Finding("alipay", "ok", "a signed call was verified both ways")


def _public_address(settings: Settings, http: httpx.Client) -> Finding:
    url = f"{settings.public_base_url}/healthz"
    try:
        answer = http.get(url, follow_redirects=True)
        healthy = answer.status_code == 200 and answer.json().get("status") == "ok"
    except (httpx.HTTPError, ValueError, AttributeError) as exc:
        return Finding("public address", "FAIL", f"no answer from {url} ({type(exc).__name__})",
                       "start `serve` first; PUBLIC_BASE_URL must be the address phones reach (the proxy's)")
    if not healthy:
        return Finding("public address", "FAIL", f"{url} answered {answer.status_code}, not the gateway",
                       "PUBLIC_BASE_URL must lead to this gateway (check the reverse proxy)")
    if not settings.is_dev and not settings.public_base_url.startswith("https://"):
        return Finding("public address", "warn", f"{url} answers, over plain HTTP",
                       "serve citizens over HTTPS (WeChat's web pages and the co-sign cookies expect it)")
    return Finding("public address", "ok", f"{url} answers")


def _font(font_dirs: Sequence[Path]) -> Finding:
    found = cjk_font(font_dirs)
    if found is None:
        return Finding("qr card font", "FAIL", "no CJK font: QR cards would print without their Chinese text",
                       "apt-get install fonts-noto-cjk (or another font named in qr/images.py)")
    return Finding("qr card font", "ok", str(found))


def _exposure(settings: Settings) -> list[Finding]:
    checks: list[tuple[bool, Callable[[], Finding]]] = [
        (not settings.is_dev and settings.docs_enabled,
         lambda: Finding("api docs", "warn", "/docs is on in production", "unset API_DOCS unless it is meant")),
        (not settings.is_dev and not settings.metrics_token,
         lambda: Finding("metrics", "warn", "/metrics is open", "set METRICS_TOKEN, or keep /metrics off the "
                         "public network")),
    ]
    return [make() for applies, make in checks if applies]
