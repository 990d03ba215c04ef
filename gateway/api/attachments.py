"""`/api/v1/attachments/{id}`: a photo citizens uploaded, for officers (API keys with the reader role or above)."""

from __future__ import annotations

from pathlib import PurePosixPath

from fastapi import APIRouter
from fastapi.responses import Response

from gateway.deps import Caller, Id, State
from gateway.uploads import LocalFolderStore, content_type
from tickets import attachments as stored_media
from tickets.access.apikeys import Role
from tickets.errors import NotFound
from tickets.storage.db import reader

router = APIRouter(prefix="/api/v1", tags=["tickets"])


@router.get("/attachments/{attachment_id}", response_class=Response,
            responses={200: {"content": {"image/jpeg": {}, "image/png": {}}, "description": "The photo"},
                       404: {"description": "No such attachment, or one kept on a platform (a WeChat media id)"}})
def attachment(attachment_id: Id, state: State, caller: Caller) -> Response:
    """A stored photo of a ticket (its `url` in the ticket detail points here)."""
    caller.require(Role.READER)
    with reader(state.engine).connect() as conn:
        key = stored_media.stored_key(conn, attachment_id)
    if key is None:
        raise NotFound(f"attachment {attachment_id}")
    data = LocalFolderStore(state.settings.uploads_path).read(key)
    extension = PurePosixPath(key).suffix.lstrip(".")
    return Response(data, media_type=content_type(extension), headers={
        "Cache-Control": "private, no-store", "X-Content-Type-Options": "nosniff",
        "Content-Disposition": f'inline; filename="attachment-{attachment_id}.{extension}"'})
