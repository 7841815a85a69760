"""What the estimate's card shows: four columns, cost second, cheapest first.

Pure layout over `bot.estimate.Estimate` and the catalogue (no Slack, no I/O), so the
Slack table, its notes, "How this was calculated" and the chart say the same thing:
the same order, the same words for an option without a cost ("does not fit" or "not
estimated"), the flowchart's pick named in words.

Why this shape: at thread-pane and phone width (375 px) a Slack table scrolls sideways
and only its first columns show, so the cost goes second, each cell holds one short
value (the other purchase option moves to a note under the table), and everything
else is behind "How this was calculated".
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from bot.estimate import Estimate, OptionEstimate
from bot.estimate.chart import TrafficCurve
from bot.estimate.view import job_line, no_cost
from bot.flow.catalogue import Catalogue
from bot.quantities import count, duration, money
from bot.text import clip

PICK = "flowchart's pick"
SECONDS_PER_DAY = 86_400
TOO_SLOW = "too slow"


@dataclass(frozen=True)
class CostCell:
    """An option's cost as the card shows it: the likely value, and a range when the
    estimate gives one (then it reads "$4.9M" over "$3.8M-$7.4M"), or why there is none."""

    likely: float | None
    low: float | None = None
    high: float | None = None
    missing: str = ""  # "does not fit" / "not estimated" when likely is None

    @property
    def text(self) -> str:
        if self.likely is None:
            return self.missing
        if self.low is not None and self.high is not None:
            return f"{money(self.likely)}\n{money(self.low)}–{money(self.high)}"
        return money(self.likely)

    @property
    def spoken(self) -> str:
        """In one line for words and screen readers: "likely $4.9M (range $3.8M–$7.4M)"."""
        if self.likely is None or self.low is None or self.high is None:
            return self.text
        return f"likely {money(self.likely)} (range {money(self.low)}–{money(self.high)})"


@dataclass(frozen=True)
class CardRow:
    option: OptionEstimate
    cost: CostCell

    @property
    def offering(self) -> str:
        """The offering, with the flowchart's pick and a missed latency said in words."""
        marks = [PICK] if self.option.recommended else []
        if self.option.fits and not self.option.meets_latency:
            marks.append(TOO_SLOW)
        return f"{self.option.instance} ({', '.join(marks)})" if marks else self.option.instance

    def cells(self, kind: str) -> list[str]:
        o = self.option
        if o.cost is None or not o.fits:
            return [self.offering, self.cost.text, "-", "-"]
        if kind == "training":
            return [self.offering, self.cost.text, count(o.instances), duration(o.wall_clock_hours)]
        return [
            self.offering,
            self.cost.text,
            count(o.instances),
            count(o.tokens_per_second_capacity),
        ]


def unit(estimate: Estimate) -> str:
    return "per run" if estimate.kind == "training" else "per month"


def header(estimate: Estimate) -> list[str]:
    """At most four columns: offering, cost, then how many and how long (or how fast)."""
    if estimate.kind == "training":
        return ["Offering", "Cost per run", "Instances", "Wall-clock"]
    return ["Offering", "Cost per month", "Instances", "Tokens/s"]


def cost_cell(option: OptionEstimate) -> CostCell:
    """The likely cost, over the range the published runs' MFU band gives (training)."""
    if option.cost is None or not option.fits:
        return CostCell(None, missing=no_cost(option))
    if option.cost_usd_range is None:
        return CostCell(option.cost)
    return CostCell(option.cost, *option.cost_usd_range)


def card_rows(estimate: Estimate) -> list[CardRow]:
    """Every option, cheapest first; those without a cost last, in the estimate's order."""
    rows = [CardRow(o, cost_cell(o)) for o in estimate.options]
    return sorted(rows, key=lambda r: (r.cost.likely is None, r.cost.likely or 0.0))


def table(estimate: Estimate) -> list[list[str]]:
    """Header and rows, as the Slack table and the rendered check lay them out."""
    return [header(estimate), *(r.cells(estimate.kind) for r in card_rows(estimate))]


def price_note(estimate: Estimate) -> str:
    """Which price each cost uses, in one line, and the other purchase option where
    both exist: "At on-demand prices: p5en.48xlarge, p4d.24xlarge. At Capacity Block
    prices: trn2.48xlarge. As a Capacity Block instead: p5en.48xlarge $4.98M." """
    by_basis: dict[str, list[str]] = {}
    for row in card_rows(estimate):
        if row.cost.likely is not None:
            by_basis.setdefault(row.option.price_basis, []).append(row.option.instance)
    if len(by_basis) == 1:
        (basis,) = by_basis
        parts = [f"All at {basis} prices."]
    else:
        parts = [f"At {basis} prices: {', '.join(names)}." for basis, names in by_basis.items()]
    alternatives = [
        f"{r.option.instance} {money(r.option.capacity_block_cost_usd)}"
        for r in card_rows(estimate)
        if r.cost.likely is not None and r.option.capacity_block_cost_usd is not None
    ]
    if alternatives:
        parts.append("As a Capacity Block instead: " + ", ".join(alternatives) + ".")
    return " ".join(parts) if by_basis else ""


