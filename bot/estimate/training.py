"""Training: FLOPs = k·N·D (k = 6 for full training, fewer for LoRA); accelerator-hours
= FLOPs / (peak dense BF16 × MFU); the fewest accelerators that hold the training state
set the smallest instance count; the count is then raised until the run finishes
within the assumed number of days, unless the person gave one. Capacity Blocks are
billed by the day, in their steps."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

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
    if job.instances is not None and job.instances < 1:
        raise EstimateError("The number of instances must be 1 or more.")
    options = [
        best(
            [_train_on(catalogue, words, job, name) for name in group],
            key=lambda o: o.cost_usd,
        )
        for group in groups
        if group
    ]
    k = _flops_per_param_token(words, job.method)
    formula = (
        f"FLOPs = {k:g} × N × D; accelerator-hours = FLOPs ÷ (peak dense BF16 × MFU) ÷ 3600; "
        "cost = instance-hours × price per hour"
    )
    assumptions: dict[str, Any] = {
        "params": job.params,
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
        *(
            f"MFU {words.mfu[key].value:.0%} on {catalogue.accelerators[key].name}: "
            f"{words.mfu[key].why}"
            for key in used
            if key in words.mfu
        ),
        say(f"{k:g} FLOPs per parameter per token", _flops_assumption(words, job.method)),
        say("activation memory", words.activation_headroom),
        say("usable memory", words.usable_memory),
        say("memory", words.bytes_per_param_full)
        if job.method == "full"
        else f"memory: frozen weights at {_frozen_bytes(job.method):g} bytes per parameter plus "
        f"adapters ({words.lora_trainable_fraction.why})",
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
    mfu = words.mfu.get(instance.accelerator)
    if acc.bf16_dense_tflops is None or mfu is None:
        why = "no training figures for this offering (no BF16 peak or MFU in the catalogue)"
        return unpriced(instance, name, acc, per, why)
    flops = _flops_per_param_token(words, job.method) * job.params * job.tokens
    accelerator_hours = flops / (acc.bf16_dense_tflops.value * 1e12 * mfu.value) / 3600
    instance_hours = accelerator_hours / per
    need = job.params * _train_bytes_per_param(words, job.method)
    need *= 1 + words.activation_headroom.value
    fewest_accs = math.ceil(need / (acc.memory_gb.value * 1e9 * words.usable_memory.value))
    fewest = max(1, math.ceil(fewest_accs / per))
    if job.instances is None:
        days = words.training_days.value
        if instance.on_demand is None and catalogue.capacity_blocks is not None:
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
    notes += _capacity_block_notes(catalogue, instance, count, wall_clock)
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
        sources=instance_sources(catalogue, instance, acc, extra=(mfu.source,)),
        mfu=mfu.value,
        accelerator_hours=accelerator_hours,
        instance_hours=instance_hours,
        wall_clock_hours=wall_clock if priced else None,
        cost_usd=cost if priced else None,
        capacity_block_cost_usd=cb_cost if priced else None,
    )


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
