"""Prices for `python -m bot estimate`: `--region` and `--purchase`, the catalogue priced
for them, and what each option's JSON and text say about the price it used.

Everything the estimate command needs of pricing goes through `EstimatePrices`, so the
command itself only passes the priced catalogue and the kept groups to the sizing.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from bot.estimate import Estimate, EstimateError, OptionEstimate
from bot.flow.catalogue import Catalogue
from bot.flow.compiled import Flow
from bot.flow.loader import DEFAULT_FLOWS_DIR
from bot.pricing.api_alternative import (
    ApiOption,
    api_json,
    api_option,
    break_even_tokens_per_day,
    load_api_prices,
)
from bot.pricing.book import PriceBook, Priced, priced_catalogue
from bot.pricing.model import CAVEATS, PURCHASES, NoPrice, PriceRefreshError, Purchase, Quote
from bot.pricing.purchase_advice import Buying, advice_for, advice_line, cheapest
from bot.pricing.purchase_file import PathNeeds, read_purchase_file
from bot.pricing.regions import REGIONS, read_region

SERVING_ON_BLOCKS = (
    "--purchase capacity-block: Capacity Blocks are paid up front and last at most 182 "
    "days, so they are no basis for always-on serving; use on-demand, a Savings Plan or "
    "(for batch work) spot"
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--region", help="AWS Region to price in, e.g. eu-west-1 (default: AWS_REGION)"
    )
    parser.add_argument(
        "--purchase",
        default="on-demand",
        help=f"how the instances are bought: {', '.join(PURCHASES)}",
    )
    parser.add_argument(
        "--checkpoints",
        action="store_true",
        help="the training run saves checkpoints, so Spot is a sensible way to buy it",
    )


@dataclass
class EstimatePrices:
    priced: Priced
    flows_dir: Path
    hours_per_month: float
    compare: bool = True  # list the API option (not when one --instance was asked for)
    considered: tuple[str, ...] = ()  # the instances the estimate was asked to size
    buying: Buying | None = None  # how the instances may be bought (purchase options)

    @classmethod
    def from_args(
        cls, args: argparse.Namespace, flow: Flow, err: TextIO | None = None
    ) -> EstimatePrices:
        purchase = _purchase(args.purchase)
        if purchase is Purchase.CAPACITY_BLOCK and args.kind == "inference":
            raise EstimateError(SERVING_ON_BLOCKS)
        region = _region(args.region)
        flows_dir = Path(getattr(args, "flows_dir", None) or DEFAULT_FLOWS_DIR)
        shipped = read_purchase_file(flows_dir)
        book = PriceBook.of(flow.catalogue, stored_prices(err or sys.stderr), shipped.quotes())
        words = flow.words.estimate
        hours = words.hours_per_month.value if words is not None else 730.0
        priced = priced_catalogue(flow.catalogue, book, region, purchase)
        needs = PathNeeds(
            args.kind,
            checkpoints=bool(getattr(args, "checkpoints", False)),
            latency_bound=args.kind == "inference" and bool(getattr(args, "latency_ms", None)),
        )
        buying = Buying(needs, (), lambda p: priced_catalogue(flow.catalogue, book, region, p))
        compare = not getattr(args, "instance", None)
        return cls(priced, flows_dir, hours, compare=compare, buying=buying)

    @property
    def catalogue(self) -> Catalogue:
        return self.priced.catalogue

    def groups(self, groups: Sequence[Sequence[str]]) -> list[tuple[str, ...]]:
        self.considered = tuple(_names(groups))
        kept = self.priced.keep(groups)
        if not kept:
            raise EstimateError(
                "; ".join(self.priced.missing[n].message() for n in _names(groups))
                + ". Try another --region or --purchase, or refresh prices "
                "(python -m bot prices refresh)"
            )
        return kept

    def api(self, estimate: Estimate) -> ApiOption | None:
        if estimate.kind != "inference":
            return None
        try:
            prices = load_api_prices(self.flows_dir)
        except PriceRefreshError:
            return None
        a = estimate.assumptions
        return api_option(
            prices,
            float(a["params"]),
            float(a["tokens_per_second"]),
            self.priced.region,
            self.hours_per_month,
            float(a.get("prompt_tokens_per_second") or 0.0),
        )

    def to_json(self, estimate: Estimate, objects: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Each option's object with its price's region, option, date and source; the
        instances with no price here; and, for inference, the API option."""
        api = self.api(estimate)
        out = []
        for option, data in zip(estimate.options, objects, strict=True):
            data = {"kind": "self-hosted", **data, **self.price_fields(option.instance)}
            data["notes"] = [*data.get("notes", []), *self.caveats(option.instance)]
            if api is not None:
                data["break_even_tokens_per_day"] = break_even_of(api, option)
            if self.buying is not None:
                options = advice_for(option, self.buying, self.catalogue, self.hours_per_month)
                best = cheapest(options)
                data["purchase_options"] = [o.to_json() for o in options]
                data["cheapest_sensible_purchase"] = best.purchase.value if best else None
            out.append(data)
        out += [
            {
                "kind": "no-price",
                "instance": missing.instance,
                "region": missing.region,
                "purchase": missing.purchase.value,
                "nearest_regions": list(missing.nearest),
                "notes": [missing.message()],
            }
            for missing in self.missing()
        ]
        if api is not None and self.compare:
            out.append(api_json(api))
        return out

    def missing(self) -> list[NoPrice]:
        """The instances asked about that have no price here."""
        return [self.priced.missing[n] for n in self.considered if n in self.priced.missing]

    def price_fields(self, instance: str) -> dict[str, Any]:
        inst = self.catalogue.instances[instance]
        source = self.catalogue.sources[inst.price.source]
        purchase = self.priced.purchase
        if inst.on_demand is None:
            purchase = Purchase.CAPACITY_BLOCK
        fields: dict[str, Any] = {
            "region": self.priced.region,
            "purchase": purchase.value,
            "price_as_of": source.read_on.isoformat(),
            "price_source": source.url,
        }
        if purchase in (Purchase.SPOT, Purchase.SAVINGS_PLAN_1Y, Purchase.SAVINGS_PLAN_3Y):
            fields["price_basis"] = purchase.value
        return fields

    def caveats(self, instance: str) -> list[str]:
        purchase = Purchase(self.price_fields(instance)["purchase"])
        caveat = CAVEATS.get(purchase)
        return [caveat] if caveat and purchase is self.priced.purchase else []

    def lines(self, estimate: Estimate) -> list[str]:
        """For the terminal: where and how it is priced, as of when, what is missing,
        the cheapest sensible way to buy the first option, and the API alternative."""
        dates = sorted({self.price_fields(o.instance)["price_as_of"] for o in estimate.options})
        lines = [f"Prices: {self.priced.region}, {self.priced.purchase}, as of {', '.join(dates)}"]
        caveat = CAVEATS.get(self.priced.purchase)
        lines += [f"  {caveat}"] if caveat else []
        lines += [f"  {m.message()}" for m in self.missing()]
        first = estimate.options[0]
        if self.buying is not None:
            options = advice_for(first, self.buying, self.catalogue, self.hours_per_month)
            per = "per run" if estimate.kind == "training" else "per month"
            advice = advice_line(options, first.instance, self.priced.region, per)
            lines += [advice] if advice else []
        api = self.api(estimate)
        if api is not None:
            lines += api_lines(api, estimate)
        return lines


