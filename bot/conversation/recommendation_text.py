"""A recommendation's facts as words, with the source each rests on: shared by the
terminal and the Slack card, which differ only in how they show a link."""

from __future__ import annotations

from dataclasses import dataclass

from bot.conversation.recommendation import RecommendedNode
from bot.flow.catalogue import Catalogue, Instance


@dataclass(frozen=True)
class Sourced:
    """Words and the catalogue source key behind them (None: the flowchart's own words)."""

    text: str
    source: str | None


def claim(item: RecommendedNode, line: str) -> Sourced:
    """One line of the flowchart's label, with its caveat on the same line."""
    said = item.details.claims.get(line) if item.details else None
    if said is None:
        return Sourced(line, None)
    text = f"{line} ({said.caveat})" if said.caveat else line
    return Sourced(text, said.source)


def claim_text(item: RecommendedNode, line: str) -> str:
    return claim(item, line).text


def prices(item: RecommendedNode, catalogue: Catalogue) -> list[Sourced]:
    """What the offering costs: instance prices, storage or caching charges, or the
    words file's price note."""
    details = item.details
    if details is None:
        return []
    found: list[Sourced] = []
    for name in details.instances:
        found += _instance_prices(name, catalogue.instances[name])
    for name in details.services:
        service = catalogue.services[name]
        found += [
            Sourced(f"{service.name}, {c.what}: ${c.usd:g} per {c.per}", c.source)
            for c in service.charges
        ]
    if details.price is not None:
        found.append(Sourced(details.price.text, details.price.source))
    return found


def _instance_prices(name: str, instance: Instance) -> list[Sourced]:
    found = []
    if instance.on_demand is not None:
        p = instance.on_demand
        found.append(Sourced(f"{name}: ${p.usd_per_hour:g}/hr on demand ({p.where})", p.source))
    if instance.capacity_block is not None:
        p = instance.capacity_block
        found.append(
            Sourced(f"{name}: ${p.usd_per_hour:g}/hr as a Capacity Block ({p.where})", p.source)
        )
    return found


def price_lines(item: RecommendedNode, catalogue: Catalogue) -> list[str]:
    """Prices for a terminal: each with its source URL."""
    return [
        f"{p.text} [{catalogue.url(p.source)}]" if p.source else p.text
        for p in prices(item, catalogue)
    ]


def plain(text: str) -> str:
    """Words meant for mrkdwn, for a terminal: no backticks."""
    return text.replace("`", "")
