"""merge the console, routing and deadlines branches

Revision ID: 0006
Revises: 0005_console, 0005_routing, 0005_deadlines
"""

revision = "0006"
down_revision = ("0005_console", "0005_routing", "0005_deadlines")
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Nothing to change: the three branches touch different tables."""


def downgrade() -> None:
    """Nothing to change."""
