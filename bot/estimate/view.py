"""An estimate as words and rows: the same table for the terminal, the CLI and Slack.

Pure formatting over `bot.estimate.Estimate`; no Slack, no I/O.
"""

from __future__ import annotations

from bot.estimate import Estimate, OptionEstimate
from bot.flow.catalogue import PriceBasis
from bot.pricing.purchase_advice import advice_line
from bot.quantities import article, count, duration, money, short

DOES_NOT_FIT = "does not fit"
NOT_ESTIMATED = "not estimated"


def header(estimate: Estimate) -> list[str]:
    if estimate.kind == "training":
        return ["Offering", "Instances", "Wall-clock", "Accelerator-hours", "Cost per run"]
    return ["Offering", "Instances", "Accelerators per replica", "Tokens/s", "Cost per month"]


def no_cost(option: OptionEstimate) -> str:
    """Why an option has no cost: no figures for the job, or the model does not fit."""
    return DOES_NOT_FIT if option.estimable else NOT_ESTIMATED


def label(option: OptionEstimate) -> str:
    return f"{option.instance} (recommended)" if option.recommended else option.instance


def likely_range(option: OptionEstimate) -> str:
    """A training cost as "likely $4.9M (range $3.8M-$7.4M)"; other costs as they are."""
    if option.cost_usd_range is None or option.cost_usd is None:
        return money(option.cost)
    low, high = option.cost_usd_range
    if money(low) == money(high):
        return money(option.cost_usd)
    return f"likely {money(option.cost_usd)} (range {money(low)}-{money(high)})"


def duration_range(option: OptionEstimate) -> str:
    """Wall-clock time, with its range where the MFU band gives one."""
    text = duration(option.wall_clock_hours)
    if option.wall_clock_hours_range is None:
        return text
    low, high = (duration(h) for h in option.wall_clock_hours_range)
    if low == high:
        return text
    unit = " " + high.split(" ")[-1]
    if low.endswith(unit):
        low = low.removesuffix(unit)
    return f"{text} ({low}-{high})"


def _span(likely: float | None, ends: tuple[float, float] | None) -> str:
    """ "$5.64M ($5.41M-$6.75M)": a table cell's likely cost with its range."""
    if ends is None or money(ends[0]) == money(ends[1]):
        return money(likely)
    return f"{money(likely)} ({money(ends[0])}-{money(ends[1])})"


def cost_cell(option: OptionEstimate) -> str:
    """The cost at the estimate's price (likely, then its range), the Capacity
    Block's beside it on the same count where both exist, and "too slow" when the
    latency is not met."""
    text = f"{_span(option.cost, option.cost_usd_range)} {option.price_basis}"
    if option.capacity_block_cost_usd is not None:
        cb = _span(option.capacity_block_cost_usd, option.capacity_block_cost_usd_range)
        text += f"; {cb} as a Capacity Block"
    return text if option.meets_latency else f"{text}, too slow"


def row(estimate: Estimate, option: OptionEstimate) -> list[str]:
    if not option.estimable:
        return [label(option), NOT_ESTIMATED, "-", "-", NOT_ESTIMATED]
    if not option.fits:
        return [label(option), DOES_NOT_FIT, "-", "-", DOES_NOT_FIT]
    if estimate.kind == "training":
        return [
            label(option),
            count(option.instances),
            duration_range(option),
            count(option.accelerator_hours),
            cost_cell(option),
        ]
    return [
        label(option),
        count(option.instances),
        str(option.accelerators_per_replica),
        count(option.tokens_per_second_capacity),
        cost_cell(option),
    ]


def rows(estimate: Estimate) -> list[list[str]]:
    return [row(estimate, o) for o in estimate.options]


def headline(estimate: Estimate) -> str:
    """The recommended option in one line: how many, how long, how much."""
    o = estimate.recommended
    if not o.fits:
        return f"{o.instance}: {no_cost(o)}"
    if estimate.kind == "training":
        return (
            f"{o.instances:,} × {o.instance} for {duration_range(o)}: "
            f"{likely_range(o)} per run ({o.price_basis})"
        )
    return (
        f"{o.instances:,} × {o.instance}: {money(o.monthly_cost_usd)} per month ({o.price_basis})"
    )


def cheaper_alternative(estimate: Estimate) -> str | None:
    """One line when another option of the same decision meets the need for less than
    the flowchart's pick (which stays first: the flowchart is the source of truth).
    Serving skips prepaid Capacity-Block-only options, which are no basis for it."""
    pick = estimate.recommended
    if not (pick.fits and pick.meets_latency and pick.cost):
        return None
    serving = estimate.kind == "inference"
    rivals = [
        o
        for o in estimate.options[1:]
        if o.fits
        and o.meets_latency
        and o.cost is not None
        and o.cost < pick.cost
        and not (serving and o.price_basis == PriceBasis.CAPACITY_BLOCK)
    ]
    if not rivals:
        return None
    best = min(rivals, key=lambda o: o.cost or 0.0)
    saving = 1 - (best.cost or 0.0) / pick.cost
    return (
        f"{best.instance} meets this for {saving:.0%} less ({money(best.cost)}); "
        f"{pick.instance} may still be the better pick for software maturity or availability"
    )


