"""Which price an estimate uses: the shipped snapshot (flows/) overlaid with the prices
a refresh stored, looked up by instance type, Region and purchase option.

`PriceBook.quote` is the one lookup. `priced_catalogue` hands the estimator a
catalogue whose instances carry the prices for one Region and option, so the sizing
arithmetic reads prices where it always did and never sees another Region's rate:
an instance with no price there is left out and reported as a `NoPrice`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from bot.flow.catalogue import Catalogue, Instance, Price, Source
from bot.pricing.model import NoPrice, Purchase, Quote
from bot.pricing.regions import DEFAULT_REGION, nearest, region_of_location

SNAPSHOT_REGION = DEFAULT_REGION  # the Region the catalogue's on-demand prices are for

# Capacity Block price sheets name places, not Region codes.
_CB_PLACES = {
    "US Regions": SNAPSHOT_REGION,
    "US East (Dallas) Local Zone, us-east-1-dfw-2a": "us-east-1",
}


def snapshot_quotes(catalogue: Catalogue) -> list[Quote]:
    """The catalogue's prices as quotes: on-demand for its Region, Capacity Blocks for
    the Region their sheet names."""
    quotes = []
    for name, inst in catalogue.instances.items():
        for purchase, price in (
            (Purchase.ON_DEMAND, inst.on_demand),
            (Purchase.CAPACITY_BLOCK, inst.capacity_block),
        ):
            if price is None:
                continue
            region = _CB_PLACES.get(price.where) or region_of_location(price.where) or price.where
            source = catalogue.sources[price.source]
            quotes.append(
                Quote(
                    name,
                    region,
                    purchase,
                    price.usd_per_hour,
                    source.read_on,
                    source.url,
                    source.title,
                )
            )
    return quotes


@dataclass(frozen=True)
class PriceBook:
    """Snapshot quotes, then stored ones over them (a refresh wins where it has a price)."""

    snapshot: Sequence[Quote]
    stored: Sequence[Quote] = ()
    _by_key: dict[tuple[str, str, Purchase], Quote] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        by_key = {q.key: q for q in self.snapshot}
        by_key.update({q.key: q for q in self.stored})
        object.__setattr__(self, "_by_key", by_key)

    @classmethod
    def of(
        cls, catalogue: Catalogue, stored: Iterable[Quote] = (), shipped: Iterable[Quote] = ()
    ) -> PriceBook:
        """The catalogue's prices and the ``shipped`` Savings Plans and Spot rates
        (flows/purchase.toml), with the ``stored`` ones over both."""
        return cls((*snapshot_quotes(catalogue), *shipped), tuple(stored))

    def quote(self, instance: str, region: str, purchase: Purchase) -> Quote | NoPrice:
        found = self._by_key.get((instance, region, purchase))
        if found is not None:
            return found
        elsewhere = {r for (i, r, p) in self._by_key if i == instance and p == purchase}
        return NoPrice(instance, region, purchase, nearest(region, elsewhere))

    def is_stored(self, quote: Quote) -> bool:
        return any(q is quote for q in self.stored)


@dataclass(frozen=True)
class Priced:
    """A catalogue priced for one Region and option, and the instances left out."""

    catalogue: Catalogue
    region: str
    purchase: Purchase
    missing: dict[str, NoPrice]

    def keep(self, groups: Sequence[Sequence[str]]) -> list[tuple[str, ...]]:
        """The groups without the instances that have no price here (empty ones dropped)."""
        kept = [tuple(n for n in group if n not in self.missing) for group in groups]
        return [group for group in kept if group]


def priced_catalogue(
    catalogue: Catalogue, book: PriceBook, region: str, purchase: Purchase
) -> Priced:
    """``catalogue`` with each instance's price for ``region`` and ``purchase``.

    The shipped case (the snapshot's Region, on-demand, nothing refreshed) leaves the
    catalogue as it is, its Capacity Block prices labelled with where they apply.
    """
    sources = dict(catalogue.sources)
    instances: dict[str, Instance] = {}
    missing: dict[str, NoPrice] = {}

    def price_of(quote: Quote) -> Price:
        key = f"price:{quote.region}:{quote.purchase}:{quote.instance}"
        sources[key] = Source(
            title=quote.source_title[:200], url=quote.source_url, read_on=quote.as_of
        )
        return Price(usd_per_hour=quote.usd_per_hour, where=quote.region, source=key)

    for name, inst in catalogue.instances.items():
        found = book.quote(name, region, purchase)
        if purchase is Purchase.ON_DEMAND:
            block = book.quote(name, region, Purchase.CAPACITY_BLOCK)
            refreshed = any(isinstance(q, Quote) and book.is_stored(q) for q in (found, block))
            if region == SNAPSHOT_REGION and not refreshed:
                instances[name] = inst  # as shipped, each price labelled with its place
                continue
            on_demand = price_of(found) if isinstance(found, Quote) else None
            cb = None
            if isinstance(block, Quote):
                cb = price_of(block) if book.is_stored(block) else inst.capacity_block
            if on_demand is None and cb is None:
                missing[name] = found  # type: ignore[assignment]  # a NoPrice here
                instances[name] = inst
                continue
            update: dict[str, object] = {"on_demand": on_demand, "capacity_block": cb}
            if on_demand is None:
                update["no_on_demand"] = found.message()  # type: ignore[union-attr]
            instances[name] = inst.model_copy(update=update)
            continue
        if not isinstance(found, Quote):
            missing[name] = found
            instances[name] = inst
        elif purchase is Purchase.CAPACITY_BLOCK:
            instances[name] = inst.model_copy(
                update={
                    "on_demand": None,
                    "capacity_block": price_of(found)
                    if book.is_stored(found)
                    else inst.capacity_block,
                    "no_on_demand": "priced as a Capacity Block, as asked",
                }
            )
        else:  # a Savings Plan or Spot rate, per instance-hour like on-demand
            instances[name] = inst.model_copy(
                update={"on_demand": price_of(found), "capacity_block": None}
            )
    priced = catalogue.model_copy(update={"instances": instances, "sources": sources})
    return Priced(priced, region, purchase, missing)
