"""How many instances, for how long, at what cost: sizing arithmetic over the catalogue.

Pure: no Slack, no database, no clock. Every number comes from the offerings
catalogue (specs, prices) or from the flow's stated assumptions (`[estimate]` in
the words file), and every result carries the formula, the assumptions and the
sources behind it, so a person can check it.

Training: FLOPs = k·N·D (k = 6 for full training, fewer for LoRA); accelerator-hours
= FLOPs / (peak dense BF16 × MFU); the fewest accelerators that hold the training
state set the smallest instance count; the count is then raised until the run
finishes within the assumed number of days, unless the person gave one.

Inference: weights (N × bytes per parameter at the precision) plus KV-cache
headroom set the accelerators per replica; a decode step takes the longer of
streaming the weights (memory bound) and the batch's 2·N FLOPs per token (compute
bound); replicas cover the requested tokens per second; a month is 730 hours.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from bot.flow.catalogue import Accelerator, Catalogue, Instance
from bot.flow.words import Assumption, EstimateWords
from bot.quantities import params_text

Method = Literal["full", "lora", "qlora"]
Precision = Literal["bf16", "fp8", "int8", "int4"]
METHODS: tuple[Method, ...] = ("full", "lora", "qlora")
PRECISIONS: tuple[Precision, ...] = ("bf16", "fp8", "int8", "int4")
BYTES_PER_PARAM: dict[Precision, float] = {"bf16": 2.0, "fp8": 1.0, "int8": 1.0, "int4": 0.5}
SECONDS_PER_DAY = 86_400


class EstimateError(ValueError):
    """Input an estimate cannot use; the message says what to give instead."""


@dataclass(frozen=True)
class TrainingJob:
    params: float
    tokens: float
    method: Method = "full"
    instances: int | None = None  # None: sized to finish within the assumed days


@dataclass(frozen=True)
class InferenceJob:
    params: float
    tokens_per_second: float  # the average rate the deployment must sustain
    precision: Precision = "bf16"
    latency_ms: float | None = None  # upper bound on one decode step, if any


@dataclass(frozen=True)
class OptionEstimate:
    """One offering sized for the job. Training fills the training fields, inference
    the inference ones; the other kind's stay None."""

    instance: str
    family: str
    accelerator: str
    accelerators_per_instance: int
    instances: int
    fits: bool
    price_per_hour_usd: float
    price_basis: str
    price_where: str
    notes: tuple[str, ...]
    sources: tuple[str, ...]
    recommended: bool = False
    estimable: bool = True  # False: the catalogue has no figures for this kind of job
    meets_latency: bool = True
    mfu: float | None = None
    accelerator_hours: float | None = None
    instance_hours: float | None = None
    wall_clock_hours: float | None = None
    cost_usd: float | None = None
    capacity_block_cost_usd: float | None = None
    accelerators_per_replica: int | None = None
    replicas: int | None = None
    tokens_per_second_capacity: float | None = None
    monthly_cost_usd: float | None = None

    @property
    def cost(self) -> float | None:
        """Per run (training) or per month (inference)."""
        return self.cost_usd if self.cost_usd is not None else self.monthly_cost_usd


@dataclass(frozen=True)
class Estimate:
    """Every option of one decision, the recommended one first."""

    kind: Literal["training", "inference"]
    options: tuple[OptionEstimate, ...]
    formula: str
    assumptions: dict[str, Any]
    assumption_notes: tuple[str, ...]
    sources: tuple[str, ...] = field(default=())

    @property
    def recommended(self) -> OptionEstimate:
        return self.options[0]

    def to_json(self) -> list[dict[str, Any]]:
        return [option_json(self, o) for o in self.options]


