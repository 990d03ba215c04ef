"""What a citizen's short text (or menu click) asks for, if it is a command."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from language.text import normalise
from tickets.codes import looks_like_tracking_code, parse_ticket_number


class Command(StrEnum):
    """Commands of the intake conversation."""

    HELP = "help"
    MY_TICKETS = "my_tickets"
    QUERY = "query"
    CANCEL = "cancel"
    SUBMIT = "submit"
    GREETING = "greeting"
    NEW_REQUEST = "new_request"


@dataclass(frozen=True, slots=True)
class Parsed:
    """A recognised command with its argument (a ticket number or tracking code)."""

    command: Command
    argument: str = ""


_WORDS: dict[str, Command] = {
    **dict.fromkeys(["帮助", "help", "?", "？", "菜单", "说明", "怎么用"], Command.HELP),
    **dict.fromkeys(["进度", "查询", "查进度", "我的诉求", "我的工单", "查询进度"], Command.MY_TICKETS),
    **dict.fromkeys(["取消", "放弃", "不要了", "算了", "cancel"], Command.CANCEL),
    **dict.fromkeys(["1", "提交", "确认", "确定", "确认提交"], Command.SUBMIT),
    **dict.fromkeys(["你好", "您好", "在吗", "在么", "hi", "hello", "喂"], Command.GREETING),
}

# Menu CLICK keys configured in the Official Account's custom menu.
MENU_KEYS: dict[str, Command] = {
    "HELP": Command.HELP,
    "MY_TICKETS": Command.MY_TICKETS,
    "CANCEL": Command.CANCEL,
    "NEW_REQUEST": Command.NEW_REQUEST,
    "SUBMIT": Command.SUBMIT,
}

def parse(text: str) -> Parsed | None:
    """The command in a short text, or None when it is content for the draft."""
    word = normalise(text)
    if word in _WORDS:
        return Parsed(_WORDS[word])
    for prefix in ("查询", "查", "进度"):
        if word.startswith(prefix) and len(word) > len(prefix):
            rest = word[len(prefix):].strip(" :：")
            number = parse_ticket_number(rest)
            if number:
                return Parsed(Command.QUERY, number)
    number = parse_ticket_number(word)
    if number:
        return Parsed(Command.QUERY, number)
    if looks_like_tracking_code(word):
        return Parsed(Command.QUERY, word.upper())
    return None
