"""The cheapest sensible way to buy an estimate's instances, for the path it is on.

Every purchase option is costed on the estimate's own size (the same instances, hours
or month) at that option's rate in the estimate's Region, then judged against what the
path says (`PathNeeds`):

- on-demand: always sensible, no commitment;
- Spot: training only when the run saves checkpoints (an interruption then costs the
  work since the last one); never for serving, which has a latency target on every
  path of the flowchart (Spot suits batch inference only); never where AWS sells none;
- Capacity Block: training that ends within the longest block (182 days); never for
  serving (prepaid, at most 182 days: no basis for always-on work);
- Savings Plans: serving (always on, so the hourly commitment is used); training only
  when the run lasts the whole term, since the commitment is paid whether the
  instances run or not. Their cost counts every committed hour: for a run shorter
  than the term, ``rate × instances × term``.

Pure: rates in, options out. A missing rate is said ("no price …"), never borrowed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace

from bot.estimate.model import OptionEstimate
from bot.flow.catalogue import Catalogue
from bot.pricing.book import Priced
from bot.pricing.model import CAVEATS, NoPrice, Purchase, PurchaseOption
from bot.pricing.purchase_file import PathNeeds
from bot.quantities import money

HOURS_PER_YEAR = 8_760
TERM_HOURS = {
    Purchase.SAVINGS_PLAN_1Y: HOURS_PER_YEAR,
    Purchase.SAVINGS_PLAN_3Y: 3 * HOURS_PER_YEAR,
}
LABELS = {
    Purchase.ON_DEMAND: "on-demand",
    Purchase.SPOT: "Spot",
    Purchase.CAPACITY_BLOCK: "a Capacity Block",
    Purchase.SAVINGS_PLAN_1Y: "a 1-year Savings Plan",
    Purchase.SAVINGS_PLAN_3Y: "a 3-year Savings Plan",
}
ORDER = (
    Purchase.ON_DEMAND,
    Purchase.SAVINGS_PLAN_1Y,
    Purchase.SAVINGS_PLAN_3Y,
    Purchase.SPOT,
    Purchase.CAPACITY_BLOCK,
)


@dataclass(frozen=True)
class Rate:
    """A price per instance-hour for one purchase option, and where it was read."""

    usd_per_hour: float
    as_of: dt.date
    url: str


def rates_of(instance: str, priced_for: Callable[[Purchase], Priced]) -> dict[Purchase, Rate | str]:
    """Each purchase option's rate for ``instance`` in the Region ``priced_for`` prices,
    or why there is none."""
    out: dict[Purchase, Rate | str] = {}
    on_demand = priced_for(Purchase.ON_DEMAND)
    inst = on_demand.catalogue.instances.get(instance)
    if instance in on_demand.missing:
        inst = None  # kept unpriced in the catalogue: never read another Region's rate
    for purchase, price in (
        (Purchase.ON_DEMAND, inst and inst.on_demand),
        (Purchase.CAPACITY_BLOCK, inst and inst.capacity_block),
    ):
        if price:
            source = on_demand.catalogue.sources[price.source]
            out[purchase] = Rate(price.usd_per_hour, source.read_on, source.url)
        else:
            out[purchase] = f"no {purchase} price for {instance} in {on_demand.region}"
    for purchase in (Purchase.SAVINGS_PLAN_1Y, Purchase.SAVINGS_PLAN_3Y, Purchase.SPOT):
        priced = priced_for(purchase)
        found = priced.catalogue.instances.get(instance)
        missing: NoPrice | None = priced.missing.get(instance)
        if missing is not None or found is None or found.on_demand is None:
            out[purchase] = _no_price(missing, purchase, instance, priced.region)
            continue
        source = priced.catalogue.sources[found.on_demand.source]
        out[purchase] = Rate(found.on_demand.usd_per_hour, source.read_on, source.url)
    return out


@dataclass(frozen=True)
class Buying:
    """What the purchase advice needs: the path's needs, the Bedrock features it makes
    relevant ((text, url)), and the catalogue priced per purchase option in the
    estimate's Region."""

    needs: PathNeeds
    features: tuple[tuple[str, str], ...]
    priced_for: Callable[[Purchase], Priced]


def advice_for(
    option: OptionEstimate, buying: Buying, catalogue: Catalogue, hours_per_month: float
) -> tuple[PurchaseOption, ...]:
    """Every purchase option for ``option``, judged for the path, cheapest sensible marked."""
    inst = catalogue.instances.get(option.instance)
    rules = catalogue.capacity_blocks
    return purchase_options(
        option,
        buying.needs,
        rates_of(option.instance, buying.priced_for),
        hours_per_month,
        spot_sold=bool(inst and inst.spot),
        block_max_days=rules.max_days if rules else 182,
    )


def _no_price(missing: NoPrice | None, purchase: Purchase, instance: str, region: str) -> str:
    text = missing.message() if missing else f"no {purchase} price for {instance} in {region}"
    refresh = "--spot" if purchase is Purchase.SPOT else "with a Savings Plans offer file"
    return f"{text} (store one: python -m bot prices refresh {refresh})"


