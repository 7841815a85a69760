"""An estimate as words and rows: the same table for the terminal, the CLI and Slack.

Pure formatting over `bot.estimate.Estimate`; no Slack, no I/O.
"""

from __future__ import annotations

from bot.estimate import Estimate, OptionEstimate
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


def cost_cell(option: OptionEstimate) -> str:
    """The cost at the estimate's price, the Capacity Block's beside it where both
    exist, and "too slow" when the latency is not met."""
    text = f"{money(option.cost)} ({option.price_basis})"
    if option.capacity_block_cost_usd is not None:
        text += f"; {money(option.capacity_block_cost_usd)} as a Capacity Block"
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
            duration(option.wall_clock_hours),
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
            f"{o.instances:,} × {o.instance} for {duration(o.wall_clock_hours)}: "
            f"{money(o.cost_usd)} per run ({o.price_basis})"
        )
    return (
        f"{o.instances:,} × {o.instance}: {money(o.monthly_cost_usd)} per month ({o.price_basis})"
    )


def job_line(estimate: Estimate) -> str:
    """What was estimated, in the person's terms."""
    a = estimate.assumptions
    params = short(a["params"])
    if estimate.kind == "training":
        method = {"full": "full training", "lora": "LoRA", "qlora": "QLoRA"}[a["method"]]
        model = f"{article(params)} {params}-parameter model"
        return f"{method} of {model} on {short(a['tokens'])} tokens"
    return (
        f"serving {article(params)} {params}-parameter model at {a['precision']}, "
        f"{a['tokens_per_second']:,.0f} tokens/s on average"
    )


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
