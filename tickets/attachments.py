"""Photos the gateway keeps itself (mini-program uploads), as ticket attachments served to officers.

An attachment whose `media_id` starts with `store:` names a key of the upload store (gateway/uploads.py);
others name media kept on a platform (a WeChat media id). Its `url` is the officers' download address.
"""

from __future__ import annotations

import sqlalchemy as sa

from tickets.storage.schema import attachments

PREFIX = "store:"


def media_id(key: str) -> str:
    """The attachment `media_id` of a stored object."""
    return PREFIX + key


def publish_links(conn: sa.Connection, ticket_id: int, base_url: str) -> list[int]:
    """Point each stored photo of the ticket at its officers' address; returns the attachment ids."""
    ids = conn.execute(sa.select(attachments.c.id).where(
        attachments.c.ticket_id == ticket_id, attachments.c.media_id.startswith(PREFIX, autoescape=True),
    ).order_by(attachments.c.id)).scalars().all()
    for attachment_id in ids:
        conn.execute(sa.update(attachments).where(attachments.c.id == attachment_id)
                     .values(url=f"{base_url}/api/v1/attachments/{attachment_id}"))
    return [int(i) for i in ids]


def stored_key(conn: sa.Connection, attachment_id: int) -> str | None:
    """The store key of a stored attachment; None for no such attachment or one kept on a platform."""
    value = conn.execute(sa.select(attachments.c.media_id).where(attachments.c.id == attachment_id)).scalar()
    if not isinstance(value, str) or not value.startswith(PREFIX):
        return None
    return value[len(PREFIX):]
