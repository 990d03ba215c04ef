"""why a petition stopped taking signatures (it may end with its ticket)

Revision ID: 0010_petition_closed_reason
Revises: 0009_petition_titles_masked
Create Date: 2026-12-07 10:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = '0010_petition_closed_reason'
down_revision = '0009_petition_titles_masked'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('petitions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('closed_reason', sa.String(length=16), server_default='', nullable=False))
    # Petitions that ended before the reason was kept: expired ones say so; the others were closed by hand.
    op.execute("UPDATE petitions SET closed_reason = 'expired' WHERE status = 'expired'")
    op.execute("UPDATE petitions SET closed_reason = 'representative' WHERE status = 'closed'")


def downgrade() -> None:
    with op.batch_alter_table('petitions', schema=None) as batch_op:
        batch_op.drop_column('closed_reason')
