"""routing models: learned models per catalogue version; the place and problem of each classified ticket

Revision ID: 0008_routing_models
Revises: 0007_triage
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import tickets.storage.schema

revision = "0008_routing_models"
down_revision = "0007_triage"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    op.create_table(
        "routing_models",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("catalogue_version", sa.String(length=64), nullable=False),
        sa.Column("version", sa.String(length=64), nullable=False),
        sa.Column("examples", sa.Integer(), nullable=False),
        sa.Column("corrections", sa.Integer(), nullable=False),
        sa.Column("last_correction_id", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("figures", JSON, nullable=False),
        sa.Column("body", sa.LargeBinary(), nullable=False),
        sa.Column("trained_at", tickets.storage.schema.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_routing_models")),
    )
    op.create_index(op.f("ix_routing_models_catalogue_version"), "routing_models", ["catalogue_version"])
    with op.batch_alter_table("ticket_routing") as batch:
        batch.add_column(sa.Column("district_source", sa.String(length=16), server_default="", nullable=False))
        batch.add_column(sa.Column("place", sa.String(length=255), server_default="", nullable=False))
        batch.add_column(sa.Column("place_keys", JSON, server_default=sa.text("'[]'"), nullable=False))
        batch.add_column(sa.Column("problem", sa.String(length=64), server_default="", nullable=False))
        batch.add_column(sa.Column("model_version", sa.String(length=64), server_default="", nullable=False))
        batch.add_column(sa.Column("vague", sa.Boolean(), server_default=sa.false(), nullable=False))
        batch.add_column(sa.Column("final_type", sa.String(length=16), server_default="", nullable=False))
        batch.add_column(sa.Column("final_zone", sa.String(length=32), server_default="", nullable=False))
        batch.add_column(sa.Column("final_district", sa.String(length=32), server_default="", nullable=False))
    with op.batch_alter_table("cluster_members") as batch:
        batch.add_column(sa.Column("reasons", JSON, server_default=sa.text("'[]'"), nullable=False))
    with op.batch_alter_table("tickets") as batch:
        batch.add_column(sa.Column("confidential", sa.Boolean(), server_default=sa.false(), nullable=False))
    op.create_table(
        "consultations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("citizen_id", sa.Integer(), nullable=True),
        sa.Column("entry", sa.String(length=64), nullable=False),
        sa.Column("topic", sa.String(length=32), nullable=False),
        sa.Column("question", sa.Text(), nullable=False),
        sa.Column("helped", sa.Boolean(), nullable=True),
        sa.Column("created_at", tickets.storage.schema.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["citizen_id"], ["citizens.id"], name=op.f("fk_consultations_citizen_id_citizens")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consultations")),
    )
    op.create_index(op.f("ix_consultations_created_at"), "consultations", ["created_at"])


def downgrade() -> None:
    op.drop_index(op.f("ix_consultations_created_at"), table_name="consultations")
    op.drop_table("consultations")
    with op.batch_alter_table("tickets") as batch:
        batch.drop_column("confidential")
    with op.batch_alter_table("cluster_members") as batch:
        batch.drop_column("reasons")
    with op.batch_alter_table("ticket_routing") as batch:
        for column in ("final_district", "final_zone", "final_type", "vague", "model_version", "problem",
                       "place_keys", "place", "district_source"):
            batch.drop_column(column)
    op.drop_index(op.f("ix_routing_models_catalogue_version"), table_name="routing_models")
    op.drop_table("routing_models")
