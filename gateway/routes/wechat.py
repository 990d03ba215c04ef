"""`/webhooks/wechat`: URL verification and message push from the WeChat Official Account."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from sqlalchemy.exc import IntegrityError

from bots.intake import receive
from bots.replies import Reply
from bots.request import PlainRequest
from bots.wechat.adapter import WeChatAdapter
from gateway.deps import State, read_capped
from gateway.state import AppState
from tickets.clock import utcnow
from tickets.errors import ChannelDisabled
from tickets.inbox.message import InboundMessage

router = APIRouter(tags=["webhooks"])


def _adapter(state: AppState) -> WeChatAdapter:
    if state.wechat is None:
        raise ChannelDisabled("wechat")
    return state.wechat


@router.get("/webhooks/wechat")
async def verify_url(request: Request, state: State) -> Response:
    """WeChat's server URL verification: returns `echostr` verbatim when the signature matches."""
    echo = _adapter(state).verify_url(PlainRequest("GET", dict(request.query_params)))
    return Response(echo, media_type="text/plain")


@router.post("/webhooks/wechat")
async def push(request: Request, state: State) -> Response:
    """A message or event from WeChat (plain, compatible or safe mode); answers with the passive reply."""
    adapter = _adapter(state)
    body = await read_capped(request, state.settings.max_body_bytes)
    envelope = adapter.open(PlainRequest("POST", dict(request.query_params), dict(request.headers), body))
    replies = handle(state, envelope.message)
    content, media_type = adapter.render(replies, envelope)
    return Response(content, media_type=media_type)


def handle(state: AppState, message: InboundMessage) -> list[Reply]:
    """Run the intake step in one transaction.

    This runs on the event loop on purpose: the transaction is short and never awaits, and the
    thread-pool hand-off would cost more than the work (shared/notes/performance.md). A unique-key
    collision means a concurrent retry won the race; the second attempt reads its answer.
    On SQLite the transaction holds the database's write lock (BEGIN IMMEDIATE): everything that can
    happen outside it does (parsing and decryption before, the reply's rendering and encryption after),
    and the statements inside run through the driver (tickets/storage/fastsql.py).
    """
    engine = state.engine
    try:
        with engine.connect() as conn, conn.begin():
            return receive(conn, message, state.desk, utcnow())
    except IntegrityError:
        with engine.connect() as conn, conn.begin():
            return receive(conn, message, state.desk, utcnow())
