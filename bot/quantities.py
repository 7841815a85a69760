"""Quantities as people write them: $4.91M, 29.9 days, 620,865, 70B.

Shared by the estimate's words, the terminal, Slack and the chart.
"""

from __future__ import annotations


def short(value: float) -> str:
    """A large count in three significant figures: 70B, 1.5T, 500M, 2K."""
    for suffix, scale in (("T", 1e12), ("B", 1e9), ("M", 1e6), ("K", 1e3)):
        if value >= scale:
            return f"{value / scale:.3g}{suffix}"
    return f"{value:,.3g}"


def article(spoken: str) -> str:
    """ "a" or "an" before a number written in figures, by how it is said: an 8B,
    an 11B, an 18B, an 80B, an 800M; a 70B, a 1.5T, a 110B."""
    whole = spoken.split(".")[0].replace(",", "")
    digits = "".join(ch for ch in whole if ch.isdigit())
    if digits.startswith("8") or (len(digits) % 3 == 2 and digits[:2] in ("11", "18")):
        return "an"
    return "a"


def params_text(n: float) -> str:
    """A parameter count: 70B, 405B, 1.5T."""
    return short(n)


def money(usd: float | None) -> str:
    if usd is None:
        return "no price"
    if usd >= 1e6:
        return f"${usd / 1e6:,.2f}M"
    if usd >= 1000:
        return f"${usd:,.0f}"
    return f"${usd:,.2f}"


def duration(hours: float | None) -> str:
    if hours is None:
        return "-"
    if hours >= 48:
        return f"{hours / 24:,.1f} days"
    return f"{hours:,.1f} h"


def count(n: float | None) -> str:
    if n is None:
        return "-"
    if n >= 1e6:
        return f"{n / 1e6:,.2f}M"
    return f"{n:,.0f}"
