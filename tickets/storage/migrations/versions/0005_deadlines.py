"""deadlines, similar-complaint clusters, ticket followers

Revision ID: 0005_deadlines
Revises: 0004
Create Date: 2026-11-24 10:00:00
"""

import sqlalchemy as sa
from alembic import op

import tickets.storage.schema

revision = '0005_deadlines'
down_revision = '0004'
branch_labels = None
depends_on = None

UTC = tickets.storage.schema.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table('ticket_deadlines',
    sa.Column('ticket_id', sa.Integer(), nullable=False),
    sa.Column('rule', sa.String(length=80), nullable=False),
    sa.Column('due_at', UTC, nullable=False),
    sa.Column('remind_at', UTC, nullable=False),
    sa.Column('reminded_at', UTC, nullable=True),
    sa.Column('escalated_at', UTC, nullable=True),
    sa.Column('created_at', UTC, nullable=False),
    sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], name=op.f('fk_ticket_deadlines_ticket_id_tickets')),
    sa.PrimaryKeyConstraint('ticket_id', name=op.f('pk_ticket_deadlines'))
    )
    op.create_index(op.f('ix_ticket_deadlines_remind_at'), 'ticket_deadlines', ['remind_at'], unique=False)
    op.create_index(op.f('ix_ticket_deadlines_due_at'), 'ticket_deadlines', ['due_at'], unique=False)
    op.create_table('clusters',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('zone', sa.String(length=32), server_default='', nullable=False),
    sa.Column('size', sa.Integer(), server_default='0', nullable=False),
    sa.Column('status', sa.String(length=16), server_default='open', nullable=False),
    sa.Column('primary_ticket_id', sa.Integer(), nullable=True),
    sa.Column('created_at', UTC, nullable=False),
    sa.Column('updated_at', UTC, nullable=False),
    sa.ForeignKeyConstraint(['primary_ticket_id'], ['tickets.id'], name=op.f('fk_clusters_primary_ticket_id_tickets')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_clusters'))
    )
    op.create_table('cluster_members',
    sa.Column('ticket_id', sa.Integer(), nullable=False),
    sa.Column('cluster_id', sa.Integer(), nullable=True),
    sa.Column('score', sa.Float(), server_default='0', nullable=False),
    sa.Column('merged_into', sa.Integer(), nullable=True),
    sa.Column('checked_at', UTC, nullable=False),
    sa.ForeignKeyConstraint(['cluster_id'], ['clusters.id'], name=op.f('fk_cluster_members_cluster_id_clusters')),
    sa.ForeignKeyConstraint(['merged_into'], ['tickets.id'], name=op.f('fk_cluster_members_merged_into_tickets')),
    sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], name=op.f('fk_cluster_members_ticket_id_tickets')),
    sa.PrimaryKeyConstraint('ticket_id', name=op.f('pk_cluster_members'))
    )
    op.create_index(op.f('ix_cluster_members_cluster_id'), 'cluster_members', ['cluster_id'], unique=False)
    op.create_index(op.f('ix_cluster_members_merged_into'), 'cluster_members', ['merged_into'], unique=False)
    op.create_table('ticket_followers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('ticket_id', sa.Integer(), nullable=False),
    sa.Column('citizen_id', sa.Integer(), nullable=False),
    sa.Column('created_at', UTC, nullable=False),
    sa.ForeignKeyConstraint(['citizen_id'], ['citizens.id'], name=op.f('fk_ticket_followers_citizen_id_citizens')),
    sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], name=op.f('fk_ticket_followers_ticket_id_tickets')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ticket_followers')),
    sa.UniqueConstraint('ticket_id', 'citizen_id', name=op.f('uq_ticket_followers_ticket_id_citizen_id'))
    )
    op.create_index(op.f('ix_ticket_followers_citizen_id'), 'ticket_followers', ['citizen_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_ticket_followers_citizen_id'), table_name='ticket_followers')
    op.drop_table('ticket_followers')
    op.drop_index(op.f('ix_cluster_members_merged_into'), table_name='cluster_members')
    op.drop_index(op.f('ix_cluster_members_cluster_id'), table_name='cluster_members')
    op.drop_table('cluster_members')
    op.drop_table('clusters')
    op.drop_index(op.f('ix_ticket_deadlines_due_at'), table_name='ticket_deadlines')
    op.drop_index(op.f('ix_ticket_deadlines_remind_at'), table_name='ticket_deadlines')
    op.drop_table('ticket_deadlines')
