"""The city's knowledge base, loaded once for the tests of this folder (jieba's dictionary takes a second)."""

from __future__ import annotations

from pathlib import Path

import pytest

from language.knowledge import KnowledgeBase, load_knowledge

KNOWLEDGE = Path(__file__).resolve().parents[3] / "catalogue" / "knowledge"


@pytest.fixture(scope="session")
def kb() -> KnowledgeBase:
    """The shipped knowledge base (catalogue/knowledge/)."""
    return load_knowledge(KNOWLEDGE)
