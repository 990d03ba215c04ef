"""petition titles: personal numbers masked in the titles already stored

Revision ID: 0009_petition_titles_masked
Revises: 0008_routing_models

A title used to be the first 20 characters of the ticket's description as written, phone and ID numbers
included, shown on the public co-sign page and the printable card. Titles are now masked when made
(tickets/petitions.py `short_title`) and again when read; a title made from the description and cut
in the middle of a number keeps a part that masking no longer recognises, so such titles are made
again from the description. A title an officer gave is masked as it stands. A WeChat card drawn
with the old title is forgotten, so the next one is drawn afresh.

Storage imports nothing else of ours (tests/test_layers.py), and a migration must do tomorrow what it
does today: the masking below is a copy of tickets/masking.py `mask_text` as of this revision.
"""

import re

import sqlalchemy as sa
from alembic import op

revision = "0009_petition_titles_masked"
down_revision = "0008_routing_models"
branch_labels = None
depends_on = None

TITLE_CHARS = 20

# --- tickets/masking.py mask_text, as of this revision ---
_FOLD = str.maketrans({
    **{chr(0xFF10 + digit): str(digit) for digit in range(10)},
    "Ｘ": "X", "ｘ": "x", "＋": "+", "（": "(", "）": ")",
    "－": "-", "—": "-", "–": "-", "‐": "-", "‑": "-", "　": " ", "\u00a0": " ",
})
_S = r"[ -]?"
_ID_18 = (rf"\d{{6}}{_S}\d{{4}}{_S}\d{{4}}{_S}\d{{3}}[\dXx]"
          rf"|\d{{4}}{_S}\d{{4}}{_S}\d{{4}}{_S}\d{{4}}{_S}\d[\dXx]")
_CARD = rf"\d{{4}}(?:{_S}\d{{4}}){{3}}(?:{_S}\d{{1,3}})?"
_ID_15 = r"\d{8}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\d{3}"
_COUNTRY = r"(?:\+|00)86"
_LANDLINE = (rf"(?:{_COUNTRY}{_S}\(?(?P<area_intl>[1-9]\d{{1,2}})\)?"
             r"|\((?P<area_paren>0\d{2,3})\)|(?P<area>0\d{2,3}))"
             rf"{_S}[1-9]\d{{2,3}}{_S}\d{{4}}")
_MOBILE = rf"(?P<country>\(?(?:{_COUNTRY}|86)\)?{_S})?(?P<mobile>1[3-9]\d(?:{_S}\d){{8}})"
_PERSONAL = re.compile(
    rf"(?<![0-9A-Za-z])(?P<id>{_ID_18})(?![0-9A-Za-z])"
    rf"|(?<![0-9A-Za-z])(?P<card>{_CARD})(?![0-9A-Za-z])"
    rf"|(?<![0-9A-Za-z])(?P<id15>{_ID_15})(?![0-9A-Za-z])"
    rf"|(?<![\d+])(?P<landline>{_LANDLINE})(?!\d)"
    rf"|(?<![\d+])(?P<phone>{_MOBILE})(?!\d)"
)


def _digits(folded: str, start: int, end: int) -> list[int]:
    return [i for i in range(start, end) if folded[i].isdigit() or folded[i] in "Xx"]


def _kept(match: re.Match[str]) -> list[int]:
    folded, kind = match.string, match.lastgroup
    if kind == "id":
        digits = _digits(folded, *match.span())
        return digits[:6] + digits[-4:]
    if kind in ("card", "id15"):
        return _digits(folded, *match.span())[-4:]
    if kind == "landline":
        area = next(name for name in ("area_intl", "area_paren", "area") if match.group(name))
        return _digits(folded, match.start(), match.end(area)) + _digits(folded, match.end(area), match.end())[-4:]
    country = _digits(folded, *match.span("country")) if match.group("country") else []
    mobile = _digits(folded, *match.span("mobile"))
    return country + mobile[:3] + mobile[-4:]


def mask_text(text: str) -> str:
    """Phone, ID-card, bank card and landline numbers in `text`, masked (the copy of tickets/masking.py)."""
    folded = text.translate(_FOLD)
    masked = list(text)
    for match in _PERSONAL.finditer(folded):
        kept = set(_kept(match))
        for i in _digits(folded, *match.span()):
            if i not in kept:
                masked[i] = "*"
    return "".join(masked)
# --- end of the copy ---

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
