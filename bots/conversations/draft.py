"""The draft a citizen builds over several messages before confirming it as a ticket."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from tickets.repository import NewAttachment, NewTicket

MAX_DESCRIPTION = 2000
MAX_ADDRESS = 200
MAX_MEDIA = 9


@dataclass(slots=True)
class Draft:
    """What the citizen has said so far; stored as JSON in the conversation state."""

    description: str = ""
    address: str = ""
    location: dict[str, Any] | None = None
    photos: list[dict[str, str]] = field(default_factory=list)
    voices: list[dict[str, str]] = field(default_factory=list)
    videos: list[dict[str, str]] = field(default_factory=list)
    place_asked: int = 0  # times the chat asked where it is (it asks twice at most, then takes "not sure")
    place_unknown: bool = False  # the citizen does not know the place: filed with what they could say
    confidential: bool = False  # the citizen asked to keep their identity from the units (举报)
    urgent: bool = False  # the triage found a danger now: filed as soon as the place is known

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> Draft:
        """Read a draft from stored conversation data (missing keys are empty)."""
        raw = data.get("draft") or {}
        return cls(
            description=str(raw.get("description", "")), address=str(raw.get("address", "")),
            location=raw.get("location"), photos=list(raw.get("photos", [])),
            voices=list(raw.get("voices", [])), videos=list(raw.get("videos", [])),
            place_asked=int(raw.get("place_asked", 0)), place_unknown=bool(raw.get("place_unknown", False)),
            confidential=bool(raw.get("confidential", False)), urgent=bool(raw.get("urgent", False)),
        )

    def to_data(self) -> dict[str, Any]:
        """The draft as stored conversation data."""
        return {"draft": asdict(self)}

    @property
    def is_empty(self) -> bool:
        """Nothing said yet."""
        return not (self.description or self.address or self.location or self.photos or self.voices
                    or self.videos)

    @property
    def has_place(self) -> bool:
        """A typed address or a shared location (or the citizen said they do not know it)."""
        return bool(self.address or self.location or self.place_unknown)

    def add_text(self, text: str) -> bool:
        """Append to the description; False if it had to be cut to the limit."""
        text = text.strip()
        combined = f"{self.description}\n{text}" if self.description else text
        self.description = combined[:MAX_DESCRIPTION]
        return len(combined) <= MAX_DESCRIPTION

    def add_media(self, bucket: list[dict[str, str]], item: dict[str, str]) -> None:
        """Keep a photo, voice note or video, up to the limit."""
        if len(bucket) < MAX_MEDIA and item not in bucket:
            bucket.append(item)

    def to_new_ticket(self, channel: str, citizen_id: int) -> NewTicket:
        """The ticket this draft becomes."""
        location = self.location or {}
        media = [
            *(NewAttachment("image", p.get("media_id", ""), p.get("url", "")) for p in self.photos),
            *(NewAttachment("voice", v.get("media_id", ""), "", v.get("recognition", "")) for v in self.voices),
            *(NewAttachment("video", v.get("media_id", ""), "") for v in self.videos),
        ]
        return NewTicket(
            channel=channel, citizen_id=citizen_id, description=self.description, address=self.address,
            latitude=location.get("latitude"), longitude=location.get("longitude"),
            location_label=str(location.get("label", "")), attachments=tuple(media),
            confidential=self.confidential,
        )
