"""flows/purchase.toml: what a path of the flowchart says about how its instances may
be bought, the Bedrock features named on some paths, and the Savings Plans and Spot
rates shipped beside the on-demand snapshot (each sourced and dated).

Kept in data so that a flowchart edit (a node renamed, a branch added) is a data edit:
the rules in `bot.pricing.purchase_advice` read `PathNeeds`, never node ids.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from bot.flow.catalogue import Source
from bot.pricing.flows_file import read_checked
from bot.pricing.model import PriceRefreshError, Purchase, Quote

FILE_NAME = "purchase.toml"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Paths(_Strict):
    checkpoints: tuple[str, ...] = ()
    latency_bound: tuple[str, ...] = ()
    batch: tuple[str, ...] = ()
    prompt_caching: tuple[str, ...] = ()


class Feature(_Strict):
    text: str = Field(min_length=1, max_length=400)
    source: str


class Bedrock(_Strict):
    batch: Feature | None = None
    prompt_caching: Feature | None = None


class ShippedRate(_Strict):
    """A Savings Plan or Spot rate per instance-hour, with its source. ``as_of`` is the
    day the rate held when the source dates it (a Spot sample posted on some day): a
    Spot price read months later is that day's price, not today's. Without it the
    rate is as of the day its source was read."""

    instance: str = Field(min_length=1, max_length=40)
    region: str = Field(min_length=1, max_length=20)
    purchase: Purchase
    usd_per_hour: float = Field(gt=0)
    source: str
    as_of: dt.date | None = None


class PurchaseFile(_Strict):
    paths: Paths = Paths()
    sources: dict[str, Source] = {}
    bedrock: Bedrock = Bedrock()
    prices: tuple[ShippedRate, ...] = ()

    def quotes(self) -> list[Quote]:
        """The shipped Savings Plans and Spot rates as quotes for the price book."""
        out = []
        for rate in self.prices:
            source = self.sources[rate.source]
            out.append(
                Quote(
                    rate.instance,
                    rate.region,
                    rate.purchase,
                    rate.usd_per_hour,
                    rate.as_of or source.read_on,
                    source.url,
                    source.title,
                )
            )
        return out

    def needs(self, kind: str, path: Iterable[str]) -> PathNeeds:
        """What the nodes on ``path`` say about buying for this ``kind`` of estimate."""
        on = set(path)
        return PathNeeds(
            kind=kind,
            checkpoints=bool(on & set(self.paths.checkpoints)),
            latency_bound=bool(on & set(self.paths.latency_bound)),
            batch=bool(on & set(self.paths.batch)),
            prompt_caching=bool(on & set(self.paths.prompt_caching)),
        )

    def feature(self, name: str) -> tuple[str, str] | None:
        """(text, url) of a Bedrock feature named on some paths."""
        found: Feature | None = getattr(self.bedrock, name)
        if found is None:
            return None
        return found.text, self.sources[found.source].url


@dataclass(frozen=True)
class PathNeeds:
    """What the answers say about buying: training or serving, whether the run saves
    checkpoints, whether serving has a tight latency target, and which Bedrock features
    the path makes relevant. Unknown (a command without a path) reads as False."""

    kind: str
    checkpoints: bool = False
    latency_bound: bool = False
    batch: bool = False
    prompt_caching: bool = False


def load_purchase_file(flows_dir: Path) -> PurchaseFile:
    """The file, checked: every source named must be listed with a URL and a date."""
    path = Path(flows_dir) / FILE_NAME
    if not path.exists():
        return PurchaseFile()
    data = read_checked(path, PurchaseFile)
    named = [r.source for r in data.prices]
    named += [f.source for f in (data.bedrock.batch, data.bedrock.prompt_caching) if f]
    unknown = [key for key in named if key not in data.sources]
    if unknown:
        raise PriceRefreshError(f"{path}: unknown source {unknown[0]!r}; add it under [sources]")
    late = [r for r in data.prices if r.as_of and r.as_of > data.sources[r.source].read_on]
    if late:
        raise PriceRefreshError(
            f"{path}: {late[0].instance} {late[0].purchase}: as_of {late[0].as_of} is after "
            "the day its source was read; a price cannot be dated after it was seen"
        )
    seen: set[tuple[str, str, Purchase]] = set()
    for rate in data.prices:
        key = (rate.instance, rate.region, rate.purchase)
        if key in seen:
            raise PriceRefreshError(
                f"{path}: {rate.instance} {rate.purchase} in {rate.region} is listed twice; "
                "keep one rate per instance, region and purchase"
            )
        seen.add(key)
    wrong = [r for r in data.prices if r.purchase in (Purchase.ON_DEMAND, Purchase.CAPACITY_BLOCK)]
    if wrong:
        raise PriceRefreshError(
            f"{path}: {wrong[0].instance} {wrong[0].purchase}: on-demand and Capacity Block "
            "prices belong in offerings.toml"
        )
    return data


def read_purchase_file(flows_dir: Path) -> PurchaseFile:
    """The file, or an empty one when it cannot be read (then no path rule applies and
    no Savings Plan or Spot rate is shipped: nothing false is said)."""
    try:
        return load_purchase_file(flows_dir)
    except (PriceRefreshError, OSError):
        return PurchaseFile()
