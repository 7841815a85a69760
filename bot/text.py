"""Shortening text for a field with a length limit, at a word, with an ellipsis.

Slack cuts nothing itself: a header over 150 characters or a title over a block's
limit is refused, so every builder shortens first, and never mid-word.
"""

from __future__ import annotations


def clip(text: str, limit: int) -> str:
    """``text`` in at most ``limit`` characters, cut at a word with an ellipsis
    (mid-word only when one word is longer than half the limit)."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    if space > limit // 2:
        cut = cut[:space]
    return cut.rstrip(" ,;:-–(·") + "…"


def short_title(title: str, limit: int = 60) -> str:
    """A page's title as a link's name: up to its first parenthesis, and up to a colon
    when what stands before it names the page ("AWS price list behind the EC2 On-Demand
    pricing page: US East (N. Virginia), Linux" → its first half); then cut at a word."""
    head = title.split(" (")[0]
    before, colon, _ = head.partition(": ")
    if colon and len(before) >= 20:
        head = before
    return clip(head, limit)
