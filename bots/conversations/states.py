"""Every state of the chat, declared in one place (as aiogram declares its `StatesGroup`s).

A citizen's conversation is the intake state of their draft (`citizens.dialog_state`) plus, at most,
a few pending questions kept under their own keys in `citizens.dialog_data`. The values are stored:
renaming one strands the conversations in progress.

    Intake:      idle ──content──▶ describing ──text──▶ locating ──place──▶ confirming ──yes──▶ idle (ticket)
    Evaluation:  satisfaction ──▶ solved ──▶ reason        (after a ticket is resolved)
    Pending:     a question the bot asked and the citizen's next words may answer (see `Pending`)

Which conversation answers a message first is the order of `dialog.ANSWERERS`.
"""

from __future__ import annotations

from enum import StrEnum


class Intake(StrEnum):
    """Where the citizen's draft is (`citizens.dialog_state`)."""

    IDLE = "idle"
    DESCRIBING = "describing"
    LOCATING = "locating"
    CONFIRMING = "confirming"


class Evaluation(StrEnum):
    """The step of a pending rating (`dialog_data["evaluation"]["step"]`)."""

    SATISFACTION = "satisfaction"
    SOLVED = "solved"
    REASON = "reason"


class Pending(StrEnum):
    """The keys of `dialog_data` that hold a question waiting for the citizen's answer."""

    EVALUATION = "evaluation"  # {ticket_id, step, satisfaction?, solved?}: rate a resolved ticket
    COSIGN = "cosign"  # {petition_id, asked_at}: co-sign after a scanned petition code?
    SIMILAR = "similar"  # {ticket_id}: follow this ticket instead of filing the draft?
    SAFETY = "safety"  # {asked_at}: is anyone trapped or hurt? (a danger was possible, not clear)
    CHOICE = "choice"  # {purpose, tickets, asked_at}: which of the listed requests (progress / withdraw)?
    WITHDRAW = "withdraw"  # {ticket_id, asked_at}: why take it back?
    CONSULT = "consult"  # {consultation_id, question, asked_at}: did the answer help?
    EMERGENCY = "emergency"  # {text, at}: an emergency told where to call; more words may file it
    BURST = "burst"  # {at}: the last fragment of a burst, for one reply after it
    AFTER = "after"  # {what, tickets, at}: an exchange just ended (filed, told the status, answered ...)
    COSIGNED = "cosigned"  # not a question: the petition last signed in chat (撤销联名 withdraws it)
