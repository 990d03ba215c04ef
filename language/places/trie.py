"""Many words as one regular expression shaped as a trie: one pass over a text finds the longest at each position."""

from __future__ import annotations

import re
from collections.abc import Iterable

_Node = dict[str, "_Node"]


def trie_pattern(words: Iterable[str]) -> str:
    """A regular expression matching any of `words`, the longest at each position (shaped as a trie: fast)."""
    root: _Node = {}
    for word in words:
        node = root
        for char in word:
            node = node.setdefault(char, {})
        node[""] = {}
    return _trie_node(root) or "(?!)"


def _trie_node(node: _Node) -> str:
    """The expression of one trie node: its branches, optional when a word also ends here."""
    branches = [re.escape(char) + _trie_node(child) for char, child in sorted(node.items()) if char]
    if not branches:
        return ""
    body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
    return f"(?:{body})?" if "" in node else body
