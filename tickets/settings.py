"""The one Settings class: read from the environment (and `.env`), validated at start-up.

It lives in the lowest layer because every process (web, worker, relay) builds one and passes
it in explicitly; nothing reads the environment anywhere else.
"""

from __future__ import annotations

import json
import secrets
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from tickets.errors import ConfigurationError

# Secrets that must never run outside dev: copied from docs and examples.
KNOWN_DEFAULT_SECRETS = frozenset({"", "change-me", "changeme", "secret", "dev", "please-change"})
WECHAT_API_BASE = "https://api.weixin.qq.com"
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
    public_base_url: str = "http://127.0.0.1:8000"
    timezone: str = "Asia/Shanghai"

    wechat_token: str = ""
    wechat_app_id: str = ""
    wechat_app_secret: str = ""
    wechat_aes_key: str = ""
    wechat_api_base: str = WECHAT_API_BASE
    # A push whose timestamp is further than this from now is refused; its nonce is remembered as long
    # (bots/wechat/replay.py). WeChat retries within about 15 s with the original timestamp.
    wechat_max_clock_skew_seconds: int = Field(default=300, ge=30, le=86400)

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
    cosign_ip_limits: str = "1/60,5/300"  # per IP and petition
    cosign_identity_limits: str = "3/60,10/3600"  # per signer, over all petitions
    otp_phone_limits: str = "1/60,5/3600"  # codes texted per phone number
    otp_ip_limits: str = "5/300,20/3600"  # codes asked per IP
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

    # Alipay mini-program (issue 5): session lifetime, uploaded photos (UPLOAD_DIR unset = VAR_DIR/uploads),
    # the hot-topic zones a request may name, and the message-service msg_methods that carry subscription
    # consent changes (confirm the names in the open-platform console; none are assumed).
    miniapp_session_minutes: int = Field(default=120, ge=5, le=1440)
    upload_dir: Path | None = None
    upload_max_bytes: int = Field(default=5 * 1024 * 1024, ge=1024)
    hot_topic_zones: list[str] = Field(default_factory=lambda: [
        "housing_delivery", "unpaid_wages", "legal_services", "winter_heating"])
    alipay_consent_methods: list[str] = Field(default_factory=list)
    # Routing (issue 7): a ticket whose best recommended unit is at least this sure goes to it without an
    # officer; the recommender learns from the units of this many recent tickets.
    routing_auto_dispatch_confidence: float = Field(default=0.6, ge=0.0, le=1.0)
    routing_learn_from: int = Field(default=1000, ge=0, le=20000)

    # Deadlines (issue 7): rules per zone and type, and the holidays files (catalogue/ when unset).
    deadline_rules_file: Path | None = None
    holidays_dir: Path | None = None
    # Similar-complaint clusters: Jaccard index of character bigrams, radius, time window, how many recent
    # open tickets are compared, and the cluster sizes of the warning levels.
    cluster_similarity: float = Field(default=0.3, gt=0, le=1)
    cluster_radius_m: float = Field(default=500.0, gt=0)
    cluster_window_hours: int = Field(default=72, ge=1, le=24 * 90)
    cluster_recent_limit: int = Field(default=300, ge=1, le=5000)
    cluster_warning_sizes: list[int] = Field(default_factory=lambda: [3, 5, 10])
    # The chat offers to follow a similar ticket nearby before a new one is confirmed.
    cluster_offer_in_chat: bool = True

    @property
    def uploads_path(self) -> Path:
        """Where uploaded photos are kept."""
        return self.upload_dir or self.var_dir / "uploads"

    @model_validator(mode="after")
    def _fill_defaults(self) -> Settings:
        if not self.database_url:
            self.database_url = f"sqlite:///{self.var_dir / 'gateway.db'}"
        self.public_base_url = self.public_base_url.rstrip("/")
        self.wechat_api_base = self.wechat_api_base.rstrip("/")
        for limits in (self.cosign_ip_limits, self.cosign_identity_limits, self.otp_phone_limits, self.otp_ip_limits):
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
    def tz(self) -> ZoneInfo:
        """The city's time zone, for display and for ticket numbers."""
        return ZoneInfo(self.timezone)

    @property
    def wechat_configured(self) -> bool:
        """Real WeChat credentials were given."""
        return bool(self.wechat_token and self.wechat_app_id)

    def prepared(self) -> Settings:
        """Validate for start-up and fill dev-only generated values; returns self.

        Outside dev a missing or known default SECRET_KEY is refused. In dev the secret and,
        when no WeChat account is configured, a WeChat token/AES key/AppID are generated once
        and kept under `var/` so restarts keep working links and the simulator.
        """
        if not self.is_dev:
            if self.secret_key in KNOWN_DEFAULT_SECRETS or len(self.secret_key) < 32:
                raise ConfigurationError("SECRET_KEY must be set to a random value of 32+ characters outside dev")
            return self
        self.var_dir.mkdir(parents=True, exist_ok=True)
        dev = _load_or_create(self.var_dir / "dev-credentials.json")
        if not self.secret_key:
            self.secret_key = dev["secret_key"]
        if not self.wechat_configured:
            self.wechat_token = dev["wechat_token"]
            self.wechat_app_id = dev["wechat_app_id"]
            self.wechat_aes_key = dev["wechat_aes_key"]
        else:
            self.dev_wechat_simulator = False
        return self

    @property
    def wechat_simulated(self) -> bool:
        """The /dev/wechat page is on: dev mode and generated (not real) WeChat credentials."""
        return self.is_dev and self.dev_wechat_simulator


def parse_limits(text: str) -> list[tuple[int, int]]:
    """`"1/60,5/300"` -> [(1, 60), (5, 300)]: at most `count` in any `seconds`; "" means no limit."""
    windows: list[tuple[int, int]] = []
    for part in filter(None, (p.strip() for p in text.split(","))):
        count, _, seconds = part.partition("/")
        if not (count.isdigit() and seconds.isdigit() and int(count) > 0 and int(seconds) > 0):
            raise ConfigurationError(f"limit {part!r} must read count/seconds, e.g. 5/300")
        windows.append((int(count), int(seconds)))
    return windows


def _load_or_create(path: Path) -> dict[str, str]:
    if path.exists():
        data: dict[str, str] = json.loads(path.read_text(encoding="utf-8"))
        return data
    data = {
        "secret_key": secrets.token_urlsafe(48),
        "wechat_token": secrets.token_urlsafe(24),
        "wechat_app_id": "wxdev" + secrets.token_hex(6),
        # An EncodingAESKey is 43 base64 characters (32 bytes without the trailing '=').
        "wechat_aes_key": secrets.token_urlsafe(32)[:43].replace("-", "A").replace("_", "B"),
    }
    path.write_text(json.dumps(data, indent=2), encoding="utf-8")
    path.chmod(0o600)
    return data
