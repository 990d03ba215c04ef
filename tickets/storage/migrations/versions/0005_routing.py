"""routing: catalogue versions, ticket classification, officers' corrections

Revision ID: 0005_routing
Revises: 0004
Create Date: 2026-11-24 09:00:00
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import tickets.storage.schema

revision = '0005_routing'
down_revision = '0004'
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql')


def upgrade() -> None:
    op.create_table('routing_catalogues',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('version', sa.String(length=64), nullable=False),
    sa.Column('body', JSON, nullable=False),
    sa.Column('created_by', sa.String(length=64), server_default='', nullable=False),
    sa.Column('created_at', tickets.storage.schema.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_routing_catalogues'))
    )
    op.create_index(op.f('ix_routing_catalogues_version'), 'routing_catalogues', ['version'], unique=False)
    op.create_table('ticket_routing',
    sa.Column('ticket_id', sa.Integer(), nullable=False),
    sa.Column('catalogue_version', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('zone', sa.String(length=32), server_default='', nullable=False),
    sa.Column('category', sa.String(length=32), server_default='', nullable=False),
    sa.Column('urgency', sa.String(length=16), nullable=False),
    sa.Column('district', sa.String(length=32), server_default='', nullable=False),
    sa.Column('out_of_scope', JSON, nullable=False),
    sa.Column('recommendations', JSON, nullable=False),
    sa.Column('top_unit', sa.String(length=64), server_default='', nullable=False),
    sa.Column('confidence', sa.Float(), server_default='0', nullable=False),
    sa.Column('auto_dispatch', sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.Column('final_unit', sa.String(length=128), server_default='', nullable=False),
    sa.Column('final_at', tickets.storage.schema.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', tickets.storage.schema.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], name=op.f('fk_ticket_routing_ticket_id_tickets')),
    sa.PrimaryKeyConstraint('ticket_id', name=op.f('pk_ticket_routing'))
    )
    op.create_index(op.f('ix_ticket_routing_created_at'), 'ticket_routing', ['created_at'], unique=False)
    op.create_table('routing_corrections',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('ticket_id', sa.Integer(), nullable=False),
    sa.Column('unit', sa.String(length=128), nullable=False),
    sa.Column('previous_unit', sa.String(length=128), server_default='', nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('actor', sa.String(length=64), nullable=False),
    sa.Column('created_at', tickets.storage.schema.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], name=op.f('fk_routing_corrections_ticket_id_tickets')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_routing_corrections'))
    )
    op.create_index(op.f('ix_routing_corrections_ticket_id'), 'routing_corrections', ['ticket_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_routing_corrections_ticket_id'), table_name='routing_corrections')
    op.drop_table('routing_corrections')
    op.drop_index(op.f('ix_ticket_routing_created_at'), table_name='ticket_routing')
    op.drop_table('ticket_routing')
    op.drop_index(op.f('ix_routing_catalogues_version'), table_name='routing_catalogues')
    op.drop_table('routing_catalogues')
