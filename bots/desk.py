"""What the conversations may ask of the ticket store, inside the message's transaction."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from bots.draft import Draft
from tickets import progress, repository
from tickets.citizens import Citizen
from tickets.errors import NotFound
from tickets.progress import Satisfaction
from tickets.repository import Ticket, TicketFilter


@dataclass(frozen=True, slots=True)
class DeskConfig:
    """Settings the conversations need."""

    tz: ZoneInfo
    public_base_url: str
    draft_ttl_hours: int = 72


@dataclass(frozen=True, slots=True)
class Desk:
    """The ticket store as seen from a conversation step."""

    conn: sa.Connection
    config: DeskConfig
    now: datetime

    def open_ticket(self, citizen: Citizen, draft: Draft) -> Ticket:
        """Turn a confirmed draft into a ticket."""
        new = draft.to_new_ticket(citizen.key.channel, citizen.id)
        return repository.open_ticket(self.conn, new, self.now, self.config.tz)

    def recent_tickets(self, citizen_id: int, limit: int = 5) -> list[Ticket]:
        """The citizen's latest tickets."""
        return repository.list_tickets(self.conn, TicketFilter(citizen_id=citizen_id), limit=limit).items

    def find_for(self, citizen_id: int, reference: str) -> Ticket | None:
        """The citizen's own ticket by number, or any ticket by its tracking code."""
        try:
            if "-" in reference:
                ticket = repository.find_ticket(self.conn, number=reference)
                return ticket if ticket.citizen_id == citizen_id else None
            return repository.find_ticket(self.conn, tracking_code=reference)
        except NotFound:
            return None

    def last_note(self, ticket_id: int) -> str:
        """The latest note for the citizen on the ticket's timeline."""
        notes = [e.note for e in repository.timeline(self.conn, ticket_id) if e.note]
        return notes[-1] if notes else ""

    def ticket(self, ticket_id: int) -> Ticket:
        """A ticket by id."""
        return repository.get_ticket(self.conn, ticket_id)

    def evaluate(self, citizen: Citizen, ticket_id: int, satisfaction: Satisfaction, solved: bool,
                 reason: str) -> Ticket:
        """Record the citizen's rating; raises InvalidTransition unless the ticket awaits one."""
        return progress.evaluate(self.conn, ticket_id, channel=citizen.key.channel, satisfaction=satisfaction,
                                 solved=solved, reason=reason, now=self.now, citizen_id=citizen.id)

    def tracking_url(self, ticket: Ticket) -> str:
        """The public progress page of a ticket."""
        return f"{self.config.public_base_url}/t/{ticket.tracking_code}"

    def local_time(self, moment: datetime) -> str:
        """A moment in the city's time, as a citizen reads it."""
        local = moment.astimezone(self.config.tz)
        return f"{local.month}月{local.day}日{local:%H:%M}"
