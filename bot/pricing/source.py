"""Where a conversation's estimate gets its prices: the Region asked for (or the
default), the priced catalogue, and the hosted-model prices for the API alternative.

The running app attaches a `LivePrices` (stored prices, reloaded after a refresh) to
its flows; `chat` and tests use `SnapshotPrices`, the prices shipped in flows/.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Protocol

from bot.estimate.model import ApiAlternative, Estimate, PricedIn
from bot.flow.catalogue import Catalogue
from bot.pricing.api_alternative import ApiOption, ApiPrices, api_option, load_api_prices
from bot.pricing.book import PriceBook, Priced, priced_catalogue
from bot.pricing.estimate_prices import break_even_of
from bot.pricing.model import PriceRefreshError, Purchase
from bot.pricing.purchase_advice import Buying, advice_for
from bot.pricing.purchase_file import PurchaseFile, read_purchase_file
from bot.pricing.regions import DEFAULT_REGION


class PriceSource(Protocol):
    """What an estimate asks of prices."""

    @property
    def default_region(self) -> str: ...

    def priced(self, region: str, purchase: Purchase = Purchase.ON_DEMAND) -> Priced: ...

    def api_prices(self) -> ApiPrices | None: ...

    def purchase_file(self) -> PurchaseFile: ...

    def pricer(self, region: str) -> Callable[[Purchase], Priced]: ...


def read_api_prices(flows_dir: Path) -> ApiPrices | None:
    """The hosted-model prices in ``flows_dir``, or None when the file is absent or
    unreadable (the estimate then offers no API alternative, and says nothing false)."""
    try:
        return load_api_prices(flows_dir)
    except (PriceRefreshError, OSError):
        return None


@dataclass
class SnapshotPrices:
    """The prices shipped in flows/ only, priced once per Region and option."""

    catalogue: Catalogue
    flows_dir: Path
    default_region: str = DEFAULT_REGION
    _priced: dict[tuple[str, Purchase], Priced] = field(default_factory=dict, repr=False)
    _api: ApiPrices | bool | None = field(default=False, repr=False)
    _purchase: PurchaseFile | None = field(default=None, repr=False)

    def purchase_file(self) -> PurchaseFile:
        if self._purchase is None:
            self._purchase = read_purchase_file(self.flows_dir)
        return self._purchase

    def pricer(self, region: str) -> Callable[[Purchase], Priced]:
        return lambda purchase: self.priced(region, purchase)

    def priced(self, region: str, purchase: Purchase = Purchase.ON_DEMAND) -> Priced:
        key = (region, purchase)
        if key not in self._priced:
            book = PriceBook.of(self.catalogue, shipped=self.purchase_file().quotes())
            self._priced[key] = priced_catalogue(self.catalogue, book, region, purchase)
        return self._priced[key]

    def api_prices(self) -> ApiPrices | None:
        if self._api is False:
            self._api = read_api_prices(self.flows_dir)
        return self._api  # type: ignore[return-value]


def buying_for(source: PriceSource, region: str, kind: str, path: Iterable[str]) -> Buying:
    """The purchase advice's inputs for an estimate on ``path`` (node ids) in ``region``."""
    file = source.purchase_file()
    needs = file.needs(kind, path)
    names = [
        n for n, on in (("batch", needs.batch), ("prompt_caching", needs.prompt_caching)) if on
    ]
    features = tuple(f for f in (file.feature(n) for n in names) if f is not None)
    return Buying(needs, features, source.pricer(region))


def with_prices(
    estimate: Estimate,
    priced: Priced,
    considered: Sequence[str],
    api: ApiPrices | None,
    hours_per_month: float,
    buying: Buying | None = None,
) -> Estimate:
    """``estimate`` (sized on ``priced.catalogue``) saying which prices it used, which
    of the ``considered`` instances have none in the Region, and, for serving, the
    hosted-model alternative with each option's break-even traffic. With ``buying``, the
    recommended option's purchase options for the path, and the Bedrock features the
    path makes relevant in the API alternative's notes."""
    used = []
    for o in estimate.options:
        instance = priced.catalogue.instances.get(o.instance)
        price = instance and (instance.on_demand or instance.capacity_block)
        if price:
            used.append(priced.catalogue.sources.get(price.source))
    dated = [s for s in used if s is not None]
    oldest = min(dated, key=lambda s: s.read_on) if dated else None
    missing = tuple(
        priced.missing[n].message() for n in dict.fromkeys(considered) if n in priced.missing
    )
    priced_in = PricedIn(
        region=priced.region,
        purchase=str(priced.purchase),
        as_of=oldest.read_on.isoformat() if oldest else "",
        source=oldest.title if oldest else "",
        missing=missing,
        purchase_options=advice_for(estimate.recommended, buying, priced.catalogue, hours_per_month)
        if buying is not None
        else (),
    )
    alternative = None
    if estimate.kind == "inference" and api is not None:
        a = estimate.assumptions
        option = api_option(
            api,
            float(a["params"]),
            float(a["tokens_per_second"]),
            priced.region,
            hours_per_month,
            float(a.get("prompt_tokens_per_second") or 0.0),
            features=buying.features if buying else (),
            batch_price=buying is None or buying.needs.batch,
        )
        even = tuple(
            (o.instance, break_even_of(option, o) if o.fits else None) for o in estimate.options
        )
        alternative = ApiAlternative(
            model=option.model.name if option.model else None,
            monthly_cost_usd=option.monthly_cost_usd,
            notes=option.notes,
            sources=option.sources,
            break_even_tokens_per_day=even,
            features=_features(buying, option),
        )
    return replace(estimate, priced_in=priced_in, api=alternative)


def _features(buying: Buying | None, option: ApiOption) -> tuple[str, ...]:
    """The Bedrock features the path makes relevant, with the hosted model's own batch
    price where the file has one and batch is named."""
    if buying is None:
        return ()
    texts = [text for text, _ in buying.features]
    model = option.model
    if buying.needs.batch and model is not None and model.batch_output_usd_per_million:
        texts.append(
            f"{model.name} in batch: ${model.batch_input_usd_per_million:g} / "
            f"${model.batch_output_usd_per_million:g} per million input / output tokens"
        )
    return tuple(texts)
