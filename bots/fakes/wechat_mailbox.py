"""What the fake WeChat accepted, kept in a folder (dev mode: `VAR_DIR/dev-wechat`), as WeChat keeps a chat.

The fake appends every message it accepted (customer-service texts and images, template messages and
subscription notifications) to `sent.jsonl` and keeps uploaded media as files under `media/`. The
`/dev/wechat` simulator reads a follower's pushes from here, so they are still there after a restart and
whichever process ran the fake; the fake restores its media from here, so a card uploaded before a restart
still sends and shows (WeChat keeps temporary media three days).
"""

from __future__ import annotations

import json
import logging
import re
import threading
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

MEDIA_ID = re.compile(r"[A-Za-z0-9_-]{1,128}")  # what the fake hands out (token_urlsafe): safe as a file name
_EXTENSIONS = {"image/png": "png", "image/jpeg": "jpg", "image/gif": "gif", "audio/amr": "amr", "video/mp4": "mp4"}
_TYPES = {extension: content_type for content_type, extension in _EXTENSIONS.items()}


@dataclass(frozen=True, slots=True)
class Push:
    """One message the account pushed to a follower, as their chat shows it.

    `kind` is text, image (`media_id`) or notice (a template message or subscription notification: `title`,
    its fields' values in `text`, and the page it opens in `url`).
    """

    kind: str
    at: datetime
    text: str = ""
    media_id: str = ""
    title: str = ""
    url: str = ""


class Mailbox:
    """The folder the fake WeChat writes to and the simulator reads. Thread-safe; appends are single writes."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._log = folder / "sent.jsonl"
        self._media = folder / "media"
        self._lock = threading.Lock()

    def record(self, path: str, message: dict[str, Any], at: datetime) -> None:
        """Keep a message the fake accepted (`path` is the API call's, `message` its JSON body)."""
        line = json.dumps({"path": path, "body": message, "at": at.isoformat()}, ensure_ascii=False) + "\n"
        with self._lock:
            self.folder.mkdir(parents=True, exist_ok=True)
            with self._log.open("a", encoding="utf-8") as log_file:
                log_file.write(line)

    def sent(self) -> list[dict[str, Any]]:
        """Every message kept, oldest first: `{"path", "body", "at"}` (a damaged line is skipped)."""
        if not self._log.exists():
            return []
        kept: list[dict[str, Any]] = []
        for number, line in enumerate(self._log.read_text(encoding="utf-8").splitlines(), start=1):
            try:
                entry = json.loads(line)
                kept.append({"path": str(entry["path"]), "body": dict(entry["body"]),
                             "at": datetime.fromisoformat(entry["at"])})
            except (ValueError, KeyError, TypeError):
                log.warning("dev WeChat mailbox: line %d of %s is damaged; skipped", number, self._log)
        return kept

    def pushes_to(self, openid: str) -> list[Push]:
        """What the follower `openid` received, oldest first."""
        return [push for entry in self.sent() if entry["body"].get("touser") == openid
                if (push := _push(entry)) is not None]

    def put_media(self, media_id: str, content_type: str, content: bytes) -> None:
        """Keep uploaded media under its id."""
        if not MEDIA_ID.fullmatch(media_id):
            raise ValueError("not a media id")
        self._media.mkdir(parents=True, exist_ok=True)
        (self._media / f"{media_id}.{_EXTENSIONS.get(content_type, 'bin')}").write_bytes(content)

    def media(self, media_id: str) -> tuple[str, bytes] | None:
        """(content type, bytes) of kept media, or None."""
        if not MEDIA_ID.fullmatch(media_id):
            return None
        for path in self._media.glob(f"{media_id}.*"):
            return _TYPES.get(path.suffix.lstrip("."), "application/octet-stream"), path.read_bytes()
        return None

    def all_media(self) -> dict[str, tuple[str, bytes]]:
        """Every medium kept, by id (what the fake restores when it starts)."""
        if not self._media.is_dir():
            return {}
        return {path.stem: (_TYPES.get(path.suffix.lstrip("."), "application/octet-stream"), path.read_bytes())
                for path in self._media.iterdir() if MEDIA_ID.fullmatch(path.stem)}


def for_var_dir(var_dir: Path) -> Mailbox:
    """The dev mode's mailbox: `VAR_DIR/dev-wechat` (docs/configuration.md)."""
    return Mailbox(var_dir / "dev-wechat")


_NOTICE_TITLES = {"template/send": "模板消息", "subscribe/bizsend": "订阅通知"}


def _push(entry: dict[str, Any]) -> Push | None:
    body, at, path = entry["body"], entry["at"], entry["path"]
    if path.endswith("custom/send"):
        kind = body.get("msgtype")
        if kind == "text":
            return Push("text", at, text=str((body.get("text") or {}).get("content", "")))
        if kind == "image":
            return Push("image", at, media_id=str((body.get("image") or {}).get("media_id", "")))
        return Push("text", at, text=f"[{kind}]")
    title = next((name for suffix, name in _NOTICE_TITLES.items() if path.endswith(suffix)), "")
    if not title:
        return None
    fields = body.get("data") or {}
    values = [str(value.get("value", "")) for value in fields.values() if isinstance(value, dict)]
    return Push("notice", at, text="\n".join(values), title=title, url=str(body.get("url") or body.get("page") or ""))
