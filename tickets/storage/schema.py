"""The tables, as SQLAlchemy Core (the hot path uses Core; see docs/performance.md)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Dialect

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)


class UTCDateTime(sa.TypeDecorator[datetime]):
    """A timezone-aware UTC datetime on every backend (SQLite keeps no offset)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


JSONData: sa.types.TypeEngine[Any] = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")

citizens = sa.Table(
    "citizens",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("channel", sa.String(16), nullable=False),
    sa.Column("account", sa.String(64), nullable=False),
    sa.Column("external_id", sa.String(128), nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("last_seen_at", UTCDateTime, nullable=False),
    # When the citizen last wrote to us (opens WeChat's 48-hour customer-service window).
    sa.Column("last_message_at", UTCDateTime),
    sa.Column("following", sa.Boolean, nullable=False, server_default=sa.true()),
    # Conversation state (bots/state.py): durable, per citizen, with a time-to-live.
    sa.Column("dialog_state", sa.String(32), nullable=False, server_default="idle"),
    sa.Column("dialog_data", JSONData, nullable=False, server_default="{}"),
    sa.Column("dialog_updated_at", UTCDateTime),
    sa.Column("draft_reminded_at", UTCDateTime),
    sa.UniqueConstraint("channel", "account", "external_id"),
)

tickets = sa.Table(
    "tickets",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("number", sa.String(24), nullable=False, unique=True),
    sa.Column("tracking_code", sa.String(16), nullable=False, unique=True),
    sa.Column("channel", sa.String(16), nullable=False),
    sa.Column("citizen_id", sa.Integer, sa.ForeignKey("citizens.id"), nullable=True),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("description", sa.Text, nullable=False),
    sa.Column("address", sa.String(255), nullable=False, server_default=""),
    sa.Column("latitude", sa.Float),
    sa.Column("longitude", sa.Float),
    sa.Column("location_label", sa.String(255), nullable=False, server_default=""),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sa.Column("unit", sa.String(128), nullable=False, server_default=""),
    sa.Column("expected_at", UTCDateTime),
    sa.Column("resolved_at", UTCDateTime),
    # Evaluation rounds: when the citizen was last asked, and how often (asked once more, then closed).
    sa.Column("evaluation_asked_at", UTCDateTime),
    sa.Column("evaluation_asks", sa.Integer, nullable=False, server_default="0"),
    # Hot-topic zone the citizen named (housing_delivery, unpaid_wages ...), "" for none.
    sa.Column("zone", sa.String(32), nullable=False, server_default=""),
    # "urgent" when the triage found a danger now (language/triage): first in the console, shortest deadline.
    sa.Column("urgency", sa.String(16), nullable=False, server_default="normal"),
    # The citizen asked to keep their identity from the units (举报): the dispatch system gets no reference.
    sa.Column("confidential", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Index(None, "status", "created_at"),
    sa.Index("ix_tickets_urgency_created_at", "urgency", "created_at"),
    sa.Index(None, "citizen_id", "created_at"),
    sa.Index(None, "channel", "created_at"),
)

ticket_events = sa.Table(
    "ticket_events",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("ticket_id", sa.Integer, sa.ForeignKey("tickets.id"), nullable=False, index=True),
    sa.Column("status_from", sa.String(16)),
    sa.Column("status_to", sa.String(16), nullable=False),
    sa.Column("actor", sa.String(64), nullable=False),
    sa.Column("note", sa.Text, nullable=False, server_default=""),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("unit", sa.String(128), nullable=False, server_default=""),
    sa.Column("expected_at", UTCDateTime),
    # The dispatch system's own event id: a repeated call changes nothing.
    sa.Column("external_id", sa.String(128), unique=True),
)

attachments = sa.Table(
    "attachments",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("ticket_id", sa.Integer, sa.ForeignKey("tickets.id"), nullable=False, index=True),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("media_id", sa.String(255), nullable=False, server_default=""),
    sa.Column("url", sa.String(1024), nullable=False, server_default=""),
    sa.Column("note", sa.Text, nullable=False, server_default=""),
    sa.Column("created_at", UTCDateTime, nullable=False),
)

inbound_messages = sa.Table(
    "inbound_messages",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("channel", sa.String(16), nullable=False),
    sa.Column("account", sa.String(64), nullable=False),
    # The platform's message id, or user + time + event + key for events: a retry collides here.
    sa.Column("dedupe_key", sa.String(255), nullable=False),
    # NULL for a platform notification that names no citizen (an Alipay msg_method about the app).
    sa.Column("citizen_id", sa.Integer, sa.ForeignKey("citizens.id"), nullable=True, index=True),
    sa.Column("kind", sa.String(24), nullable=False),
    sa.Column("payload", JSONData, nullable=False),
    # The replies given, so a retry gets the same answer.
    sa.Column("replies", JSONData, nullable=False),
    sa.Column("ticket_id", sa.Integer, sa.ForeignKey("tickets.id")),
    sa.Column("received_at", UTCDateTime, nullable=False),
    sa.UniqueConstraint("channel", "account", "dedupe_key"),
)

outbox = sa.Table(
    "outbox",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("topic", sa.String(64), nullable=False),
    sa.Column("payload", JSONData, nullable=False),
    sa.Column("status", sa.String(16), nullable=False, server_default="pending"),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("last_error", sa.Text, nullable=False, server_default=""),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("available_at", UTCDateTime, nullable=False),
    sa.Column("done_at", UTCDateTime),
    sa.Index(None, "status", "available_at"),
)

api_keys = sa.Table(
    "api_keys",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("name", sa.String(64), nullable=False, unique=True),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("prefix", sa.String(16), nullable=False),
    sa.Column("key_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("revoked_at", UTCDateTime),
)

counters = sa.Table(
    "counters",
    metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("value", sa.Integer, nullable=False),
)

access_tokens = sa.Table(
    "access_tokens",
    metadata,
    # One row per platform account ("wechat:<appid>"): the single shared access token.
    sa.Column("account", sa.String(96), primary_key=True),
    sa.Column("token", sa.String(1024), nullable=False, server_default=""),
    sa.Column("expires_at", UTCDateTime, nullable=False),
    sa.Column("refreshed_at", UTCDateTime),
)

notifications = sa.Table(
    "notifications",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("ticket_id", sa.Integer, sa.ForeignKey("tickets.id"), index=True),
    sa.Column("citizen_id", sa.Integer, sa.ForeignKey("citizens.id"), nullable=False, index=True),
    # What it says: progress, evaluation, evaluation_reminder, reopened ... (templates/messages/push_*.j2)
    sa.Column("purpose", sa.String(32), nullable=False),
    # The timeline event it tells of: one notification per event and citizen.
    sa.Column("event_id", sa.Integer, sa.ForeignKey("ticket_events.id")),
    sa.Column("payload", JSONData, nullable=False),
    sa.Column("status", sa.String(16), nullable=False, server_default="pending"),
    sa.Column("method", sa.String(16), nullable=False, server_default=""),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("last_error", sa.Text, nullable=False, server_default=""),
    sa.Column("platform_msg_id", sa.String(64), index=True),
    sa.Column("receipt", sa.String(64), nullable=False, server_default=""),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sa.Column("sent_at", UTCDateTime),
    sa.UniqueConstraint("event_id", "citizen_id", "purpose"),
)

consents = sa.Table(
    "consents",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("citizen_id", sa.Integer, sa.ForeignKey("citizens.id"), nullable=False),
    sa.Column("template_id", sa.String(128), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),  # accept / reject
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sa.UniqueConstraint("citizen_id", "template_id"),
)

evaluations = sa.Table(
    "evaluations",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("ticket_id", sa.Integer, sa.ForeignKey("tickets.id"), nullable=False, index=True),
    sa.Column("citizen_id", sa.Integer, sa.ForeignKey("citizens.id")),
    sa.Column("channel", sa.String(16), nullable=False),
    sa.Column("satisfaction", sa.String(16), nullable=False),  # satisfied / basically / unsatisfied
    sa.Column("solved", sa.Boolean, nullable=False),
    sa.Column("reason", sa.Text, nullable=False, server_default=""),
    sa.Column("created_at", UTCDateTime, nullable=False),
)

petitions = sa.Table(
    "petitions",
    metadata,
    # A joint petition (联名) grows from one ticket; its representative filed that ticket.
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("ticket_id", sa.Integer, sa.ForeignKey("tickets.id"), nullable=False, unique=True),
    sa.Column("representative_id", sa.Integer, sa.ForeignKey("citizens.id")),
    sa.Column("title", sa.String(64), nullable=False),
    # Hot-topic zone (housing_delivery, unpaid_wages ...): picks the warning thresholds.
    sa.Column("zone", sa.String(32), nullable=False, server_default=""),
    sa.Column("status", sa.String(16), nullable=False, server_default="open"),  # open / closed / expired
    # Counters, kept in the signing transaction (COUNT(*) per request grows with the petition).
    sa.Column("signature_count", sa.Integer, nullable=False, server_default="0"),  # trusted, not withdrawn
    sa.Column("flagged_count", sa.Integer, nullable=False, server_default="0"),  # in a surge: under review
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sa.Column("expires_at", UTCDateTime, nullable=False),
    sa.Column("closed_at", UTCDateTime),
    # Why it stopped taking signatures: representative, officer, expired, or ticket_closed / ticket_rejected /
    # ticket_merged when it ended with its ticket (tickets/petitions.py, follow_ticket); "" while open.
    sa.Column("closed_reason", sa.String(16), nullable=False, server_default=""),
    sa.Column("last_signed_at", UTCDateTime),
    # WeChat: the parametric QR code (QR_STR_SCENE) and the card uploaded as temporary media.
    sa.Column("wechat_scene", sa.String(64), unique=True),
    sa.Column("wechat_qr_url", sa.String(255), nullable=False, server_default=""),
    sa.Column("wechat_qr_expires_at", UTCDateTime),
    sa.Column("wechat_media_id", sa.String(255), nullable=False, server_default=""),
    sa.Column("wechat_media_at", UTCDateTime),
    sa.Index(None, "status", "expires_at"),
)

signatures = sa.Table(
    "signatures",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("petition_id", sa.Integer, sa.ForeignKey("petitions.id"), nullable=False),
    # "{kind}:{keyed hash of the openid, Alipay user id or phone number}": one signature per identity.
    sa.Column("identity", sa.String(64), nullable=False),
    sa.Column("channel", sa.String(16), nullable=False),  # wechat / alipay / sms
    # Set when the signer can be told of progress (consented, and reachable on that channel).
    sa.Column("citizen_id", sa.Integer, sa.ForeignKey("citizens.id")),
    sa.Column("name", sa.String(32), nullable=False, server_default=""),  # optional, shown masked
    sa.Column("consent", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("status", sa.String(16), nullable=False, server_default="signed"),  # signed / withdrawn
    # Keyed hashes of the network block and the device cookie: surge detection without keeping addresses.
    sa.Column("source_block", sa.String(40), nullable=False, server_default=""),
    sa.Column("device", sa.String(40), nullable=False, server_default=""),
    sa.Column("flagged", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("flag_reason", sa.String(64), nullable=False, server_default=""),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sa.UniqueConstraint("petition_id", "identity"),
    sa.Index(None, "petition_id", "source_block", "created_at"),
    sa.Index(None, "petition_id", "device", "created_at"),
    sa.Index(None, "petition_id", "created_at"),
    sa.Index(None, "citizen_id"),
)

warnings = sa.Table(
    "warnings",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    # What it is about: "petition:{id}" (and, later, similar-complaint clusters).
    sa.Column("subject", sa.String(64), nullable=False),
    sa.Column("petition_id", sa.Integer, sa.ForeignKey("petitions.id")),
    sa.Column("kind", sa.String(16), nullable=False),  # threshold / velocity
    sa.Column("level", sa.Integer, nullable=False),
    sa.Column("zone", sa.String(32), nullable=False, server_default=""),
    sa.Column("figures", JSONData, nullable=False),  # the numbers behind it
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("acknowledged_at", UTCDateTime),
    sa.Column("acknowledged_by", sa.String(64), nullable=False, server_default=""),
    sa.Column("ack_note", sa.Text, nullable=False, server_default=""),
    sa.UniqueConstraint("subject", "kind", "level"),  # raised once per level
    sa.Index(None, "acknowledged_at", "created_at"),
)

one_time_codes = sa.Table(
    "one_time_codes",
    metadata,
    # Codes texted to a phone to prove it; only keyed hashes of the number and the code are kept.
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("phone_hash", sa.String(64), nullable=False),
    sa.Column("code_hash", sa.String(64), nullable=False),
    sa.Column("purpose", sa.String(32), nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("expires_at", UTCDateTime, nullable=False),
    sa.Column("used_at", UTCDateTime),
    sa.Index(None, "phone_hash", "created_at"),
)

# --- Officers' console (issue 6): users with roles, and their server-side sessions. ---
users = sa.Table(
    "users",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("username", sa.String(64), nullable=False, unique=True),
    sa.Column("role", sa.String(16), nullable=False),  # admin / operator / viewer
    sa.Column("password_hash", sa.String(255), nullable=False),  # argon2id, with its parameters and salt
    # Written by the lock-out that sign-in no longer has (gateway/console/throttle.py slows down instead);
    # read by nothing, kept so that the schema needs no migration for it.
    sa.Column("failed_attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("locked_until", UTCDateTime),
    sa.Column("disabled", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("last_login_at", UTCDateTime),
)

console_sessions = sa.Table(
    "console_sessions",
    metadata,
    # SHA-256 of the random token the cookie carries: a database leak gives no usable session.
    sa.Column("token_hash", sa.String(64), primary_key=True),
    sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id"), nullable=False, index=True),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("expires_at", UTCDateTime, nullable=False, index=True),
)

# Routing (issue 7): the catalogue's versions, each ticket's classification, and officers' corrections.
routing_catalogues = sa.Table(
    "routing_catalogues",
    metadata,
    # Versions of the routing catalogue (派单目录) saved by admins; the newest row is in force, the file
    # in the repository (catalogue/routing.toml) until there is none.
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("version", sa.String(64), nullable=False, index=True),
    sa.Column("body", JSONData, nullable=False),
    sa.Column("created_by", sa.String(64), nullable=False, server_default=""),
    sa.Column("created_at", UTCDateTime, nullable=False),
)

ticket_routing = sa.Table(
    "ticket_routing",
    metadata,
    # One row per ticket: what the classifier said when it was opened, and the unit it ended with.
    sa.Column("ticket_id", sa.Integer, sa.ForeignKey("tickets.id"), primary_key=True),
    sa.Column("catalogue_version", sa.String(64), nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),  # consultation / help / complaint / report / suggestion
    sa.Column("zone", sa.String(32), nullable=False, server_default=""),
    sa.Column("category", sa.String(32), nullable=False, server_default=""),
    sa.Column("urgency", sa.String(16), nullable=False),
    sa.Column("district", sa.String(32), nullable=False, server_default=""),
    sa.Column("out_of_scope", JSONData, nullable=False),  # ["fire", "litigation" ...]
    sa.Column("recommendations", JSONData, nullable=False),  # [{"unit", "name", "score", "reasons"}], best first
    sa.Column("top_unit", sa.String(64), nullable=False, server_default=""),
    sa.Column("confidence", sa.Float, nullable=False, server_default="0"),
    sa.Column("auto_dispatch", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("final_unit", sa.String(128), nullable=False, server_default=""),
    sa.Column("final_at", UTCDateTime),
    sa.Column("created_at", UTCDateTime, nullable=False),
    # The triage decision (language/triage: kind, concepts, services, reasons, what was set aside).
    sa.Column("triage", JSONData, nullable=False, server_default=sa.text("'{}'")),
    # Where (language/places) and what (kind of body and object): duplicates are the same place and problem.
    sa.Column("district_source", sa.String(16), nullable=False, server_default=""),
    sa.Column("place", sa.String(255), nullable=False, server_default=""),
    sa.Column("place_keys", JSONData, nullable=False, server_default=sa.text("'[]'")),
    sa.Column("problem", sa.String(64), nullable=False, server_default=""),
    sa.Column("model_version", sa.String(64), nullable=False, server_default=""),
    sa.Column("vague", sa.Boolean, nullable=False, server_default=sa.false()),
    # What an officer said the ticket is, when they corrected or confirmed it ("" = not reviewed; zone "-" = none).
    sa.Column("final_type", sa.String(16), nullable=False, server_default=""),
    sa.Column("final_zone", sa.String(32), nullable=False, server_default=""),
    sa.Column("final_district", sa.String(32), nullable=False, server_default=""),
    sa.Index(None, "created_at"),
)

consultations = sa.Table(
    "consultations",
    metadata,
    # A question answered at once from the knowledge base (即问即答), without a ticket: the "online answer" rate.
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("channel", sa.String(16), nullable=False),
    sa.Column("citizen_id", sa.Integer, sa.ForeignKey("citizens.id")),
    sa.Column("entry", sa.String(64), nullable=False),
    sa.Column("topic", sa.String(32), nullable=False),
    sa.Column("question", sa.Text, nullable=False),  # personal data masked
    sa.Column("helped", sa.Boolean),  # None until the citizen says; False when they went on to file
    sa.Column("created_at", UTCDateTime, nullable=False, index=True),
)

routing_models = sa.Table(
    "routing_models",
    metadata,
    # The learned routing models of a catalogue version: trained on its examples and officers' corrections
    # up to `last_correction_id` (tickets/routing/learned.py); the newest row of a version is in force.
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("catalogue_version", sa.String(64), nullable=False, index=True),
    sa.Column("version", sa.String(64), nullable=False),
    sa.Column("examples", sa.Integer, nullable=False),
    sa.Column("corrections", sa.Integer, nullable=False),
    sa.Column("last_correction_id", sa.Integer, nullable=False, server_default="0"),
    sa.Column("figures", JSONData, nullable=False),
    sa.Column("body", sa.LargeBinary, nullable=False),
    sa.Column("trained_at", UTCDateTime, nullable=False),
)

routing_corrections = sa.Table(
    "routing_corrections",
    metadata,
    # Every unit an officer or the dispatch system gave a ticket: what the recommender learns from.
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("ticket_id", sa.Integer, sa.ForeignKey("tickets.id"), nullable=False, index=True),
    sa.Column("unit", sa.String(128), nullable=False),
    sa.Column("previous_unit", sa.String(128), nullable=False, server_default=""),
    sa.Column("text", sa.Text, nullable=False),  # the ticket's text, personal data masked
    sa.Column("actor", sa.String(64), nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
)

# Deadlines and similar-complaint clusters (issue 7, second half).
ticket_deadlines = sa.Table(
    "ticket_deadlines",
    metadata,
    # One row per ticket: when an answer is due (tickets/deadlines/policy.py), and when the reminder and the
    # escalation went out (each once per due time; a new due time starts afresh).
    sa.Column("ticket_id", sa.Integer, sa.ForeignKey("tickets.id"), primary_key=True),
    sa.Column("rule", sa.String(80), nullable=False),  # "zone/type" of the rule that matched ("" = any)
    sa.Column("due_at", UTCDateTime, nullable=False),
    sa.Column("remind_at", UTCDateTime, nullable=False),
    sa.Column("reminded_at", UTCDateTime),
    sa.Column("escalated_at", UTCDateTime),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Index(None, "remind_at"),
    sa.Index(None, "due_at"),
)

clusters = sa.Table(
    "clusters",
    metadata,
    # Similar independent tickets (same topic, place and time) that nobody organised (tickets/clusters.py).
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("zone", sa.String(32), nullable=False, server_default=""),
    sa.Column("size", sa.Integer, nullable=False, server_default="0"),
    sa.Column("status", sa.String(16), nullable=False, server_default="open"),  # open / merged
    sa.Column("primary_ticket_id", sa.Integer, sa.ForeignKey("tickets.id")),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
)

cluster_members = sa.Table(
    "cluster_members",
    metadata,
    # A ticket belongs to at most one cluster; `checked_at` rows without a cluster were compared and matched
    # nothing (so the sweep looks at each ticket once).
    sa.Column("ticket_id", sa.Integer, sa.ForeignKey("tickets.id"), primary_key=True),
    sa.Column("cluster_id", sa.Integer, sa.ForeignKey("clusters.id"), index=True),
    sa.Column("score", sa.Float, nullable=False, server_default="0"),
    # Why it belongs with the cluster's first ticket: the place they share and the problem (language/routing).
    sa.Column("reasons", JSONData, nullable=False, server_default=sa.text("'[]'")),
    # Set when an officer merged this ticket into another: its citizens hear that ticket's progress.
    sa.Column("merged_into", sa.Integer, sa.ForeignKey("tickets.id"), index=True),
    sa.Column("checked_at", UTCDateTime, nullable=False),
)

ticket_followers = sa.Table(
    "ticket_followers",
    metadata,
    # Citizens who chose to follow an existing ticket instead of filing the same problem again.
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("ticket_id", sa.Integer, sa.ForeignKey("tickets.id"), nullable=False),
    sa.Column("citizen_id", sa.Integer, sa.ForeignKey("citizens.id"), nullable=False, index=True),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.UniqueConstraint("ticket_id", "citizen_id"),
)

deferred_messages = sa.Table(
    "deferred_messages",
    metadata,
    # A push the gateway could not answer in time (bots/intake.py `defer`): answered later by a job. One row per
    # message, however often the platform sends it; the message is dropped from the row once answered.
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("channel", sa.String(16), nullable=False),
    sa.Column("account", sa.String(64), nullable=False),
    sa.Column("dedupe_key", sa.String(255), nullable=False),
    sa.Column("message", JSONData, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("answered_at", UTCDateTime),
    # Whose message (the platform's user id) while it waits: the citizen's next messages wait behind it, so a
    # conversation keeps its order (bots/intake.py `handle_in_order`). Cleared with the message once answered.
    sa.Column("user_id", sa.String(128)),
    # Kept because it waited too long for the web's event loop (the web was shedding load), not because an earlier
    # message of its citizen waits: while such messages keep coming, their answers wait (workers/relay.py).
    sa.Column("late", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.UniqueConstraint("channel", "account", "dedupe_key"),
    sa.Index(None, "channel", "account", "user_id"),
    sa.Index(None, "late", "created_at"),
)

push_nonces = sa.Table(
    "push_nonces",
    metadata,
    # Replay protection of WeChat pushes (bots/wechat/replay.py): each "<timestamp>:<nonce>" seen, bound to a
    # fingerprint of the message it carried, kept while its timestamp is inside the accepted window.
    sa.Column("key", sa.String(96), primary_key=True),
    sa.Column("fingerprint", sa.String(64), nullable=False),
    sa.Column("expires_at", UTCDateTime, nullable=False, index=True),
)
