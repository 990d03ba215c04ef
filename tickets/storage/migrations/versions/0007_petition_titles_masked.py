"""petition titles: personal numbers masked in the titles already stored

Revision ID: 0007_petition_titles_masked
Revises: 0006

A title used to be the first 20 characters of the ticket's description as written, phone and ID numbers
included, shown on the public co-sign page and the printable card. Titles are now masked when made
(tickets/petitions.py `short_title`) and again when read; a title made from the description and cut
in the middle of a number keeps a part that masking no longer recognises, so such titles are made
again from the description. A title an officer gave is masked as it stands. A WeChat card drawn
with the old title is forgotten, so the next one is drawn afresh.
"""

import sqlalchemy as sa
from alembic import op

from tickets.masking import mask_text

revision = "0007_petition_titles_masked"
down_revision = "0006"
branch_labels = None
depends_on = None

TITLE_CHARS = 20

_petitions = sa.table("petitions", sa.column("id", sa.Integer), sa.column("ticket_id", sa.Integer),
                      sa.column("title", sa.String), sa.column("wechat_media_id", sa.String),
                      sa.column("wechat_media_at", sa.DateTime))
_tickets = sa.table("tickets", sa.column("id", sa.Integer), sa.column("description", sa.Text))


def _cut(line: str) -> str:
    return line if len(line) <= TITLE_CHARS else line[: TITLE_CHARS - 1] + "…"


def masked_title(title: str, description: str) -> str:
    """The title as it is made now, from what the stored one was made of."""
    if title == _cut(" ".join(description.split())):  # made from the description, as titles were
        return _cut(mask_text(" ".join(description.split())))
    return _cut(mask_text(title))


def upgrade() -> None:
    conn = op.get_bind()
    rows = conn.execute(sa.select(_petitions.c.id, _petitions.c.title, _tickets.c.description)
                        .join(_tickets, _tickets.c.id == _petitions.c.ticket_id)).all()
    for row in rows:
        title = masked_title(row.title, row.description)
        if title != row.title:
            conn.execute(sa.update(_petitions).where(_petitions.c.id == row.id)
                         .values(title=title, wechat_media_id="", wechat_media_at=None))


def downgrade() -> None:
    """Nothing to undo: the numbers are gone from the titles, and were never needed there."""
