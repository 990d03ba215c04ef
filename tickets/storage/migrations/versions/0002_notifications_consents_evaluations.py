"""notifications, consents, evaluations

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import tickets.storage.schema

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('consents',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('citizen_id', sa.Integer(), nullable=False),
    sa.Column('template_id', sa.String(length=128), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('updated_at', tickets.storage.schema.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['citizen_id'], ['citizens.id'], name=op.f('fk_consents_citizen_id_citizens')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_consents')),
    sa.UniqueConstraint('citizen_id', 'template_id', name=op.f('uq_consents_citizen_id_template_id'))
    )
    op.create_table('evaluations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('ticket_id', sa.Integer(), nullable=False),
    sa.Column('citizen_id', sa.Integer(), nullable=True),
    sa.Column('channel', sa.String(length=16), nullable=False),
    sa.Column('satisfaction', sa.String(length=16), nullable=False),
    sa.Column('solved', sa.Boolean(), nullable=False),
    sa.Column('reason', sa.Text(), server_default='', nullable=False),
    sa.Column('created_at', tickets.storage.schema.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['citizen_id'], ['citizens.id'], name=op.f('fk_evaluations_citizen_id_citizens')),
    sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], name=op.f('fk_evaluations_ticket_id_tickets')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_evaluations'))
    )
    with op.batch_alter_table('evaluations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_evaluations_ticket_id'), ['ticket_id'], unique=False)

    op.create_table('notifications',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('ticket_id', sa.Integer(), nullable=True),
    sa.Column('citizen_id', sa.Integer(), nullable=False),
    sa.Column('purpose', sa.String(length=32), nullable=False),
    sa.Column('event_id', sa.Integer(), nullable=True),
    sa.Column('payload', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('status', sa.String(length=16), server_default='pending', nullable=False),
    sa.Column('method', sa.String(length=16), server_default='', nullable=False),
    sa.Column('attempts', sa.Integer(), server_default='0', nullable=False),
    sa.Column('last_error', sa.Text(), server_default='', nullable=False),
    sa.Column('platform_msg_id', sa.String(length=64), nullable=True),
    sa.Column('receipt', sa.String(length=64), server_default='', nullable=False),
    sa.Column('created_at', tickets.storage.schema.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', tickets.storage.schema.UTCDateTime(timezone=True), nullable=False),
    sa.Column('sent_at', tickets.storage.schema.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['citizen_id'], ['citizens.id'], name=op.f('fk_notifications_citizen_id_citizens')),
    sa.ForeignKeyConstraint(['event_id'], ['ticket_events.id'], name=op.f('fk_notifications_event_id_ticket_events')),
    sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], name=op.f('fk_notifications_ticket_id_tickets')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notifications')),
    sa.UniqueConstraint('event_id', 'citizen_id', 'purpose', name=op.f('uq_notifications_event_id_citizen_id_purpose'))
    )
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_notifications_citizen_id'), ['citizen_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_notifications_platform_msg_id'), ['platform_msg_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_notifications_ticket_id'), ['ticket_id'], unique=False)

    with op.batch_alter_table('ticket_events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('unit', sa.String(length=128), server_default='', nullable=False))
        batch_op.add_column(sa.Column('expected_at', tickets.storage.schema.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('external_id', sa.String(length=128), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_ticket_events_external_id'), ['external_id'])

    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.add_column(sa.Column('unit', sa.String(length=128), server_default='', nullable=False))
        batch_op.add_column(sa.Column('expected_at', tickets.storage.schema.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('resolved_at', tickets.storage.schema.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('evaluation_asked_at', tickets.storage.schema.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('evaluation_asks', sa.Integer(), server_default='0', nullable=False))



def downgrade() -> None:
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.drop_column('evaluation_asks')
        batch_op.drop_column('evaluation_asked_at')
        batch_op.drop_column('resolved_at')
        batch_op.drop_column('expected_at')
        batch_op.drop_column('unit')

    with op.batch_alter_table('ticket_events', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_ticket_events_external_id'), type_='unique')
        batch_op.drop_column('external_id')
        batch_op.drop_column('expected_at')
        batch_op.drop_column('unit')

    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_notifications_ticket_id'))
        batch_op.drop_index(batch_op.f('ix_notifications_platform_msg_id'))
        batch_op.drop_index(batch_op.f('ix_notifications_citizen_id'))

    op.drop_table('notifications')
    with op.batch_alter_table('evaluations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_evaluations_ticket_id'))

    op.drop_table('evaluations')
    op.drop_table('consents')
