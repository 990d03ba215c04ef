"""`/dev/wechat`: play the citizen in dev mode (on only with generated, not real, credentials).

Each message is built, signed and encrypted exactly as WeChat does (safe or compatible mode), posted to
`/webhooks/wechat` through the application itself, and the reply is verified and decrypted. The page shows
the chat as WeChat would: the citizen's messages and the passive replies (kept in the database), and what the
account pushed afterwards (texts, images such as a petition's QR card, template messages), which the fake
WeChat keeps under `VAR_DIR/dev-wechat` (bots/fakes/wechat_mailbox.py). The simulated citizen is a long-lived
cookie, so a browser restart and a server restart both come back to the same chat.
"""

from __future__ import annotations

import io
import secrets
from typing import Annotated, Any

import httpx
from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from PIL import Image, ImageDraw

from bots.fakes.wechat import FakeWeChat
from bots.fakes.wechat_mailbox import MEDIA_ID, Mailbox, for_var_dir
from bots.fakes.wechat_peer import WeChatPeer
from gateway.deps import State, app_state
from gateway.pages import page
from gateway.state import AppState
from tickets.inbox import turns as inbox
from tickets.inbox.citizens import CitizenKey, find_citizen_id
from tickets.inbox.message import Channel
from tickets.masking import mask_identifier
from tickets.storage.db import reader

router = APIRouter(prefix="/dev", tags=["dev"], include_in_schema=False)
COOKIE = "dev_openid"
COOKIE_SECONDS = 365 * 86400  # the same simulated citizen after the browser is closed and opened again
ACCOUNT = "gh_devsimulator"
# A point in the city for "send location" (郑州市金水区).
DEV_LOCATION = (34.7466, 113.6253, "河南省郑州市金水区花园路与农业路交叉口")
MEDIA_PATH = "/dev/wechat/media/"


def _peer(state: AppState) -> WeChatPeer:
    settings = state.settings
    return WeChatPeer(settings.wechat_token, settings.wechat_app_id, settings.wechat_aes_key, account=ACCOUNT)


def _openid(request: Request) -> str:
    return request.cookies.get(COOKIE) or _new_openid()


def _new_openid() -> str:
    return "oDEV" + secrets.token_urlsafe(18)


def _keep(response: Response, openid: str) -> None:
    response.set_cookie(COOKIE, openid, max_age=COOKIE_SECONDS, httponly=True, samesite="strict")


def _mailbox(state: AppState) -> Mailbox:
    return for_var_dir(state.settings.var_dir)


def _fake(request: Request) -> FakeWeChat | None:
    fake: FakeWeChat | None = request.app.state.fake_wechat
    return fake


def _conversation(state: AppState, openid: str) -> list[dict[str, Any]]:
    """The chat, oldest first: each item has a `side` (me, bot, push, notice) and a text, an image or a card."""
    mailbox = _mailbox(state)
    with reader(state.engine).connect() as conn:
        citizen_id = find_citizen_id(conn, CitizenKey(Channel.WECHAT.value, ACCOUNT, openid))
        history = inbox.recent_for_citizen(conn, citizen_id) if citizen_id else []
    items: list[dict[str, Any]] = []
    for entry in history:
        items.append({"side": "me", "at": entry["received_at"], **_mine(entry["payload"], mailbox)})
        items.extend({"side": "bot", "text": r.get("text", ""), "at": entry["received_at"]}
                     for r in entry["replies"])
    for push in mailbox.pushes_to(openid):
        if push.kind == "image":
            items.append({"side": "push", "image": MEDIA_PATH + push.media_id, "alt": "公众号发来的图片",
                          "at": push.at})
        elif push.kind == "notice":
            items.append({"side": "notice", "title": push.title, "text": push.text, "url": push.url,
                          "at": push.at})
        else:
            items.append({"side": "push", "text": push.text, "at": push.at})
    items.sort(key=lambda item: item["at"])  # stable: a reply stays after its message
    return items


def _mine(payload: dict[str, Any], mailbox: Mailbox) -> dict[str, Any]:
    """A message the citizen sent: a photo the fake still has shows as the photo."""
    media_id = str((payload.get("media") or {}).get("media_id", ""))
    if payload.get("kind") == "image" and MEDIA_ID.fullmatch(media_id) and mailbox.media(media_id):
        return {"image": MEDIA_PATH + media_id, "alt": "我发送的照片"}
    return {"text": _describe(payload)}


def _describe(payload: dict[str, Any]) -> str:
    kind = payload.get("kind")
    if kind == "text":
        return str(payload.get("text", ""))
    labels = {"image": "[照片]", "voice": "[语音] ", "location": "[位置] ", "follow": "[关注公众号]",
              "menu_click": "[菜单] "}
    detail = payload.get("text") or (payload.get("location") or {}).get("label") or payload.get("event_key") or ""
    return labels.get(str(kind), f"[{kind}]") + str(detail)