def api_lines(api: ApiOption, estimate: Estimate) -> list[str]:
    if api.model is None or api.monthly_cost_usd is None:
        return [f"API alternative: {'; '.join(api.notes)}"]
    lines = [
        f"API alternative: {api.model.name} on Amazon Bedrock, ${api.monthly_cost_usd:,.0f} "
        f"per month (prices as of {api.as_of})"
    ]
    for option in estimate.options:
        even = break_even_of(api, option)
        lines.append(
            f"  {option.instance}: "
            + (
                f"costs the same as the API at about {even:,.0f} tokens a day"
                if even is not None
                else "the API is cheaper at any traffic"
                if option.monthly_cost_usd
                else "no monthly cost to compare"
            )
        )
    return lines


def stored_prices(err: TextIO) -> list[Quote]:
    """Prices a refresh stored, if the app's database has any; never creates a
    database. A database that cannot be read is said once, then the snapshot is used."""
    import sqlalchemy as sa

    from bot.pricing.stored import load
    from bot.settings import ConfigError, load_database_settings
    from bot.store.engine import DB_FILENAME, make_engine
    from bot.store.errors import StoreConfigError

    try:
        settings = load_database_settings()
    except ConfigError as exc:
        print(f"estimate: stored prices not read ({exc}); using the shipped snapshot", file=err)
        return []
    if not settings.database_url and not (settings.data_dir / DB_FILENAME).exists():
        return []
    try:
        engine = make_engine(settings.database_url, settings.data_dir)
    except StoreConfigError as exc:
        print(f"estimate: stored prices not read ({exc}); using the shipped snapshot", file=err)
        return []
    try:
        if not sa.inspect(engine).has_table("prices"):
            return []
        return load(engine)
    except sa.exc.SQLAlchemyError as exc:
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        print(f"estimate: stored prices not read ({reason}); using the shipped snapshot", file=err)
        return []
    finally:
        engine.dispose()


def break_even_of(api: ApiOption, option: OptionEstimate) -> float | None:
    """The traffic (tokens a day) at which ``option`` costs what the API does."""
    steps = option.instances
    if option.replicas:
        steps = min(option.instances, option.replicas)
    even = break_even_tokens_per_day(
        api, option.monthly_cost_usd, steps, option.tokens_per_second_capacity
    )
    return None if even is None else round(even)


def _purchase(text: str) -> Purchase:
    try:
        return Purchase(text.strip().lower())
    except ValueError:
        raise EstimateError(f"--purchase must be one of {', '.join(PURCHASES)}.") from None


def _region(text: str | None) -> str:
    if text is None:
        from bot.settings import ConfigError, load_price_settings

        try:
            return load_price_settings().aws_region
        except ConfigError as exc:
            raise EstimateError(str(exc)) from None
    region = read_region(text)
    if region is None:
        raise EstimateError(
            f"--region: {text!r} is not an AWS Region this app knows; give a code such as "
            f"eu-west-1 (known: {', '.join(sorted(REGIONS))})."
        )
    return region


def _names(groups: Sequence[Sequence[str]]) -> list[str]:
    return list(dict.fromkeys(n for group in groups for n in group))
