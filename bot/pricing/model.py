"""What a price is: an instance-hour rate for one instance type, region and purchase
option, with the day it was true and where it was read.

Plain values shared by the snapshot, the refresh and the estimate. A price that is not
known is a `NoPrice`, never a number borrowed from another region or option.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol


class Purchase(StrEnum):
    """How an instance is bought; the value is the command line's spelling."""

    ON_DEMAND = "on-demand"
    CAPACITY_BLOCK = "capacity-block"
    SAVINGS_PLAN_1Y = "savings-plan-1y"
    SAVINGS_PLAN_3Y = "savings-plan-3y"
    SPOT = "spot"


PURCHASES: tuple[str, ...] = tuple(p.value for p in Purchase)

# What each option assumes, said beside every price bought that way.
CAVEATS: dict[Purchase, str] = {
    Purchase.SPOT: (
        "Spot: AWS may take the instances back with two minutes' notice and the price "
        "moves with demand; fine for checkpointed training and batch inference, not for "
        "a latency target"
    ),
    Purchase.SAVINGS_PLAN_1Y: (
        "Savings Plan, 1 year, no upfront: the rate is a commitment to pay this much per "
        "hour for a year, used or not"
    ),
    Purchase.SAVINGS_PLAN_3Y: (
        "Savings Plan, 3 years, no upfront: the rate is a commitment to pay this much per "
        "hour for three years, used or not"
    ),
    Purchase.CAPACITY_BLOCK: (
        "Capacity Block: reserved and paid up front for 1 to 182 days, booked up to 8 "
        "weeks ahead; not a basis for always-on serving"
    ),
}


@dataclass(frozen=True)
class Quote:
    """One price: USD per instance-hour, as of a day, from a source."""

    instance: str
    region: str
    purchase: Purchase
    usd_per_hour: float
    as_of: dt.date
    source_url: str
    source_title: str

    @property
    def key(self) -> tuple[str, str, Purchase]:
        return (self.instance, self.region, self.purchase)


@dataclass(frozen=True)
class NoPrice:
    """No known price for an instance in a region for a purchase option; ``nearest``
    names the closest regions that have one (closest first)."""

    instance: str
    region: str
    purchase: Purchase
    nearest: tuple[str, ...] = ()

    def message(self) -> str:
        text = f"no {self.purchase} price for {self.instance} in {self.region}"
        if self.nearest:
            return f"{text}; nearest regions with one: {', '.join(self.nearest)}"
        return f"{text} in the shipped snapshot or the refreshed prices"


class PriceLookup(Protocol):
    """What an estimate needs of prices: one quote per instance, region and option."""

    def quote(self, instance: str, region: str, purchase: Purchase) -> Quote | NoPrice: ...


class PriceRefreshError(Exception):
    """A refresh that cannot complete (a malformed file, no credentials, no API); the
    message is one line saying what happened and what to do. Nothing was stored."""


def published(data: Mapping[str, Any], name: str) -> dt.date:
    """An offer or price file's `publicationDate`: the day its prices are as of."""
    text = data.get("publicationDate")
    if not isinstance(text, str):
        raise PriceRefreshError(f"{name}: the offer file has no publicationDate")
    try:
        return dt.datetime.fromisoformat(text.replace("Z", "+00:00")).date()
    except ValueError:
        raise PriceRefreshError(f"{name}: publicationDate {text!r} is not a date") from None


@dataclass(frozen=True)
class PurchaseOption:
    """One way to buy an estimate's instances: its rate and its cost at the estimate's
    size (per run or per month), whether it suits the path (``sensible``), and in
    ``why`` the commitment it needs or the reason it does not suit. ``cost_usd`` is None
    when no price is known here; ``cheapest`` marks the cheapest sensible one."""

    purchase: Purchase
    usd_per_hour: float | None
    cost_usd: float | None
    sensible: bool
    why: str
    caveat: str | None = None
    price_as_of: str | None = None
    price_source: str | None = None
    cheapest: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "purchase": self.purchase.value,
            "usd_per_hour": self.usd_per_hour,
            "cost_usd": None if self.cost_usd is None else round(self.cost_usd, 2),
            "sensible": self.sensible,
            "cheapest_sensible": self.cheapest,
            "why": self.why,
            "caveat": self.caveat,
            "price_as_of": self.price_as_of,
            "price_source": self.price_source,
        }
