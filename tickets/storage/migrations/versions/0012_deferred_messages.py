"""deferred messages: pushes answered later when the gateway could not answer in time

Revision ID: 0012_deferred_messages
Revises: 0011_push_nonces
"""

import sqlalchemy as sa
from alembic import op

import tickets.storage.schema

revision = "0012_deferred_messages"
down_revision = "0011_push_nonces"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "deferred_messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("account", sa.String(length=64), nullable=False),
        sa.Column("dedupe_key", sa.String(length=255), nullable=False),
        sa.Column("message", sa.JSON().with_variant(sa.dialects.postgresql.JSONB(), "postgresql"), nullable=False),
        sa.Column("created_at", tickets.storage.schema.UTCDateTime(timezone=True), nullable=False),
        sa.Column("answered_at", tickets.storage.schema.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deferred_messages")),
        sa.UniqueConstraint("channel", "account", "dedupe_key",
                            name=op.f("uq_deferred_messages_channel_account_dedupe_key")),
    )


def downgrade() -> None:
    op.drop_table("deferred_messages")
