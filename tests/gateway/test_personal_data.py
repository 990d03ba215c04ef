"""Personal data in free text, as every surface that does not need it shows it: masked, however it was written.

One ticket (and its petition) carries phone and ID numbers written the ways citizens and officers write
them; the public progress page `/t/`, the co-sign page `/j/`, the public Open311 list, the reader API and
the viewer's console pages and CSV must all show them masked (tickets/masking.py).
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from bots.texts import render
from qr import images
from qr.links import signer_for
from tests.gateway.console.support import make_user, sign_in
from tickets import petitions, progress, repository
from tickets.access.apikeys import Role, create_api_key
from tickets.access.officers import UserRole
from tickets.clock import utcnow
from tickets.inbox.citizens import CitizenKey, lock_citizen
from tickets.lifecycle import Status
from tickets.progress import StatusUpdate
from tickets.repository import NewAttachment, NewTicket
from tickets.settings import Settings

DESCRIPTION = "楼道漏水，请联系 139 1234 5678 或 +86 137-2345-6789，身份证 410105 19900101 1234"
RAW = ("139 1234 5678", "137-2345-6789", "410105 19900101 1234", "19900101")
SHOWN = ("139 **** 5678", "+86 137-****-6789", "410105 ******** 1234")


TITLED = "请回电13812345678：楼道漏水一个月"  # the petition's title holds the whole number


@dataclass
class Seeded:
    ticket_id: int
    code: str
    token: str
    reader_key: str
    titled_id: int
    titled_token: str


@pytest.fixture
def seeded(engine: Engine, settings: Settings) -> Seeded:
    now = utcnow()
    with engine.begin() as conn:
        citizen = lock_citizen(conn, CitizenKey("wechat", "gh_x", "oPersonalData01"), now)
        ticket = repository.open_ticket(conn, NewTicket("wechat", citizen.id, DESCRIPTION, address="幸福路1号"),
                                        now, settings.tz)
        petition, _ = petitions.start(conn, ticket.id, now=now, days=30)
        titled = repository.open_ticket(conn, NewTicket("wechat", citizen.id, TITLED), now, settings.tz)
        titled_petition, _ = petitions.start(conn, titled.id, now=now, days=30)
        key = create_api_key(conn, "reader", Role.READER, now)
    signer = signer_for(settings.secret_key, settings.link_key_ids)
    return Seeded(ticket.id, ticket.tracking_code, signer.sign(petition.id, petition.expires_at), key,
                  titled_petition.id, signer.sign(titled_petition.id, titled_petition.expires_at))


def surfaces(client: TestClient, engine: Engine, seeded: Seeded) -> dict[str, str]:
    """What each surface that must mask shows of the ticket."""
    make_user(engine, "viewer", UserRole.VIEWER)
    shown = {
        "/t/": client.get(f"/t/{seeded.code}").text,
        "/j/": client.get(f"/j/{seeded.token}").text,
        "open311": client.get("/open311/v2/requests.json").text,
        "api list": client.get("/api/v1/tickets", headers={"Authorization": f"Bearer {seeded.reader_key}"}).text,
        "api detail": client.get(f"/api/v1/tickets/{seeded.ticket_id}",
                                 headers={"Authorization": f"Bearer {seeded.reader_key}"}).text,
    }
    assert sign_in(client, "viewer").status_code == 303
    shown |= {
        "console list": client.get("/console/tickets").text,
        "console ticket": client.get(f"/console/tickets/{seeded.ticket_id}").text,
        "console csv": client.get("/console/tickets.csv").content.decode("utf-8-sig"),
    }
    return shown


def test_every_surface_masks_numbers_however_they_are_written(client: TestClient, engine: Engine,
                                                             seeded: Seeded) -> None:
    for surface, text in surfaces(client, engine, seeded).items():
        for raw in RAW:
            assert raw not in text, f"{surface} shows {raw}"
        if surface != "console list":  # the list shows the first 60 characters only
            for masked in SHOWN:
                assert masked in text, f"{surface} does not show {masked}"


def test_petition_titles_are_masked_on_every_surface(client: TestClient, engine: Engine, settings: Settings,
                                                     seeded: Seeded) -> None:
    with engine.connect() as conn:
        petition = petitions.get(conn, seeded.titled_id)
    card = client.get(f"/j/{seeded.titled_token}/card.png").content  # the printable card, drawn with the title
    link = f"{settings.public_base_url}/j/{seeded.titled_token}"
    assert card == images.png_card(link, title=petitions.short_title(TITLED), number=petition.number,
                                   caption=render("petition_card_caption"))
    if images.cjk_font() is not None:  # without a CJK font every Chinese title draws as the same blanks
        assert card != images.png_card(link, title=TITLED[:19] + "…", number=petition.number,
                                       caption=render("petition_card_caption"))
    reader = {"Authorization": f"Bearer {seeded.reader_key}"}
    shown = {
        "/j/": client.get(f"/j/{seeded.titled_token}").text,
        "api list": client.get("/api/v1/petitions", headers=reader).text,
        "api petition": client.get(f"/api/v1/petitions/{seeded.titled_id}", headers=reader).text,
    }
    make_user(engine, "viewer", UserRole.VIEWER)
    assert sign_in(client, "viewer").status_code == 303
    shown |= {"console list": client.get("/console/petitions").text,
              "console petition": client.get(f"/console/petitions/{seeded.titled_id}").text}
    for surface, text in shown.items():
        assert "13812345678" not in text, f"{surface} shows the number in the title"
        assert "请回电138****5678" in text, f"{surface} does not show the masked title"


NOTE = "已派维修班组，师傅电话 137-2345-6789，业主身份证 410105199001011234 已核实"
ADDRESS = "幸福路1号 门卫 0371-6123 4567"
LABEL = "物业 139 8765 4321"
NOTE_RAW = ("137-2345-6789", "410105199001011234", "0371-6123 4567", "139 8765 4321")
NOTE_SHOWN = ("137-****-6789", "410105********1234", "0371-**** 4567", "139 **** 4321")


@pytest.fixture
def noted(engine: Engine, settings: Settings) -> tuple[int, str, str]:
    """A ticket whose address, place label, photo note and dispatcher's note (timeline and notification) carry
    numbers; its id, tracking code and a reader key."""
    now = utcnow()
    with engine.begin() as conn:
        citizen = lock_citizen(conn, CitizenKey("wechat", "gh_x", "oPersonalData02"), now)
        ticket = repository.open_ticket(conn, NewTicket(
            "wechat", citizen.id, "楼道灯不亮", address=ADDRESS, location_label=LABEL, latitude=34.7, longitude=113.6,
            attachments=(NewAttachment("image", "media-1", note=NOTE),)), now, settings.tz)
        progress.apply_update(conn, ticket.id, StatusUpdate(Status.ACCEPTED, actor="dispatch", note=NOTE), now)
        key = create_api_key(conn, "reader", Role.READER, now)
    return ticket.id, ticket.tracking_code, key


def test_notes_addresses_and_place_labels_are_masked(client: TestClient, engine: Engine,
                                                     noted: tuple[int, str, str]) -> None:
    ticket_id, code, key = noted
    shown = {"/t/": client.get(f"/t/{code}").text,
             "api detail": client.get(f"/api/v1/tickets/{ticket_id}", headers={"Authorization": f"Bearer {key}"}).text}
    for role in (UserRole.VIEWER, UserRole.OPERATOR):
        make_user(engine, role.value, role)
        assert sign_in(client, role.value).status_code == 303
        shown[f"console ticket ({role.value})"] = client.get(f"/console/tickets/{ticket_id}").text
    for surface, text in shown.items():
        for raw in NOTE_RAW:
            assert raw not in text, f"{surface} shows {raw}"
        assert "137-****-6789" in text and "410105********1234" in text, f"{surface} does not show the note"
    for surface in ("api detail", "console ticket (viewer)"):
        assert "0371-**** 4567" in shown[surface] and "139 **** 4321" in shown[surface], surface

    make_user(engine, "admin", UserRole.ADMIN)
    assert sign_in(client, "admin").status_code == 303
    whole = client.get(f"/console/tickets/{ticket_id}").text  # the one role that needs them sees them
    assert all(raw in whole for raw in NOTE_RAW)
