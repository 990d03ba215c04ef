"""Jinja2 files: every text a citizen reads (`messages/`) and every page (`pages/`)."""

from pathlib import Path

TEMPLATES_DIR = Path(__file__).parent
MESSAGES_DIR = TEMPLATES_DIR / "messages"
PAGES_DIR = TEMPLATES_DIR / "pages"
