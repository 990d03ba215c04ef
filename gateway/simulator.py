"""`/dev/wechat`: play the citizen in dev mode (on only with generated, not real, credentials).

Each message is built, signed and encrypted exactly as WeChat does (safe or compatible mode), posted to
`/webhooks/wechat` through the application itself, and the reply is verified and decrypted.
"""

from __future__ import annotations

import secrets
from typing import Annotated, Any

import httpx
from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

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
ACCOUNT = "gh_devsimulator"
# A point in the city for "send location" (郑州市金水区).
DEV_LOCATION = (34.7466, 113.6253, "河南省郑州市金水区花园路与农业路交叉口")


def _peer(state: AppState) -> WeChatPeer:
    settings = state.settings
    return WeChatPeer(settings.wechat_token, settings.wechat_app_id, settings.wechat_aes_key, account=ACCOUNT)


def _openid(request: Request) -> str:
    return request.cookies.get(COOKIE) or "oDEV" + secrets.token_urlsafe(18)


def _conversation(state: AppState, request: Request, openid: str) -> list[dict[str, str]]:
    with reader(state.engine).connect() as conn:
        citizen_id = find_citizen_id(conn, CitizenKey(Channel.WECHAT.value, ACCOUNT, openid))
        history = inbox.recent_for_citizen(conn, citizen_id) if citizen_id else []
    items: list[dict[str, Any]] = []
    for entry in history:
        items.append({"side": "me", "text": _describe(entry["payload"]), "at": entry["received_at"]})
        items.extend({"side": "bot", "text": r.get("text", ""), "at": entry["received_at"]}
                     for r in entry["replies"])
    fake = request.app.state.fake_wechat
    if fake is not None:
        items.extend({"side": "push", "text": "【推送】" + m["text"], "at": m["at"]}
                     for m in fake.texts_to(openid))
    items.sort(key=lambda item: item["at"])
    return [{"side": i["side"], "text": i["text"]} for i in items]


def _describe(payload: dict[str, Any]) -> str:
    kind = payload.get("kind")
    if kind == "text":
        return str(payload.get("text", ""))
    labels = {"image": "[照片]", "voice": "[语音] ", "location": "[位置] ", "follow": "[关注公众号]",
              "menu_click": "[菜单] "}
    detail = payload.get("text") or (payload.get("location") or {}).get("label") or payload.get("event_key") or ""
    return labels.get(str(kind), f"[{kind}]") + str(detail)


@router.get("/wechat", response_class=HTMLResponse)
def simulator(request: Request, state: State) -> Response:
    """The simulator page with the conversation so far."""
    openid = _openid(request)
    encrypted = request.cookies.get("dev_plain") != "1"
    response = page("dev_wechat.html", state.settings.timezone, conversation=_conversation(state, request, openid),
                    encrypted=encrypted, openid_masked=mask_identifier(openid),
                    last=request.app.state.__dict__.get("dev_last", {}).get(openid))
    response.set_cookie(COOKIE, openid, httponly=True, samesite="strict")
    return response


@router.post("/wechat")
async def send(
    request: Request,
    action: Annotated[str, Form()],
    content: Annotated[str, Form()] = "",
    encrypted: Annotated[str, Form()] = "",
) -> Response:
    """Send one message or event as WeChat would, then show the page again."""
    state = await app_state(request)
    peer, openid = _peer(state), _openid(request)
    xml = {
        "text": lambda: peer.text_xml(openid, content or "你好"),
        "voice": lambda: peer.voice_xml(openid, "DEVVOICE" + secrets.token_hex(4), content or None),
        "location": lambda: peer.location_xml(openid, *DEV_LOCATION),
        "image": lambda: peer.image_xml(openid, "DEVIMAGE" + secrets.token_hex(4),
                                        "https://mmbiz.qpic.cn/dev/photo.jpg"),
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
    redirect = RedirectResponse("/dev/wechat", status_code=303)
    redirect.set_cookie(COOKIE, openid, httponly=True, samesite="strict")
    redirect.set_cookie("dev_plain", "0" if encrypted else "1", samesite="strict")
    return redirect
