"""The one Settings class: read from the environment (and `.env`), validated at start-up.

It lives in the lowest layer because every process (web, worker, relay) builds one and passes
it in explicitly; nothing reads the environment anywhere else.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from pydantic import Field, PrivateAttr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from tickets import dev_credentials
from tickets.errors import ConfigurationError

# Secrets that must never run outside dev: copied from docs and examples.
KNOWN_DEFAULT_SECRETS = frozenset({"", "change-me", "changeme", "secret", "dev", "please-change"})
WECHAT_API_BASE = "https://api.weixin.qq.com"
# Where `serve` listens when nothing else is said (dev mode only: production needs PUBLIC_BASE_URL).
DEV_PUBLIC_BASE_URL = "http://127.0.0.1:8000"
# Addresses a server listens on but no phone can reach: never a public address.
UNREACHABLE_HOSTS = frozenset({"0.0.0.0", "::", ""})  # noqa: S104 - named to be refused
# The shipped example deployment's city data (catalogue/README.md); another city replaces these files.
CATALOGUE_DIR = Path(__file__).resolve().parents[1] / "catalogue"


class Settings(BaseSettings):
    """Everything the gateway is configured with; see docs/configuration.md."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", case_sensitive=False)

    gateway_env: Literal["dev", "production"] = "dev"
    var_dir: Path = Path("var")
    database_url: str = ""
    redis_url: str = ""
    secret_key: str = ""
    public_base_url: str = DEV_PUBLIC_BASE_URL
    timezone: str = "Asia/Shanghai"

    wechat_token: str = ""
    wechat_app_id: str = ""
    wechat_app_secret: str = ""
    wechat_aes_key: str = ""
    wechat_api_base: str = WECHAT_API_BASE
    # A push whose timestamp is further than this from now is refused; its nonce is remembered as long
    # (bots/wechat/replay.py). WeChat retries within about 15 s with the original timestamp.
    wechat_max_clock_skew_seconds: int = Field(default=300, ge=30, le=86400)
    # While requests wait longer than this for the web process's event loop (the load is over what it serves,
    # or it stalled), a WeChat push is answered at once with a short word and handled by a job that replies by
    # customer-service message, before WeChat's 5-second deadline runs out (gateway/busy.py). 0 turns this off.
    wechat_answer_within_seconds: float = Field(default=2.0, ge=0, le=4.5)
    # While the web keeps deferring pushes that way, their answers wait, each at most this long after it was
    # kept: run at once they would take the CPU and the database from the web (workers/relay.py). 0: never wait.
    deferred_hold_seconds: float = Field(default=120.0, ge=0, le=3600)

    alipay_app_id: str = ""
    alipay_public_key: str = ""
    alipay_app_private_key: str = ""
    alipay_gateway: str = "https://openapi.alipay.com/gateway.do"

    # Progress pushes (issue: progress and evaluation). Subscription notification (bizsend) and template
    # message ids from the Official Account console, and which template field carries which value.
    wechat_subscribe_template_id: str = ""
    wechat_subscribe_fields: dict[str, str] = Field(default_factory=lambda: {
        "character_string1": "number", "phrase2": "status", "thing3": "note", "time4": "time"})
    wechat_template_id: str = ""
    wechat_template_fields: dict[str, str] = Field(default_factory=lambda: {
        "keyword1": "number", "keyword2": "status", "keyword3": "note", "keyword4": "time"})
    # Sends per second per account, across all workers (0 = no limit).
    wechat_sends_per_second: int = Field(default=400, ge=0)
    alipay_template_id: str = ""
    alipay_page: str = "pages/ticket/index"

    # The city's dispatch system: where gateway events go, and the shared secret of their signature
    # (also checked on incoming status events when they carry one).
    dispatch_webhook_url: str = ""
    dispatch_webhook_secret: str = ""
    dispatch_require_signature: bool = False
    evaluation_remind_days: int = Field(default=3, ge=1)
    # A row handed to a worker that has not finished after this long is handed out again (worker died).
    outbox_stale_seconds: int = Field(default=300, ge=5)
    # Rows of one job worked at once, on threads: a worker waits on WeChat and the database far more than it
    # computes. A citizen's notifications keep their order (workers/jobs.py). 1: one row after another.
    outbox_job_threads: int = Field(default=8, ge=1, le=32)

    # Joint petitions (联名). Link keys: the first kid signs new links; the others still verify old ones.
    petition_days: int = Field(default=30, ge=1, le=365)
    link_key_ids: list[str] = Field(default_factory=lambda: ["k1"], min_length=1)
    # Early warning: signer counts per level, per hot-topic zone ("default" for the rest).
    warning_thresholds: dict[str, list[int]] = Field(default_factory=lambda: {"default": [5, 20, 50]})
    # Velocity: trusted signatures in the last hour per level, and how many times the petition's own
    # hourly rate of the day before that they must be.
    warning_velocity: list[int] = Field(default_factory=lambda: [10, 30, 100])
    warning_velocity_factor: float = Field(default=3.0, ge=1.0)
    warning_webhook_url: str = ""
    warning_webhook_secret: str = ""
    # Limits as "count/seconds" windows, comma-separated (burst, sustained); "" = none.
    # A signer is limited by who they are first. Mobile carriers put whole neighbourhoods behind one address
    # (CGNAT), so the limits per address are high, a backstop against floods only: a crowd from one network
    # is flagged for review (surge_block_per_hour), not refused.
    cosign_identity_limits: str = "3/60,10/3600"  # per signer, over all petitions
    cosign_ip_limits: str = "30/60,300/3600"  # per IP and petition
    otp_phone_limits: str = "1/60,5/3600"  # codes texted per phone number
    otp_ip_limits: str = "10/300,60/3600"  # codes asked per IP
    # A surge from one source: more signatures than this in an hour on one petition from one network
    # block (/24, /48) or one device are flagged for review and counted apart.
    surge_block_per_hour: int = Field(default=10, ge=1)
    surge_device_per_hour: int = Field(default=3, ge=1)
    # One-time codes for phone signers: "console" logs them (dev); "http" posts to SMS_HTTP_URL.
    sms_sender: Literal["console", "http"] = "console"
    sms_http_url: str = ""
    sms_http_secret: str = ""
    # Where citizens' browsers go to sign in (WeChat snsapi_base, Alipay auth_base); tests point them at fakes.
    wechat_open_base: str = "https://open.weixin.qq.com"
    alipay_auth_base: str = "https://openauth.alipay.com"
    # The Official Account's original id (gh_...): the account of co-signers met through OAuth.
    wechat_original_id: str = ""

    max_body_bytes: int = Field(default=64 * 1024, ge=1024)
    draft_idle_minutes: int = Field(default=30, ge=1)
    draft_ttl_hours: int = Field(default=72, ge=1)
    dev_wechat_simulator: bool = True
    # The API reference (/docs, /redoc, /openapi.json); unset = on in dev, off in production.
    api_docs: bool | None = None
    # /metrics: a bearer token Prometheus must send ("" = open: keep it off the public network), and the
    # folder where several processes keep their counts (read by prometheus-client from the environment).
    metrics_token: str = ""
    prometheus_multiproc_dir: str = ""

    # Alipay mini-program (issue 5): session lifetime, uploaded photos (UPLOAD_DIR unset = VAR_DIR/uploads),
    # the hot-topic zones a request may name, and the message-service msg_methods that carry subscription
    # consent changes (confirm the names in the open-platform console; none are assumed).
    miniapp_session_minutes: int = Field(default=120, ge=5, le=1440)
    upload_dir: Path | None = None
    upload_max_bytes: int = Field(default=5 * 1024 * 1024, ge=1024)
    # Requests with photos per citizen (photos cost memory to check and disk to keep), "count/seconds" windows.
    upload_citizen_limits: str = "5/60,30/3600"
    hot_topic_zones: list[str] = Field(default_factory=lambda: [
        "housing_delivery", "unpaid_wages", "legal_services", "winter_heating"])
    alipay_consent_methods: list[str] = Field(default_factory=list)
    # Routing (issue 7): a ticket whose best recommended unit is at least this sure goes to it without an
    # officer; the recommender learns from the units of this many recent tickets.
    routing_auto_dispatch_confidence: float = Field(default=0.6, ge=0.0, le=1.0)
    routing_learn_from: int = Field(default=1000, ge=0, le=20000)
    routing_retrain_after: int = Field(default=20, ge=1, le=100000)

    # Deadlines (issue 7): rules per zone and type, and the holidays files (catalogue/ when unset).
    deadline_rules_file: Path | None = None
    holidays_dir: Path | None = None
    # Similar-complaint clusters (same place, same problem): the radius when both have coordinates, the time
    # window, how many recent open tickets are compared, and the cluster sizes of the warning levels.
    cluster_radius_m: float = Field(default=300.0, gt=0)
    cluster_window_hours: int = Field(default=72, ge=1, le=24 * 90)
    cluster_recent_limit: int = Field(default=300, ge=1, le=5000)
    cluster_warning_sizes: list[int] = Field(default_factory=lambda: [3, 5, 10])
    # The chat offers to follow a similar ticket nearby before a new one is confirmed.
    cluster_offer_in_chat: bool = True

    # What was given (environment, .env, arguments) rather than defaulted, and for settings `prepared()` in dev
    # mode: the settings as given and the dev credentials file's stamp they were filled from (`refreshed()`).
    _given: frozenset[str] = PrivateAttr(default=frozenset())
    _source: Settings | None = PrivateAttr(default=None)
    _dev_stamp: tuple[int, int] | None = PrivateAttr(default=None)
    _dev_fake_wechat: bool = PrivateAttr(default=False)

    @property
    def uploads_path(self) -> Path:
        """Where uploaded photos are kept."""
        return self.upload_dir or self.var_dir / "uploads"

    @model_validator(mode="after")
    def _fill_defaults(self) -> Settings:
        self._given = frozenset(self.model_fields_set)  # before anything below assigns a field
        if not self.database_url:
            self.database_url = f"sqlite:///{self.var_dir / 'gateway.db'}"
        self.public_base_url = self.public_base_url.rstrip("/")
        check_public_base_url(self.public_base_url)
        self.wechat_api_base = self.wechat_api_base.rstrip("/")
        for limits in (self.cosign_ip_limits, self.cosign_identity_limits, self.otp_phone_limits, self.otp_ip_limits,
                       self.upload_citizen_limits):
            parse_limits(limits)
        if "default" not in self.warning_thresholds:
            raise ConfigurationError("WARNING_THRESHOLDS needs a \"default\" entry")
        for zone, levels in self.warning_thresholds.items():
            if not levels or levels != sorted(set(levels)) or levels[0] < 1:
                raise ConfigurationError(f"warning thresholds of {zone!r} must be increasing positive counts")
        if not self.warning_velocity or self.warning_velocity != sorted(set(self.warning_velocity)):
            raise ConfigurationError("WARNING_VELOCITY must be increasing positive counts")
        if not self.cluster_warning_sizes or self.cluster_warning_sizes != sorted(set(self.cluster_warning_sizes)) \
                or self.cluster_warning_sizes[0] < 2:
            raise ConfigurationError("CLUSTER_WARNING_SIZES must be increasing counts of 2 or more")
        if self.sms_sender == "http" and not self.sms_http_url:
            raise ConfigurationError("SMS_SENDER=http needs SMS_HTTP_URL")
        if self.wechat_aes_key and len(self.wechat_aes_key) != 43:
            raise ConfigurationError("WECHAT_AES_KEY must be the 43-character EncodingAESKey")
        return self

    @property
    def is_dev(self) -> bool:
        """True on the embedded development setup."""
        return self.gateway_env == "dev"

    @property
    def docs_enabled(self) -> bool:
        """The API reference is served: API_DOCS, else only in dev."""
        return self.is_dev if self.api_docs is None else self.api_docs

    @property
    def tz(self) -> ZoneInfo:
        """The city's time zone, for display and for ticket numbers."""
        return ZoneInfo(self.timezone)

    @property
    def wechat_configured(self) -> bool:
        """Real WeChat credentials were given."""
        return bool(self.wechat_token and self.wechat_app_id)

    def prepared(self) -> Settings:
        """The effective settings for start-up: checked, and in dev mode completed; `self` is left as given.

        Outside dev a missing or known default SECRET_KEY, and a missing PUBLIC_BASE_URL, are refused. In
        dev the values no environment gives come from the dev credentials file under VAR_DIR, shared by every
        process of the deployment (tickets/dev_credentials.py): the secret key, a generated WeChat account
        (token, AES key, AppID) with the address and AppSecret of the local fake of WeChat's API when no real
        account is configured, and the public address `serve` was started on.
        """
        if self.prometheus_multiproc_dir:
            # prometheus-client decides at import, from the environment: a value from .env alone would not count.
            if os.environ.get("PROMETHEUS_MULTIPROC_DIR") != self.prometheus_multiproc_dir:
                raise ConfigurationError("PROMETHEUS_MULTIPROC_DIR must be set in the environment (not only in .env)")
            Path(self.prometheus_multiproc_dir).mkdir(parents=True, exist_ok=True)
        if not self.is_dev:
            if self.secret_key in KNOWN_DEFAULT_SECRETS or len(self.secret_key) < 32:
                raise ConfigurationError("SECRET_KEY must be set to a random value of 32+ characters outside dev")
            if "public_base_url" not in self._given:
                raise ConfigurationError("PUBLIC_BASE_URL must be set outside dev: the address citizens' phones "
                                         "reach, used in every link and QR code (e.g. https://12345.example.gov.cn)")
            return self
        dev = dev_credentials.load(self.var_dir)
        update: dict[str, object] = {}
        if not self.secret_key:
            update["secret_key"] = dev["secret_key"]
        if "public_base_url" not in self._given:
            update["public_base_url"] = dev.get("public_base_url") or DEV_PUBLIC_BASE_URL
        fake = False
        if self.wechat_configured:
            update["dev_wechat_simulator"] = False
        else:
            update |= {"wechat_token": dev["wechat_token"], "wechat_app_id": dev["wechat_app_id"],
                       "wechat_aes_key": dev["wechat_aes_key"]}
            if "wechat_api_base" not in self._given:  # a test or a developer may point it at a fake of their own
                fake = True
                update |= {"wechat_api_base": dev["wechat_api_base"], "wechat_open_base": dev["wechat_api_base"]}
                if not self.wechat_app_secret:
                    update["wechat_app_secret"] = dev["wechat_app_secret"]
        effective = self.model_copy(update=update)
        effective._source = self._source or self
        effective._dev_stamp = dev_credentials.stamp(self.var_dir)
        effective._dev_fake_wechat = fake
        return effective

    def refreshed(self) -> Settings:
        """Prepared again when the dev credentials file changed since (`serve` recorded its address); else self."""
        if self._source is None or self._dev_stamp is None or dev_credentials.stamp(self.var_dir) == self._dev_stamp:
            return self
        return self._source.prepared()

    @property
    def public_base_url_given(self) -> bool:
        """PUBLIC_BASE_URL was set; else dev mode takes the address `serve` recorded (or the default)."""
        return "public_base_url" in self._given

    @property
    def dev_fake_wechat(self) -> bool:
        """WeChat's API is the dev deployment's local fake (dev mode without a real account)."""
        return self._dev_fake_wechat

    @property
    def wechat_simulated(self) -> bool:
        """The /dev/wechat page is on: dev mode and generated (not real) WeChat credentials."""
        return self.is_dev and self.dev_wechat_simulator


def check_public_base_url(url: str) -> None:
    """Refuse a public address phones cannot use: not http(s), or the wildcard a server listens on."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or parts.hostname is None or parts.hostname in UNREACHABLE_HOSTS:
        raise ConfigurationError(f"PUBLIC_BASE_URL {url!r} must be an http(s) address phones can reach "
                                 "(not 0.0.0.0)")


def parse_limits(text: str) -> list[tuple[int, int]]:
    """`"1/60,5/300"` -> [(1, 60), (5, 300)]: at most `count` in any `seconds`; "" means no limit."""
    windows: list[tuple[int, int]] = []
    for part in filter(None, (p.strip() for p in text.split(","))):
        count, _, seconds = part.partition("/")
        if not (count.isdigit() and seconds.isdigit() and int(count) > 0 and int(seconds) > 0):
            raise ConfigurationError(f"limit {part!r} must read count/seconds, e.g. 5/300")
        windows.append((int(count), int(seconds)))
    return windows
