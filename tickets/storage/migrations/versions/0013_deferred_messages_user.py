"""deferred messages: whose message waits, so the citizen's next messages wait behind it

Revision ID: 0013_deferred_messages_user
Revises: 0012_deferred_messages
"""

import sqlalchemy as sa
from alembic import op

revision = "0013_deferred_messages_user"
down_revision = "0012_deferred_messages"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("deferred_messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("user_id", sa.String(length=128), nullable=True))
        batch_op.create_index(batch_op.f("ix_deferred_messages_channel_account_user_id"),
                              ["channel", "account", "user_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("deferred_messages", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_deferred_messages_channel_account_user_id"))
        batch_op.drop_column("user_id")
