"""Training: FLOPs = k·N_active·D (k = 6 for full training, fewer for LoRA);
accelerator-hours = FLOPs / (peak dense BF16 × MFU), at the likely MFU and at both
ends of the band published runs give for that accelerator and model size (see
`bot.estimate.calibration`); the fewest accelerators that hold the training state
(all N, not just the active ones) set the smallest instance count; the count is then
raised until the run finishes within the assumed number of days, unless the person
gave one. Capacity Blocks are billed by the day, in their steps, so where a block
exists the days are the longest block within the assumed days, and both prices use
that one count."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from bot.estimate.calibration import MfuBand, band_for
from bot.estimate.common import (
    accelerator_key,
    best,
    finish,
    gb,
    instance_of,
    instance_sources,
    positive,
    price_notes,
    say,
    unpriced,
)
from bot.estimate.model import Estimate, EstimateError, Method, OptionEstimate, TrainingJob
from bot.flow.catalogue import Catalogue, Instance
from bot.flow.words import Assumption, EstimateWords
from bot.quantities import params_text

MAX_INSTANCES = 100_000  # beyond any fleet AWS sells; a larger count is a typo
QLORA_FROZEN_BYTES = 4.127 / 8  # NF4 plus double-quantised constants (QLoRA paper, 4.127 bits)
QLORA_ADAPTER_BYTES = 4.0  # BF16 adapter weights and gradients; paged optimizer states on host


def estimate_training(
    catalogue: Catalogue,
    words: EstimateWords,
    job: TrainingJob,
    groups: Sequence[Sequence[str]],
) -> Estimate:
    """Size each group's offering for ``job``; ``groups`` are catalogue instance names,
    one group per recommendation node, the recommended node's first."""
    positive(job.params, "the model size")
    positive(job.tokens, "the number of training tokens")
    if job.active_params is not None:
        positive(job.active_params, "the active parameters")
        if job.active_params > job.params:
            raise EstimateError(
                "The active parameters cannot exceed the total: give the total first, "
                "such as 671B total, 37B active."
            )
    if job.instances is not None and not 1 <= job.instances <= MAX_INSTANCES:
        raise EstimateError(f"The number of instances must be from 1 to {MAX_INSTANCES:,}.")
    options = [
        best(
            [_train_on(catalogue, words, job, name) for name in group],
            key=lambda o: o.cost_usd,
        )
        for group in groups
        if group
    ]
    k = _flops_per_param_token(words, job.method)
    n = "N_active" if job.active_params else "N"
    formula = (
        f"FLOPs = {k:g} × {n} × D; accelerator-hours = FLOPs ÷ (peak dense BF16 × MFU) ÷ 3600, "
        "at the likely MFU and at both ends of the published runs' band; "
        "cost = instance-hours × price per hour"
    )
    assumptions: dict[str, Any] = {
        "params": job.params,
        "active_params": job.active_params,
        "tokens": job.tokens,
        "method": job.method,
        "flops_per_param_token": k,
        "mfu_by_accelerator": {name: a.value for name, a in words.mfu.items()},
        "training_days": words.training_days.value,
        "memory_bytes_per_param": _train_bytes_per_param(words, job.method),
        "activation_headroom": words.activation_headroom.value,
        "usable_memory": words.usable_memory.value,
    }
    used = dict.fromkeys(accelerator_key(catalogue, o.instance) for o in options)
    notes = [
        *(_mfu_note(catalogue, words, key, job.active) for key in used),
        _moe_note(job),
        say(f"{k:g} FLOPs per parameter per token", _flops_assumption(words, job.method)),
        say("activation memory", words.activation_headroom),
        say("usable memory", words.usable_memory),
        _memory_note(words, job.method),
        say("instances", words.training_days) if job.instances is None else "",
        "scaling is taken as linear in the number of instances",
    ]
    return finish("training", options, formula, assumptions, notes)


