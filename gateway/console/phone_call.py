"""A call taken by phone (电话登记): the officer's form, checked by the chat's own limits, the ticket it becomes, and
what to read back to the caller once it is filed.

The caller's number has no column on a ticket (tickets/repository.py `NewTicket`), so it is kept as the
description's last line, `来电号码：...`. Only numbers that `mask_text` recognises as phone numbers are taken: pages
mask them for everyone but admins, and the dispatch system's event masks them (tickets/dispatch.py).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from bots.conversations.draft import MAX_ADDRESS, MAX_DESCRIPTION
from language.triage import Decision, Kind
from tickets.masking import mask_kept, mask_text
from tickets.repository import NewTicket
from tickets.safety import Advice, SafetyBook

CHANNEL = "phone"
PHONE_LINE = "来电号码："
MAX_PHONE = 32
_SEPARATORS = re.compile(r"[\s\-()]")
_DIALLED = re.compile(r"\+?\d{7,15}")


@dataclass(frozen=True, slots=True)
class PhoneCall:
    """What the officer wrote down, as typed (the form shows it again when something is wrong)."""

    description: str = ""
    address: str = ""
    phone: str = ""
    confidential: bool = False
    zone: str = ""

    @property
    def words(self) -> str:
        """The caller's description as a ticket keeps a citizen's words: ID and bank card numbers masked."""
        return mask_kept(self.description.strip())

    @property
    def place(self) -> str:
        """The place, kept the same way."""
        return mask_kept(self.address.strip())

    @property
    def number(self) -> str:
        """The caller's number without blanks or dashes ("" when none was given or it is not a phone number)."""
        dialled = _SEPARATORS.sub("", unicodedata.normalize("NFKC", self.phone))
        if not _DIALLED.fullmatch(dialled) or mask_text(dialled) == dialled or mask_kept(dialled) != dialled:
            return ""  # a phone number is what mask_text masks and mask_kept keeps (not an ID or card number)
        return dialled

    def problems(self, zones: Sequence[str]) -> list[str]:
        """What keeps the call from being filed, by name (templates/pages/console/new_ticket.html words them)."""
        found: list[str] = []
        if not self.words:
            found.append("description")
        elif len(self.words) > MAX_DESCRIPTION:
            found.append("description_long")
        if not self.place:
            found.append("address")
        elif len(self.place) > MAX_ADDRESS:
            found.append("address_long")
        if self.phone.strip() and (len(self.phone) > MAX_PHONE or not self.number):
            found.append("phone")
        if self.zone and self.zone not in zones:
            found.append("zone")
        return found

    def new_ticket(self) -> NewTicket:
        """The ticket this call becomes (no citizen: the caller has no account in any channel)."""
        description = f"{self.words}\n{PHONE_LINE}{self.number}" if self.number else self.words
        return NewTicket(channel=CHANNEL, citizen_id=None, description=description, address=self.place,
                         confidential=self.confidential)

    @property
    def citizen_ref(self) -> str:
        """The caller as the dispatch system may see them: the masked number, or nothing."""
        return mask_text(self.number) if self.number else ""


def advice_of(book: SafetyBook, triage: Mapping[str, Any]) -> Advice | None:
    """What the chat would have told this caller, from the triage kept with the ticket (tickets/routing/store.py);
    None when there is nothing to read out: an ordinary request, or an unsure one (the chat's question comes
    before filing, and the officer heard the answer)."""
    try:
        kind = Kind(str(triage.get("kind", "")))
    except ValueError:
        return None
    if kind not in (Kind.EMERGENCY, Kind.URGENT, Kind.REDIRECT):
        return None
    decision = Decision(kind, concepts=tuple(map(str, triage.get("concepts", ()))),
                        services=tuple(map(str, triage.get("services", ()))))
    advice = book.advice(decision)
    return advice if advice.services or advice.lines or advice.referral else None