def option_json(estimate: Estimate, option: OptionEstimate) -> dict[str, Any]:
    """The CLI's object for one option (see README: `python -m bot estimate`)."""
    data: dict[str, Any] = {
        "instance": option.instance,
        "family": option.family,
        "recommended": option.recommended,
        "accelerator": option.accelerator,
        "accelerators_per_instance": option.accelerators_per_instance,
        "instances": option.instances,
        "fits": option.fits,
        "estimable": option.estimable,
        "price_per_hour_usd": option.price_per_hour_usd,
        "price_basis": option.price_basis,
        "price_where": option.price_where,
        "assumptions": dict(estimate.assumptions),
        "notes": list(option.notes),
        "sources": list(option.sources),
    }
    if estimate.kind == "training":
        data["assumptions"]["mfu"] = option.mfu  # this option's accelerator's
        data.update(
            accelerator_hours=_round(option.accelerator_hours),
            instance_hours=_round(option.instance_hours),
            wall_clock_hours=_round(option.wall_clock_hours),
            cost_usd=_round(option.cost_usd),
            capacity_block_cost_usd=_round(option.capacity_block_cost_usd),
        )
    else:
        data.update(
            accelerators_per_replica=option.accelerators_per_replica,
            replicas=option.replicas,
            tokens_per_second_capacity=_round(option.tokens_per_second_capacity),
            monthly_cost_usd=_round(option.monthly_cost_usd),
        )
    return data


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


# -- training -----------------------------------------------------------------------------


