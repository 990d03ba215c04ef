"""Every state of the chat, declared in one place (as aiogram declares its `StatesGroup`s).

A citizen's conversation is the intake state of their draft (`citizens.dialog_state`) plus, at most,
a few pending questions kept under their own keys in `citizens.dialog_data`. The values are stored:
renaming one strands the conversations in progress.

    Intake:      idle ──content──▶ describing ──text──▶ locating ──place──▶ confirming ──yes──▶ idle (ticket)
    Evaluation:  satisfaction ──▶ solved ──▶ reason        (after a ticket is resolved)
    Pending:     evaluation · cosign (after a scanned petition code) · similar (the follow-instead offer)
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

    EVALUATION = "evaluation"  # {ticket_id, step, satisfaction?, solved?}
    COSIGN = "cosign"  # {petition_id, asked_at}
    SIMILAR = "similar"  # {ticket_id}: follow this ticket instead of filing the draft
    COSIGNED = "cosigned"  # not a question: the petition last signed in chat (撤销联名 withdraws it)
