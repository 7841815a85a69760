"""What training and inference sizing share: looking offerings up, checking input,
choosing and marking the recommended option, price notes and sources."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any, Literal

from bot.estimate.model import Estimate, EstimateError, OptionEstimate
from bot.flow.catalogue import Accelerator, Catalogue, Instance
from bot.flow.words import Assumption


def instance_of(catalogue: Catalogue, name: str) -> Instance:
    try:
        return catalogue.instances[name]
    except KeyError:
        known = ", ".join(sorted(catalogue.instances))
        raise EstimateError(f"Unknown instance {name!r}; known: {known}.") from None


def accelerator_key(catalogue: Catalogue, name: str) -> str:
    return catalogue.instances[name].accelerator


def positive(value: float, what: str) -> None:
    if not (value > 0 and math.isfinite(value)):
        raise EstimateError(f"{what[0].upper()}{what[1:]} must be a positive number.")


def best(
    options: list[OptionEstimate], key: Callable[[OptionEstimate], float | None]
) -> OptionEstimate:
    """Of one group's sizes: the cheapest that fits (and meets the latency, if any
    does), else the largest, so the table says why not."""
    fitting = [o for o in options if o.fits and key(o) is not None]
    fast = [o for o in fitting if o.meets_latency] or fitting
    return min(fast, key=lambda o: key(o) or 0.0) if fast else options[-1]


def mark_first(options: list[OptionEstimate]) -> tuple[OptionEstimate, ...]:
    if not options:
        raise EstimateError("No offering to estimate on this path.")
    return (replace(options[0], recommended=True), *options[1:])


def unpriced(instance: Instance, name: str, acc: Accelerator, per: int, why: str) -> OptionEstimate:
    return OptionEstimate(
        instance=name,
        family=instance.family,
        accelerator=acc.name,
        accelerators_per_instance=per,
        instances=0,
        fits=False,
        price_per_hour_usd=instance.price.usd_per_hour,
        price_basis=instance.price_basis,
        price_where=instance.price.where,
        notes=(why,),
        sources=(),
        estimable=False,
    )


def price_notes(instance: Instance) -> tuple[str, ...]:
    notes = [
        f"{what} price ${price.usd_per_hour:,.2f}/h not confirmed: {price.unconfirmed}"
        for what, price in (
            ("on-demand", instance.on_demand),
            ("Capacity Block", instance.capacity_block),
        )
        if price is not None and price.unconfirmed
    ]
    if instance.on_demand is None and instance.capacity_block is not None:
        where = instance.capacity_block.where
        notes.insert(0, f"Capacity Block price ({where}); {instance.no_on_demand}")
    return tuple(notes)


def instance_sources(
    catalogue: Catalogue, instance: Instance, acc: Accelerator, extra: Sequence[str | None] = ()
) -> tuple[str, ...]:
    keys = [
        acc.memory_gb.source,
        acc.bf16_dense_tflops.source if acc.bf16_dense_tflops else None,
        acc.memory_bandwidth_tbps.source,
        instance.price.source,
        *extra,
    ]
    return tuple(dict.fromkeys(catalogue.url(k) for k in keys if k))


def sources_of(options: Sequence[OptionEstimate]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(u for o in options for u in o.sources))


def say(what: str, assumption: Assumption) -> str:
    return f"{what}: {assumption.why}"


def gb(n_bytes: float) -> str:
    return f"{n_bytes / 1e9:,.0f} GB"


def finish(
    kind: Literal["training", "inference"],
    options: list[OptionEstimate],
    formula: str,
    assumptions: dict[str, Any],
    notes: Sequence[str],
) -> Estimate:
    """The estimate of every option, the recommended one first and marked, with the
    assumptions that apply (empty notes dropped) and every option's sources."""
    return Estimate(
        kind=kind,
        options=mark_first(options),
        formula=formula,
        assumptions=assumptions,
        assumption_notes=tuple(n for n in notes if n),
        sources=sources_of(options),
    )
