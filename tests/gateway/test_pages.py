"""The public pages' security headers: a strict Content-Security-Policy the pages work with, no framing,
no MIME sniffing, no Referer (the address of `/t/` and `/j/` is the secret that opens them)."""

from __future__ import annotations

import re

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from qr.links import signer_for
from tickets import petitions, repository
from tickets.clock import utcnow
from tickets.repository import NewTicket
from tickets.settings import Settings

STYLE_NONCE = re.compile(r'<style nonce="([^"]+)">')


@pytest.fixture
def addresses(engine: Engine, settings: Settings) -> dict[str, str]:
    """Every kind of public page: a ticket's progress, a petition's co-sign page, and the refusals."""
    now = utcnow()
    with engine.begin() as conn:
        ticket = repository.open_ticket(conn, NewTicket("web", None, "路灯不亮", address="幸福路1号"), now, settings.tz)
        petition, _ = petitions.start(conn, ticket.id, now=now, days=30)
    token = signer_for(settings.secret_key, settings.link_key_ids).sign(petition.id, petition.expires_at)
    return {"progress": f"/t/{ticket.tracking_code}", "no such ticket": "/t/ABCDEFGH23",
            "co-sign": f"/j/{token}", "invalid link": "/j/not-a-link"}


def check_headers(response: httpx.Response) -> str:
    """The page's style nonce, after checking every security header against it."""
    found = STYLE_NONCE.findall(response.text)
    assert len(found) == 1, "one inline style sheet, carrying the nonce"
    nonce = found[0]
    policy = {d.split()[0]: d.split()[1:] for d in response.headers["content-security-policy"].split("; ")}
    assert policy == {"default-src": ["'none'"], "style-src": [f"'nonce-{nonce}'"], "img-src": ["'self'"],
                      "form-action": ["'self'"], "frame-ancestors": ["'none'"], "base-uri": ["'none'"]}
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "no-referrer"
    # What the policy would block is not on the page: scripts, inline style attributes, outside resources.
    assert "<script" not in response.text and " style=" not in response.text
    assert not re.search(r'(?:src|href|action)="(?:https?:)?//', response.text)
    return nonce


def test_public_pages_send_a_strict_policy_they_work_with(client: TestClient, addresses: dict[str, str]) -> None:
    nonces = []
    for name, path in addresses.items():
        response = client.get(path)
        assert response.headers["content-type"].startswith("text/html"), name
        nonces.append(check_headers(response))
    assert len(set(nonces)) == len(nonces)  # a fresh nonce for every response


def test_the_printable_card_is_not_sniffed(client: TestClient, addresses: dict[str, str]) -> None:
    card = client.get(f"{addresses['co-sign']}/card.png")
    assert card.headers["content-type"] == "image/png" and card.headers["x-content-type-options"] == "nosniff"