def estimate_training(
    catalogue: Catalogue,
    words: EstimateWords,
    job: TrainingJob,
    groups: Sequence[Sequence[str]],
) -> Estimate:
    """Size each group's offering for ``job``; ``groups`` are catalogue instance names,
    one group per recommendation node, the recommended node's first."""
    _positive(job.params, "the model size")
    _positive(job.tokens, "the number of training tokens")
    if job.instances is not None and job.instances < 1:
        raise EstimateError("The number of instances must be 1 or more.")
    options = [
        _best(
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
    used = dict.fromkeys(_acc_key(catalogue, o.instance) for o in options)
    notes = [
        *(
            f"MFU {words.mfu[key].value:.0%} on {catalogue.accelerators[key].name}: "
            f"{words.mfu[key].why}"
            for key in used
            if key in words.mfu
        ),
        _say(f"{k:g} FLOPs per parameter per token", _flops_assumption(words, job.method)),
        _say("activation memory", words.activation_headroom),
        _say("usable memory", words.usable_memory),
        _say("memory", words.bytes_per_param_full)
        if job.method == "full"
        else f"memory: frozen weights at {_frozen_bytes(job.method):g} bytes per parameter plus "
        f"adapters ({words.lora_trainable_fraction.why})",
        _say("instances", words.training_days) if job.instances is None else "",
        "scaling is taken as linear in the number of instances",
    ]
    return Estimate(
        kind="training",
        options=_mark_first(options),
        formula=formula,
        assumptions=assumptions,
        assumption_notes=tuple(n for n in notes if n),
        sources=_sources_of(options),
    )


def _train_on(
    catalogue: Catalogue, words: EstimateWords, job: TrainingJob, name: str
) -> OptionEstimate:
    instance = _instance(catalogue, name)
    acc = catalogue.accelerators[instance.accelerator]
    per = instance.accelerators
    notes: list[str] = list(_price_notes(instance))
    mfu = words.mfu.get(instance.accelerator)
    if acc.bf16_dense_tflops is None or mfu is None:
        why = "no training figures for this offering (no BF16 peak or MFU in the catalogue)"
        return _unpriced(instance, name, acc, per, why)
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
            f"does not fit: the training state ({_gb(need)}) needs at least {fewest} "
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
        sources=_instance_sources(catalogue, instance, acc, extra=(mfu.source,)),
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


# -- inference ----------------------------------------------------------------------------


def estimate_inference(
    catalogue: Catalogue,
    words: EstimateWords,
    job: InferenceJob,
    groups: Sequence[Sequence[str]],
) -> Estimate:
    """Size each group's offering to serve ``job``: per group, the cheapest size that
    holds the model (``groups`` as for `estimate_training`)."""
    _positive(job.params, "the model size")
    _positive(job.tokens_per_second, "the traffic")
    if job.latency_ms is not None:
        _positive(job.latency_ms, "the latency")
    options = [
        _best(
            [_serve_on(catalogue, words, job, name) for name in group],
            key=lambda o: o.monthly_cost_usd,
        )
        for group in groups
        if group
    ]
    formula = (
        "weights = N × bytes per parameter; decode step = max(weights ÷ (bandwidth × "
        f"{words.decode_bandwidth_efficiency.value:g}), batch × 2·N ÷ (peak × "
        f"{words.compute_efficiency.value:g})); replicas = traffic ÷ (batch ÷ step); "
        f"monthly = instances × price × {words.hours_per_month.value:g} h"
    )
    assumptions: dict[str, Any] = {
        "params": job.params,
        "tokens_per_second": job.tokens_per_second,
        "precision": job.precision,
        "bytes_per_param": BYTES_PER_PARAM[job.precision],
        "kv_cache_headroom": words.kv_cache_headroom.value,
        "usable_memory": words.usable_memory.value,
        "decode_bandwidth_efficiency": words.decode_bandwidth_efficiency.value,
        "compute_efficiency": words.compute_efficiency.value,
        "max_batch": words.max_batch.value,
        "hours_per_month": words.hours_per_month.value,
        "latency_ms": job.latency_ms,
    }
    notes = [
        _say("KV cache", words.kv_cache_headroom),
        _say("usable memory", words.usable_memory),
        _say("memory bandwidth", words.decode_bandwidth_efficiency),
        _say("compute", words.compute_efficiency),
        _say("batch", words.max_batch),
        "traffic is the average rate; peaks need more replicas",
        "every token of the traffic is counted as generated; prompt tokens cost less "
        "(they are processed in parallel), so long prompts make this an overestimate",
        f"a latency of {job.latency_ms:g} ms is taken as the longest decode step allowed"
        if job.latency_ms
        else "",
    ]
    return Estimate(
        kind="inference",
        options=_mark_first(options),
        formula=formula,
        assumptions=assumptions,
        assumption_notes=tuple(n for n in notes if n),
        sources=_sources_of(options),
    )


def _serve_on(
    catalogue: Catalogue, words: EstimateWords, job: InferenceJob, name: str
) -> OptionEstimate:
    instance = _instance(catalogue, name)
    acc = catalogue.accelerators[instance.accelerator]
    per = instance.accelerators
    notes: list[str] = list(_price_notes(instance))
    weights = job.params * BYTES_PER_PARAM[job.precision]
    need = weights * (1 + words.kv_cache_headroom.value)
    usable = acc.memory_gb.value * 1e9 * words.usable_memory.value
    accs = _replica_accelerators(math.ceil(need / usable), per)
    spans = math.ceil(accs / per)  # instances one replica spans (pipeline parallel)
    fits = spans == 1 or instance.efa  # a replica across instances needs EFA
    if not fits:
        largest = largest_model(acc, per, job.precision, words)
        notes.insert(
            0,
            f"does not fit: {params_text(job.params)} at {job.precision} needs {_gb(need)} with "
            f"KV headroom; {name} holds about {params_text(largest)} at {job.precision}",
        )
    elif spans > 1:
        notes.insert(0, f"one replica spans {spans} instances")
    step_memory = weights / (accs * acc.memory_bandwidth_tbps.value * 1e12)
    step_memory /= words.decode_bandwidth_efficiency.value
    peak = _peak_tflops(acc, job.precision)
    batch = 1
    if peak is not None:
        top = int(words.max_batch.value)
        while batch * 2 <= top and (
            job.latency_ms is None
            or _step(step_memory, batch * 2, job.params, accs, peak, words) * 1000 <= job.latency_ms
        ):
            batch *= 2
    else:
        notes.append("no compute peak in the catalogue: sized at one sequence at a time")
    step = _step(step_memory, batch, job.params, accs, peak, words)
    meets_latency = job.latency_ms is None or step * 1000 <= job.latency_ms
    if fits and not meets_latency:
        notes.insert(
            0,
            f"too slow for {job.latency_ms:g} ms: one decode step takes about "
            f"{step * 1000:.0f} ms here",
        )
    per_replica = batch / step
    replicas_per_instance = max(1, per // accs) if spans == 1 else 1
    replicas = max(1, math.ceil(job.tokens_per_second / per_replica))
    count = math.ceil(replicas / replicas_per_instance) * spans
    price = instance.price
    monthly = count * price.usd_per_hour * words.hours_per_month.value if fits else None
    return OptionEstimate(
        instance=name,
        family=instance.family,
        accelerator=acc.name,
        accelerators_per_instance=per,
        instances=count if fits else 0,
        fits=fits,
        price_per_hour_usd=price.usd_per_hour,
        price_basis=instance.price_basis,
        price_where=price.where,
        notes=tuple(notes),
        sources=_instance_sources(catalogue, instance, acc),
        meets_latency=meets_latency,
        accelerators_per_replica=accs,
        replicas=replicas if fits else None,
        tokens_per_second_capacity=per_replica * replicas if fits else None,
        monthly_cost_usd=monthly,
    )


def _replica_accelerators(needed: int, per_instance: int) -> int:
    """Accelerators for one replica: tensor-parallel degrees on an 8-GPU instance are
    powers of two; elsewhere (6 or 12 Inferentia chips) any count up to the instance's,
    and whole instances beyond it."""
    needed = max(1, needed)
    if needed > per_instance:
        return math.ceil(needed / per_instance) * per_instance
    if per_instance & (per_instance - 1) == 0:
        return min(per_instance, 2 ** math.ceil(math.log2(needed)))
    return needed


def _peak_tflops(acc: Accelerator, precision: Precision) -> float | None:
    if precision != "bf16" and acc.fp8_dense_tflops is not None:
        return acc.fp8_dense_tflops.value
    return acc.bf16_dense_tflops.value if acc.bf16_dense_tflops else None


def _step(
    step_memory: float,
    batch: int,
    params: float,
    accs: int,
    peak_tflops: float | None,
    words: EstimateWords,
) -> float:
    """Seconds for one decode step of ``batch`` sequences: memory or compute bound."""
    if peak_tflops is None:
        return step_memory
    compute = batch * 2 * params / (accs * peak_tflops * 1e12 * words.compute_efficiency.value)
    return max(step_memory, compute)


def largest_model(
    acc: Accelerator, accelerators: int, precision: Precision, words: EstimateWords
) -> float:
    """The most parameters one instance holds for serving at ``precision``."""
    usable = acc.memory_gb.value * 1e9 * words.usable_memory.value * accelerators
    return usable / (BYTES_PER_PARAM[precision] * (1 + words.kv_cache_headroom.value))


# -- shared -------------------------------------------------------------------------------


def _instance(catalogue: Catalogue, name: str) -> Instance:
    try:
        return catalogue.instances[name]
    except KeyError:
        known = ", ".join(sorted(catalogue.instances))
        raise EstimateError(f"Unknown instance {name!r}; known: {known}.") from None


def _acc_key(catalogue: Catalogue, name: str) -> str:
    return catalogue.instances[name].accelerator


def _positive(value: float, what: str) -> None:
    if not (value > 0 and math.isfinite(value)):
        raise EstimateError(f"{what[0].upper()}{what[1:]} must be a positive number.")


def _best(
    options: list[OptionEstimate], key: Callable[[OptionEstimate], float | None]
) -> OptionEstimate:
    """Of one group's sizes: the cheapest that fits (and meets the latency, if any
    does), else the largest, so the table says why not."""
    fitting = [o for o in options if o.fits and key(o) is not None]
    fast = [o for o in fitting if o.meets_latency] or fitting
    return min(fast, key=lambda o: key(o) or 0.0) if fast else options[-1]


def _mark_first(options: list[OptionEstimate]) -> tuple[OptionEstimate, ...]:
    if not options:
        raise EstimateError("No offering to estimate on this path.")
    return (replace(options[0], recommended=True), *options[1:])


def _unpriced(
    instance: Instance, name: str, acc: Accelerator, per: int, why: str
) -> OptionEstimate:
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


def _price_notes(instance: Instance) -> tuple[str, ...]:
    if instance.on_demand is None and instance.capacity_block is not None:
        where = instance.capacity_block.where
        return (f"Capacity Block price ({where}); {instance.no_on_demand}",)
    return ()


def _instance_sources(
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


def _sources_of(options: Sequence[OptionEstimate]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(u for o in options for u in o.sources))


def _say(what: str, assumption: Assumption) -> str:
    return f"{what}: {assumption.why}"


def _gb(n_bytes: float) -> str:
    return f"{n_bytes / 1e9:,.0f} GB"