def estimate_price_lines(estimate: Estimate, default_as_of: str) -> list[str]:
    """Which prices the estimate used (Region, purchase option, as of when, from
    where), and the offerings left out for want of a price there."""
    p = estimate.priced_in
    if p is None:
        return [f"Prices as of {default_as_of}; they drift."]
    lines = [
        f"Priced in {p.region}, {p.purchase}; prices as of {p.as_of or default_as_of}"
        + (f" ({p.source})" if p.source else "")
        + "; they drift."
    ]
    lines += [f"Left out: {m}." for m in p.missing]
    return lines


def api_line(estimate: Estimate) -> str | None:
    """Serving: what calling a hosted model instead would cost, and where self-hosting
    the recommended option breaks even."""
    api = estimate.api
    if api is None:
        return None
    if api.model is None or api.monthly_cost_usd is None:
        return f"API alternative: {api.notes[0] if api.notes else 'no sourced price'}."
    line = (
        f"API alternative: {api.model} on Amazon Bedrock, about "
        f"{money(api.monthly_cost_usd)} per month at this traffic"
    )
    even = dict(api.break_even_tokens_per_day).get(estimate.recommended.instance)
    if even:
        line += (
            f"; {estimate.recommended.instance} costs the same at {short(even)} tokens a day "
            "(cheaper above that, dearer below)"
        )
    elif estimate.recommended.fits:
        line += (
            f"; it stays cheaper than {estimate.recommended.instance} at any traffic "
            "the instances serve"
        )
    return line + "."


def feature_lines(estimate: Estimate) -> list[str]:
    """The Bedrock features this path makes relevant (batch inference on paths where
    traffic may wait, prompt caching on the Prompt Cache leaf), each a sentence."""
    return [f"{text}." for text in estimate.api.features] if estimate.api else []


def purchase_line(estimate: Estimate) -> str | None:
    """The cheapest sensible way to buy the recommended option on this path, with the
    commitment it needs (`bot.pricing.purchase_advice`)."""
    p = estimate.priced_in
    if p is None or not p.purchase_options:
        return None
    per = "per run" if estimate.kind == "training" else "per month"
    return advice_line(p.purchase_options, estimate.recommended.instance, p.region, per)


def serving_line(estimate: Estimate) -> str | None:
    """The engine settings that make the recommended option's fit real (serving only)."""
    o = estimate.recommended
    if estimate.kind != "inference" or not o.fits or o.serving_config is None:
        return None
    config = o.serving_config
    return f"{config.engine} on {o.instance}: {config.flags()}"


def job_line(estimate: Estimate) -> str:
    """What was estimated, in the person's terms."""
    a = estimate.assumptions
    params = short(a["params"])
    model = f"{article(params)} {params}-parameter model"
    if a.get("active_params"):  # which count is which: compute follows the active ones
        model = (
            f"a mixture-of-experts model ({params} parameters, {short(a['active_params'])} active)"
        )
    if estimate.kind == "training":
        method = {"full": "full training", "lora": "LoRA", "qlora": "QLoRA"}[a["method"]]
        return f"{method} of {model} on {short(a['tokens'])} tokens"
    return f"serving {model} at {a['precision']}, {a['tokens_per_second']:,.0f} tokens/s on average"


def bar_chart(estimate: Estimate, width: int = 40) -> list[str]:
    """A text bar chart of each option's cost, for terminals."""
    costs = [(label(o), o.cost if o.fits else None, no_cost(o)) for o in estimate.options]
    top = max((c for _, c, _ in costs if c), default=0.0)
    name_width = max(len(name) for name, _, _ in costs)
    lines = []
    for name, cost, why in costs:
        if cost is None:
            lines.append(f"{name:<{name_width}}  {why}")
            continue
        bar = "#" * max(1, round(width * cost / top)) if top else ""
        lines.append(f"{name:<{name_width}}  {bar} {money(cost)}")
    return lines


def text_table(estimate: Estimate) -> list[str]:
    """Header and rows as aligned plain-text columns."""
    table = [header(estimate), *rows(estimate)]
    widths = [max(len(r[i]) for r in table) for i in range(len(table[0]))]
    lines = ["  ".join(cell.ljust(widths[i]) for i, cell in enumerate(r)).rstrip() for r in table]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return lines


def chart_alt_text(estimate: Estimate) -> str:
    """What the chart shows, in words: every option's cost."""
    unit = "per run" if estimate.kind == "training" else "per month"
    parts = [f"{o.instance} {money(o.cost) if o.fits else no_cost(o)}" for o in estimate.options]
    return f"Bar chart of the estimated cost {unit}: " + "; ".join(parts) + "."
