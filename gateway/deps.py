"""Request-scoped accessors, the capped body reader, and the bounded types of ids and numbers."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path, Query, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import Field

from gateway.state import AppState
from tickets.access.apikeys import ApiKey, authenticate
from tickets.errors import AuthError, PayloadTooLarge


async def app_state(request: Request) -> AppState:
    """The application's wiring.

    `async def` on purpose: FastAPI runs a sync dependency in the thread pool, a hand-off that costs
    more than the webhook's own work (docs/performance.md).
    """
    return _state(request)


def _state(request: Request) -> AppState:
    state: AppState = request.app.state.gateway
    return state


async def read_capped(request: Request, cap: int) -> bytes:
    """The request body, refusing more than `cap` bytes without reading them all."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > cap:
        raise PayloadTooLarge(f"body over {cap} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > cap:
            raise PayloadTooLarge(f"body over {cap} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


# Declared in the OpenAPI document, so /docs offers "Authorize" for it (scheme names are what /docs shows).
_bearer = HTTPBearer(auto_error=False, scheme_name="ApiKey",
                     description="An API key from `petition-gateway create-api-key` (pgk_...), with its role")


def api_key(request: Request,
            credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]) -> ApiKey:
    """The caller's API key from `Authorization: Bearer ...`."""
    if credentials is None or not credentials.credentials.strip():
        raise AuthError("bearer key required")
    with _state(request).engine.connect() as conn:
        return authenticate(conn, credentials.credentials.strip())


State = Annotated[AppState, Depends(app_state)]
Caller = Annotated[ApiKey, Depends(api_key)]

# Ids are INTEGER columns (4 bytes on PostgreSQL): a larger number names nothing. Refused here (422), it never
# reaches the database, which answered it with a 500 (SQLite: OverflowError) or a false 503 (PostgreSQL).
MAX_ID = 2**31 - 1
MAX_PER_PAGE = 500  # the largest page any list gives
Id = Annotated[int, Path(ge=1, le=MAX_ID, description="An id (1 to 2147483647)")]
QueryId = Annotated[int | None, Query(ge=1, le=MAX_ID, description="An id (1 to 2147483647)")]
BodyId = Annotated[int, Field(ge=1, le=MAX_ID, description="An id (1 to 2147483647)")]
Offset = Annotated[int, Query(ge=0, le=MAX_ID, description="How many items to skip")]
PageNumber = Annotated[int, Query(ge=1, le=MAX_ID // MAX_PER_PAGE, description="Which page, from 1")]
