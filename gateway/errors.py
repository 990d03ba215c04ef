"""HTTP status codes for the gateway's exception tree (chosen here and nowhere else)."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse
from sqlalchemy.exc import DBAPIError, OperationalError

from bots.texts import render
from tickets.errors import (
    AuthError,
    ChannelDisabled,
    DatabaseBusy,
    DecryptError,
    InboundError,
    InvalidTransition,
    MalformedPayload,
    NotFound,
    PayloadTooLarge,
    RateLimited,
    SignatureError,
)

log = logging.getLogger("gateway")

_INBOUND_STATUS: dict[type[InboundError], int] = {
    SignatureError: 403, PayloadTooLarge: 413, MalformedPayload: 400, DecryptError: 400,
}


def install(app: FastAPI) -> None:
    """Register the handlers on the app."""

    @app.exception_handler(InboundError)
    async def _inbound(request: Request, exc: InboundError) -> PlainTextResponse:
        status = _INBOUND_STATUS.get(type(exc), 400)
        # The reason names the check that failed; never the body, the openid or the content.
        log.warning("refused %s %s: %s (%d)", request.method, request.url.path, exc.reason, status)
        return PlainTextResponse(exc.reason, status_code=status)

    @app.exception_handler(ChannelDisabled)
    async def _disabled(request: Request, exc: ChannelDisabled) -> PlainTextResponse:
        return PlainTextResponse("channel not configured", status_code=404)

    @app.exception_handler(NotFound)
    async def _not_found(request: Request, exc: NotFound) -> JSONResponse:
        return JSONResponse({"detail": "not found"}, status_code=404)

    @app.exception_handler(InvalidTransition)
    async def _transition(request: Request, exc: InvalidTransition) -> JSONResponse:
        return JSONResponse({"detail": str(exc), "current": exc.current, "target": exc.target}, status_code=409)

    @app.exception_handler(AuthError)
    async def _auth(request: Request, exc: AuthError) -> JSONResponse:
        status = 403 if exc.forbidden else 401
        headers = {} if exc.forbidden else {"WWW-Authenticate": "Bearer"}
        return JSONResponse({"detail": exc.reason}, status_code=status, headers=headers)

    @app.exception_handler(RateLimited)
    async def _limited(request: Request, exc: RateLimited) -> JSONResponse:
        # Shaped like the mini-program's refusals: a code for its logic, a message for the citizen.
        log.info("%s %s over the %s limit (retry in %d s)", request.method, request.url.path, exc.scope,
                 exc.retry_after)
        message = render("miniapp_refused", code="rate_limited", retry_after=exc.retry_after)
        return JSONResponse({"detail": {"code": "rate_limited", "message": message, "retry_after": exc.retry_after}},
                            status_code=429, headers={"Retry-After": str(exc.retry_after)})

    @app.exception_handler(DatabaseBusy)
    async def _busy(request: Request, exc: DatabaseBusy) -> PlainTextResponse:
        # Answered at once (gateway/busy.py): WeChat and Alipay retry, and the dedupe answers the retry as before.
        log.warning("database busy on %s %s: %s", request.method, request.url.path, exc)
        return PlainTextResponse("temporarily unavailable", status_code=503, headers={"Retry-After": "1"})

    @app.exception_handler(OperationalError)
    @app.exception_handler(DBAPIError)
    async def _database(request: Request, exc: DBAPIError) -> PlainTextResponse:
        # WeChat and Alipay retry on a 5xx: the message is not lost, and the retry is deduplicated.
        log.error("database unavailable on %s %s: %s", request.method, request.url.path, type(exc.orig).__name__)
        return PlainTextResponse("temporarily unavailable", status_code=503, headers={"Retry-After": "5"})