def purchase_options(
    option: OptionEstimate,
    needs: PathNeeds,
    rates: Mapping[Purchase, Rate | str],
    hours_per_month: float,
    spot_sold: bool = True,
    block_max_days: int = 182,
) -> tuple[PurchaseOption, ...]:
    """Every purchase option for ``option`` on this path, the cheapest sensible marked;
    empty when the option has no size to cost (it does not fit)."""
    if not option.fits or option.cost is None:
        return ()
    out = []
    for purchase in ORDER:
        rate = rates.get(purchase, f"no {purchase} price")
        sensible, why = _judge(purchase, option, needs, spot_sold, block_max_days)
        if isinstance(rate, str):  # unpriced: say why it does not suit, else how to price it
            out.append(PurchaseOption(purchase, None, None, sensible, why or rate))
            continue
        cost = _cost(purchase, option, rate.usd_per_hour, needs.kind, hours_per_month)
        out.append(
            PurchaseOption(
                purchase,
                rate.usd_per_hour,
                cost,
                sensible,
                why or _commitment(purchase, option, rate.usd_per_hour),
                CAVEATS.get(purchase),
                rate.as_of.isoformat(),
                rate.url,
            )
        )
    usable = [o for o in out if o.sensible and o.cost_usd is not None]
    best = min(usable, key=lambda o: o.cost_usd or 0.0, default=None)
    return tuple(replace(o, cheapest=True) if o is best else o for o in out)


def _judge(
    purchase: Purchase,
    option: OptionEstimate,
    needs: PathNeeds,
    spot_sold: bool,
    block_max_days: int,
) -> tuple[bool, str]:
    """(sensible, why not) for ``purchase`` on this path; why is "" when sensible."""
    serving = needs.kind == "inference"
    hours = option.wall_clock_hours or 0.0
    if purchase is Purchase.SPOT:
        if not spot_sold:
            return False, f"AWS sells no Spot capacity for {option.instance}"
        if serving and needs.latency_bound:
            return False, "not for a latency target: an interruption drops requests in flight"
        if serving:
            return False, (
                "serving with a latency target: an interruption drops requests in flight; "
                "Spot suits batch inference only"
            )
        if not needs.checkpoints:
            return False, (
                "only for a run that saves checkpoints (this path did not say so): an "
                "interruption loses the work since the last one"
            )
        return True, ""
    if purchase is Purchase.CAPACITY_BLOCK:
        if serving:
            return False, ("prepaid and lasts at most 182 days: no basis for always-on serving")
        if hours > block_max_days * 24:
            return False, f"the run is longer than the {block_max_days} days a block lasts"
        return True, ""
    if purchase in TERM_HOURS and not serving and hours < TERM_HOURS[purchase]:
        years = TERM_HOURS[purchase] // HOURS_PER_YEAR
        return False, (
            f"a {years}-year commitment, paid for every hour, for a {hours / 24:,.0f}-day run"
        )
    return True, ""


def _cost(
    purchase: Purchase, option: OptionEstimate, usd_per_hour: float, kind: str, month: float
) -> float | None:
    """The option's cost (per run for training, per month for serving) at this rate."""
    n = option.instances
    if kind == "inference":
        return usd_per_hour * n * month
    if purchase is Purchase.CAPACITY_BLOCK:
        return (
            option.capacity_block_cost_usd
            if option.capacity_block_cost_usd
            else (option.cost_usd if option.price_basis == "Capacity Block" else None)
        )
    if option.instance_hours is None:
        return None
    if purchase in TERM_HOURS:
        return usd_per_hour * n * max(option.wall_clock_hours or 0.0, TERM_HOURS[purchase])
    return usd_per_hour * option.instance_hours


def _commitment(purchase: Purchase, option: OptionEstimate, usd_per_hour: float) -> str:
    """What buying this way commits to."""
    if purchase is Purchase.ON_DEMAND:
        return "no commitment"
    if purchase is Purchase.SPOT:
        return "no commitment"  # its caveat (interruptions) is said beside it
    if purchase is Purchase.CAPACITY_BLOCK:
        return "prepaid for the run's days, at most 182, booked up to 8 weeks ahead"
    years = TERM_HOURS[purchase] // HOURS_PER_YEAR
    hourly = usd_per_hour * option.instances
    total = hourly * TERM_HOURS[purchase]
    return (
        f"commits {money(hourly)} an hour for {years} year{'s' if years > 1 else ''} "
        f"({money(total)} in all), used or not"
    )


def cheapest(options: tuple[PurchaseOption, ...]) -> PurchaseOption | None:
    return next((o for o in options if o.cheapest), None)


def advice_line(
    options: tuple[PurchaseOption, ...], instance: str, region: str, per: str
) -> str | None:
    """The cheapest sensible way to buy, with the commitment it needs, then the other
    options in a few words: for the card, the terminal and chat."""
    if not options:
        return None
    best = cheapest(options)
    if best is None:
        head = f"No sensible way to buy {instance} in {region} has a price here."
    else:
        head = (
            f"Cheapest sensible way to buy {instance} in {region}: {LABELS[best.purchase]}, "
            f"{money(best.cost_usd)} {per} ({best.why}{_own_date(best, options)})."
        )
        if best.caveat and best.purchase is Purchase.SPOT:
            head += f" {best.caveat}."
    others = []
    for o in options:
        if o is best:
            continue
        label = LABELS[o.purchase].removeprefix("a ")
        if not o.sensible:
            cost = f" {money(o.cost_usd)}" if o.cost_usd is not None else ""
            others.append(f"{label}{cost}, not for this path ({o.why})")
        elif o.cost_usd is None:
            others.append(f"{label}: no price here")
        else:
            others.append(f"{label} {money(o.cost_usd)}")
    lead = " Others: " if best else " Options: "
    return head + (lead + "; ".join(others) + "." if others else "")


def _own_date(best: PurchaseOption, options: tuple[PurchaseOption, ...]) -> str:
    """ "; price of <day>" when the cheapest option's price is dated apart from the
    on-demand price the card's price line names (a Spot sample months old, say)."""
    on_demand = next((o.price_as_of for o in options if o.purchase is Purchase.ON_DEMAND), None)
    if best.price_as_of is None or on_demand is None or on_demand == best.price_as_of:
        return ""
    return f"; price of {best.price_as_of}"