def _train_on(
    catalogue: Catalogue, words: EstimateWords, job: TrainingJob, name: str
) -> OptionEstimate:
    instance = instance_of(catalogue, name)
    acc = catalogue.accelerators[instance.accelerator]
    per = instance.accelerators
    notes: list[str] = list(price_notes(instance))
    band = _band(catalogue, words, instance.accelerator, job.active)
    if acc.bf16_dense_tflops is None or band is None:
        why = "no training figures for this offering (no BF16 peak or MFU in the catalogue)"
        return unpriced(instance, name, acc, per, why)
    flops = _flops_per_param_token(words, job.method) * job.active * job.tokens
    peak = acc.bf16_dense_tflops.value * 1e12
    accelerator_hours = flops / (peak * band.likely) / 3600
    hours_range = (flops / (peak * band.high) / 3600, flops / (peak * band.low) / 3600)
    instance_hours = accelerator_hours / per
    need = training_state_bytes(words, job)
    fewest_accs = math.ceil(need / (acc.memory_gb.value * 1e9 * words.usable_memory.value))
    fewest = max(1, math.ceil(fewest_accs / per))
    if job.instances is None:
        days = words.training_days.value
        if instance.capacity_block is not None and catalogue.capacity_blocks is not None:
            days = catalogue.capacity_blocks.longest_within(days)  # no day bought unused
        count = max(fewest, math.ceil(instance_hours / (days * 24)))
    else:
        count = job.instances
    fits = count >= fewest
    if not fits:
        notes.insert(
            0,
            f"does not fit: the training state ({gb(need)}) needs at least {fewest} "
            f"instance{'s' * (fewest > 1)} of {name}",
        )
    if count > 1 and not instance.efa:
        fits = False
        notes.insert(0, f"does not fit: {name} has no EFA networking to train across instances")
    wall_clock = instance_hours / count
    cost, cb_cost = _training_costs(catalogue, instance, count, instance_hours, wall_clock)
    ends = [
        _training_costs(catalogue, instance, count, h / per, h / per / count) for h in hours_range
    ]
    notes += _capacity_block_notes(catalogue, instance, count, wall_clock)
    notes += _fleet_notes(catalogue, instance, count)
    price = instance.price
    priced = fits  # a count that cannot hold the model has no meaningful cost
    return OptionEstimate(
        instance=name,
        family=instance.family,
        accelerator=acc.name,
        accelerators_per_instance=per,
        instances=count,
        fits=fits,
        price_per_hour_usd=price.usd_per_hour,
        price_basis=instance.price_basis,
        price_where=price.where,
        notes=tuple(notes),
        sources=(*instance_sources(catalogue, instance, acc), *band.sources),
        mfu=band.likely,
        accelerator_hours=accelerator_hours,
        instance_hours=instance_hours,
        wall_clock_hours=wall_clock if priced else None,
        cost_usd=cost if priced else None,
        capacity_block_cost_usd=cb_cost if priced else None,
        mfu_range=(band.low, band.high),
        accelerator_hours_range=hours_range,
        wall_clock_hours_range=(hours_range[0] / per / count, hours_range[1] / per / count)
        if priced
        else None,
        cost_usd_range=(ends[0][0], ends[1][0]) if priced else None,
        capacity_block_cost_usd_range=_cb_range(ends) if priced else None,
        training_state_gb=need / 1e9,
    )


def _cb_range(
    ends: list[tuple[float, float | None]],
) -> tuple[float, float] | None:
    low, high = ends[0][1], ends[1][1]
    return None if low is None or high is None else (low, high)


def _band(
    catalogue: Catalogue, words: EstimateWords, accelerator: str, active: float
) -> MfuBand | None:
    """The published runs' band for this accelerator and size, else the flow's single
    assumed MFU as a band of one point (said so in the notes)."""
    band = band_for(catalogue.calibration, accelerator, active)
    if band is not None:
        return band
    mfu = words.mfu.get(accelerator)
    if mfu is None:
        return None
    url = catalogue.url(mfu.source) if mfu.source in catalogue.sources else None
    return MfuBand(mfu.value, mfu.value, mfu.value, mfu.why, (), (url,) if url else ())


def _mfu_note(catalogue: Catalogue, words: EstimateWords, key: str, active: float) -> str:
    name = catalogue.accelerators[key].name
    band = band_for(catalogue.calibration, key, active)
    if band is None:
        mfu = words.mfu.get(key)
        return (
            f"MFU {mfu.value:.0%} on {name}: {mfu.why} (no published runs to give a range)"
            if mfu
            else ""
        )
    text = (
        f"MFU likely {band.likely:.0%} (range {band.low:.0%}-{band.high:.0%}) on {name}: "
        f"{band.label}, from {len(band.runs)} published runs ({', '.join(band.runs)})"
    )
    if band.borrowed:
        text += f"; no published run on {name}, so this band is applied at its own peak"
    return text