def details(estimate: Estimate) -> list[str]:
    """Per option, what the table leaves out: accelerators, hours, throughput, notes."""
    lines = []
    for row in card_rows(estimate):
        o = row.option
        facts = [f"{o.accelerators_per_instance} × {o.accelerator} per instance"]
        if estimate.kind == "training" and o.fits and o.accelerator_hours is not None:
            facts.append(f"{count(o.accelerator_hours)} accelerator-hours")
            if o.mfu is not None:
                facts.append(f"MFU {o.mfu:.0%}")
        elif o.fits and o.accelerators_per_replica is not None:
            facts.append(f"{o.accelerators_per_replica} accelerators per replica")
        facts.append(f"${o.price_per_hour_usd:,.2f}/h {o.price_basis} ({o.price_where})")
        lines.append(f"{row.offering}: " + "; ".join([*facts, *o.notes]))
    return lines


def named_sources(estimate: Estimate, catalogue: Catalogue) -> list[tuple[str, str]]:
    """(what the page proves, url) for every source of the estimate: "H200 memory,
    bandwidth and peak", "p5en.48xlarge on-demand price"; a page the catalogue does not
    tie to a number is named by its title, cut at a word."""
    proves: dict[str, list[str]] = {url: [] for url in estimate.sources}
    for o in estimate.options:
        instance = catalogue.instances.get(o.instance)
        if instance is None:
            continue
        acc = catalogue.accelerators.get(instance.accelerator)
        if acc is not None:
            specs = [
                ("memory", acc.memory_gb),
                ("peak FLOPs", acc.bf16_dense_tflops),
                ("memory bandwidth", acc.memory_bandwidth_tbps),
            ]
            for what, number in specs:
                if number is not None:
                    _add(proves, catalogue, number.source, f"{acc.name} {what}")
        for price, basis in (
            (instance.on_demand, "on-demand"),
            (instance.capacity_block, "Capacity Block"),
        ):
            shown = basis == o.price_basis or (
                basis == "Capacity Block" and o.capacity_block_cost_usd is not None
            )
            if price is not None and shown:
                _add(proves, catalogue, price.source, f"{o.instance} {basis} price")
    named = []
    for url, claims in proves.items():
        title = next((s.title for s in catalogue.sources.values() if s.url == url), url)
        named.append((_claims_text(claims) if claims else clip(title, 90), url))
    return named


def _add(proves: dict[str, list[str]], catalogue: Catalogue, key: str, claim: str) -> None:
    if key not in catalogue.sources:
        return
    claims = proves.setdefault(catalogue.url(key), [])
    if claim not in claims:
        claims.append(claim)


def _claims_text(claims: list[str]) -> str:
    """["H200 memory", "H200 peak FLOPs"] → "H200 memory and peak FLOPs";
    ["p5en.48xlarge on-demand price", "p4d.24xlarge on-demand price"] →
    "p5en.48xlarge and p4d.24xlarge on-demand price". Long lists are cut at a word."""
    by_subject: dict[str, list[str]] = {}
    for claim in claims:
        subject, what = _split(claim)
        by_subject.setdefault(subject, []).append(what)
    by_whats: dict[tuple[str, ...], list[str]] = {}
    for subject, whats in by_subject.items():
        by_whats.setdefault(tuple(whats), []).append(subject)
    parts = [f"{_and(subjects)} {_and(whats)}".strip() for whats, subjects in by_whats.items()]
    return clip("; ".join(parts), 120)


_WHATS = ("on-demand price", "Capacity Block price", "memory bandwidth", "peak FLOPs", "memory")


def _split(claim: str) -> tuple[str, str]:
    for what in _WHATS:
        if claim.endswith(" " + what):
            return claim[: -len(what) - 1], what
    return claim, ""


def _and(items: Iterable[str]) -> str:
    items = [i for i in dict.fromkeys(items) if i]
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def chart_title(estimate: Estimate, limit: int = 120) -> str:
    return clip(f"Estimated cost {unit(estimate)}: {job_line(estimate)}", limit)


def alt_text(estimate: Estimate) -> str:
    """What the chart shows, in words, in its order: every option's cost or why none."""
    parts = [f"{r.offering} {r.cost.spoken}" for r in card_rows(estimate)]
    return (
        f"Bar chart of the estimated cost {unit(estimate)}, cheapest first: "
        + "; ".join(parts)
        + "."
    )


def traffic_curve(estimate: Estimate) -> TrafficCurve | None:
    """Serving with a priced API alternative: the API's price per token a day, the
    recommended option's step (an instance, or a replica spanning several: its monthly
    cost and capacity), and where the person is; the same numbers as the break-even."""
    api, o = estimate.api, estimate.recommended
    rate = float(estimate.assumptions.get("tokens_per_second") or 0.0)
    if api is None or api.model is None or not api.monthly_cost_usd or rate <= 0:
        return None
    if not o.fits or not o.monthly_cost_usd or not o.tokens_per_second_capacity:
        return None
    steps = min(o.instances, o.replicas) if o.replicas else o.instances
    return TrafficCurve(
        api_label=f"{api.model} on Amazon Bedrock",
        api_usd_per_token_day=api.monthly_cost_usd / (rate * SECONDS_PER_DAY),
        step_label=o.instance,
        step_usd=o.monthly_cost_usd / steps,
        step_tokens_per_day=o.tokens_per_second_capacity * SECONDS_PER_DAY / steps,
        at_tokens_per_day=rate * SECONDS_PER_DAY,
        at_usd=o.monthly_cost_usd,
    )