def sample_photo() -> bytes:
    """The photo "send a photo" sends: a street lamp at dusk, drawn (a PNG of a few kilobytes)."""
    picture = Image.new("RGB", (480, 360), (70, 90, 130))
    draw = ImageDraw.Draw(picture)
    draw.rectangle((0, 250, 480, 360), fill=(60, 60, 60))  # the road
    draw.rectangle((0, 240, 480, 250), fill=(150, 150, 140))  # the kerb
    draw.rectangle((300, 60, 310, 245), fill=(35, 35, 35))  # the post
    draw.rectangle((250, 60, 310, 68), fill=(35, 35, 35))  # the arm
    draw.ellipse((236, 64, 266, 84), fill=(90, 90, 80))  # the lamp, out
    out = io.BytesIO()
    picture.save(out, format="PNG", optimize=True)
    return out.getvalue()


@router.get("/wechat", response_class=HTMLResponse)
def simulator(request: Request, state: State) -> Response:
    """The simulator page with the conversation so far."""
    openid = _openid(request)
    encrypted = request.cookies.get("dev_plain") != "1"
    response = page("dev_wechat.html", state.settings.timezone, conversation=_conversation(state, openid),
                    encrypted=encrypted, openid_masked=mask_identifier(openid),
                    last=request.app.state.__dict__.get("dev_last", {}).get(openid))
    _keep(response, openid)
    return response


@router.get("/wechat/media/{media_id}", response_class=Response, responses={200: {"content": {"image/png": {}}}})
def media(media_id: str, request: Request, state: State) -> Response:
    """An image in the simulated chat: what the account sent (a petition's card) or what the citizen sent."""
    found = _mailbox(state).media(media_id) if MEDIA_ID.fullmatch(media_id) else None
    fake = _fake(request)
    if found is None and fake is not None:
        found = fake.media.get(media_id)
    if found is None:
        return Response(status_code=404)
    return Response(found[1], media_type=found[0], headers={"Cache-Control": "private, max-age=86400"})


@router.post("/wechat")
async def send(
    request: Request,
    action: Annotated[str, Form()],
    content: Annotated[str, Form()] = "",
    encrypted: Annotated[str, Form()] = "",
) -> Response:
    """Send one message or event as WeChat would, then show the page again."""
    state = await app_state(request)
    redirect = RedirectResponse("/dev/wechat", status_code=303)
    if action == "new_citizen":  # start over as another citizen (a neighbour who co-signs, say)
        _keep(redirect, _new_openid())
        return redirect
    peer, openid = _peer(state), _openid(request)
    fake = _fake(request)
    xml = {
        "text": lambda: peer.text_xml(openid, content or "你好"),
        "voice": lambda: peer.voice_xml(openid, "DEVVOICE" + secrets.token_hex(4), content or None),
        "location": lambda: peer.location_xml(openid, *DEV_LOCATION),
        "image": lambda: peer.image_xml(openid, _photo_media(state, fake), "https://mmbiz.qpic.cn/dev/photo.jpg"),
        "subscribe": lambda: peer.event_xml(openid, "subscribe"),
        "menu": lambda: peer.event_xml(openid, "CLICK", "MY_TICKETS"),
    }.get(action, lambda: peer.text_xml(openid, content))()
    # The simulated account has an EncodingAESKey, so pushes are encrypted as WeChat sends them then: safe
    # mode, or compatible mode (plaintext beside the ciphertext) when the box is unticked.
    query, body = peer.seal(xml, encrypted=True, compatible=not encrypted, openid=openid)
    fake = request.app.state.fake_wechat
    if fake is not None and action not in ("subscribe", "menu"):
        fake.message_from(openid)  # as on WeChat, writing opens the 48-hour customer-service window
    transport = httpx.ASGITransport(app=request.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:
        answer = await client.post("/webhooks/wechat", params=query, content=body,
                                   headers={"content-type": "text/xml"})
    last = request.app.state.__dict__.setdefault("dev_last", {})
    last[openid] = {"status": answer.status_code, "query": "&".join(f"{k}={v}" for k, v in query.items()),
                    "body": body.decode(), "response": answer.text}
    _keep(redirect, openid)
    redirect.set_cookie("dev_plain", "0" if encrypted else "1", max_age=COOKIE_SECONDS, samesite="strict")
    return redirect


def _photo_media(state: AppState, fake: FakeWeChat | None) -> str:
    """The sample photo as media WeChat holds (the gateway may fetch it by its id), kept for the page."""
    if fake is not None:
        return fake.add_media("image/png", sample_photo())
    media_id = secrets.token_urlsafe(48)
    _mailbox(state).put_media(media_id, "image/png", sample_photo())
    return media_id