def _moe_note(job: TrainingJob) -> str:
    if job.active_params is None:
        return ""
    return (
        f"mixture of experts: compute follows the {params_text(job.active_params)} active "
        f"parameters (6 × N_active × D); memory holds all {params_text(job.params)}"
    )


def _memory_note(words: EstimateWords, method: Method) -> str:
    if method == "full":
        return say("memory", words.bytes_per_param_full)
    if method == "qlora":
        return (
            "memory (QLoRA paper, arXiv 2305.14314): frozen weights in 4-bit NF4 with "
            "double-quantised constants (4.127 bits per parameter), adapters in BF16 with "
            "their gradients, optimizer states paged to host memory; activation headroom on "
            f"the 4-bit weights ({words.lora_trainable_fraction.why})"
        )
    return (
        f"memory: frozen weights at {_frozen_bytes(method):g} bytes per parameter plus "
        f"adapters ({words.lora_trainable_fraction.why})"
    )


def training_state_bytes(words: EstimateWords, job: TrainingJob) -> float:
    """What the accelerators must hold: every parameter's training state plus headroom
    for activations. QLoRA follows its paper: the 4-bit base with headroom, then the
    adapters' BF16 weights and gradients (paged optimizer states live on the host)."""
    headroom = 1 + words.activation_headroom.value
    if job.method == "qlora":
        adapters = job.params * words.lora_trainable_fraction.value * QLORA_ADAPTER_BYTES
        return job.params * QLORA_FROZEN_BYTES * headroom + adapters
    return job.params * _train_bytes_per_param(words, job.method) * headroom


def _fleet_notes(catalogue: Catalogue, instance: Instance, count: int) -> list[str]:
    """On-demand fleets beyond what Capacity Blocks sell need a conversation with AWS."""
    rules = catalogue.capacity_blocks
    if instance.on_demand is None or rules is None or count <= rules.max_instances:
        return []
    return [
        f"{count:,} instances on demand is beyond what AWS sells without a conversation: "
        f"Capacity Blocks stop at {rules.max_instances} instances, and on-demand quotas for "
        "accelerated instances are per account and far smaller by default; ask AWS for "
        "a quota increase or reserved capacity"
    ]


def _training_costs(
    catalogue: Catalogue, instance: Instance, count: int, instance_hours: float, hours: float
) -> tuple[float, float | None]:
    """(cost at the estimate's price, cost as a Capacity Block where that is a second
    option). Capacity Blocks are bought in whole days, in steps, so a block costs its
    days, not the run's hours."""
    cb = instance.capacity_block
    rules = catalogue.capacity_blocks
    cb_cost = None
    if cb is not None:
        billed = rules.block_days(hours) * 24 * count if rules else instance_hours
        cb_cost = billed * cb.usd_per_hour
    if instance.on_demand is None:
        assert cb_cost is not None  # validated: a price of one kind or the other
        return cb_cost, None
    return instance_hours * instance.on_demand.usd_per_hour, cb_cost


def _capacity_block_notes(
    catalogue: Catalogue, instance: Instance, count: int, hours: float
) -> list[str]:
    rules = catalogue.capacity_blocks
    if instance.capacity_block is None or rules is None:
        return []
    notes = []
    days = rules.block_days(hours)
    if instance.on_demand is None and days * 24 > hours + 1:
        notes.append(f"a Capacity Block is bought by the day: {days} days are billed")
    if days > rules.max_days:
        notes.append(f"longer than the {rules.max_days} days one Capacity Block covers")
    if count > rules.max_instances:
        notes.append(
            f"{count:,} instances is more than the {rules.max_instances} AWS sells across "
            f"Capacity Blocks ({rules.max_instances_per_block} per block): ask AWS"
        )
    return notes


def _flops_per_param_token(words: EstimateWords, method: Method) -> float:
    return 6.0 if method == "full" else words.lora_flops_per_param_token.value


def _flops_assumption(words: EstimateWords, method: Method) -> Assumption:
    if method == "full":
        return Assumption(
            value=6, why="forward 2 and backward 4 FLOPs per parameter per token (6·N·D)"
        )
    return words.lora_flops_per_param_token


def _frozen_bytes(method: Method) -> float:
    return 0.5 if method == "qlora" else 2.0  # QLoRA keeps the frozen weights in 4 bits


def _train_bytes_per_param(words: EstimateWords, method: Method) -> float:
    if method == "full":
        return words.bytes_per_param_full.value
    adapters = words.lora_trainable_fraction.value * words.bytes_per_param_full.value
    return _frozen_bytes(method) + adapters
