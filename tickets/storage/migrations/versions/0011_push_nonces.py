"""push nonces: replay protection of WeChat pushes

Revision ID: 0011_push_nonces
Revises: 0010_petition_closed_reason
"""

import sqlalchemy as sa
from alembic import op

import tickets.storage.schema

revision = "0011_push_nonces"
down_revision = "0010_petition_closed_reason"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "push_nonces",
        sa.Column("key", sa.String(length=96), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("expires_at", tickets.storage.schema.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_push_nonces")),
    )
    op.create_index(op.f("ix_push_nonces_expires_at"), "push_nonces", ["expires_at"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_push_nonces_expires_at"), table_name="push_nonces")
    op.drop_table("push_nonces")
