"""triage: a ticket's urgency, and the triage decision kept with its classification

Revision ID: 0007_triage
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0007_triage"
down_revision = "0006"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("tickets") as batch:
        batch.add_column(sa.Column("urgency", sa.String(length=16), server_default="normal", nullable=False))
        batch.create_index("ix_tickets_urgency_created_at", ["urgency", "created_at"])
    with op.batch_alter_table("ticket_routing") as batch:
        batch.add_column(sa.Column("triage", JSON, server_default=sa.text("'{}'"), nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("ticket_routing") as batch:
        batch.drop_column("triage")
    with op.batch_alter_table("tickets") as batch:
        batch.drop_index("ix_tickets_urgency_created_at")
        batch.drop_column("urgency")
