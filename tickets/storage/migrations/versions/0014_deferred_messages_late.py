"""deferred messages: which were kept because the web was shedding load, so their answers wait while it does

Revision ID: 0014_deferred_messages_late
Revises: 0013_deferred_messages_user
"""

import sqlalchemy as sa
from alembic import op

revision = "0014_deferred_messages_late"
down_revision = "0013_deferred_messages_user"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("deferred_messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("late", sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.create_index(batch_op.f("ix_deferred_messages_late_created_at"), ["late", "created_at"],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table("deferred_messages", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_deferred_messages_late_created_at"))
        batch_op.drop_column("late")
