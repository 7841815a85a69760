"""Inference: weights (N × bytes per parameter at the precision) plus KV-cache headroom
set the accelerators per replica; a decode step takes the longer of streaming the
weights (memory bound) and the batch's 2·N FLOPs per token (compute bound); replicas
cover the requested tokens per second; a month is 730 hours."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from bot.estimate.common import (
    best,
    finish,
    gb,
    instance_of,
    instance_sources,
    positive,
    price_notes,
    say,
)
from bot.estimate.model import (
    BYTES_PER_PARAM,
    Estimate,
    EstimateError,
    InferenceJob,
    OptionEstimate,
    Precision,
)
from bot.flow.calibration import ServingFit
from bot.flow.catalogue import Accelerator, Catalogue, Instance
from bot.flow.words import EstimateWords
from bot.quantities import params_text


def estimate_inference(
    catalogue: Catalogue,
    words: EstimateWords,
    job: InferenceJob,
    groups: Sequence[Sequence[str]],
) -> Estimate:
    """Size each group's offering to serve ``job``: per group, the cheapest size that
    holds the model (``groups`` as for `estimate_training`)."""
    positive(job.params, "the model size")
    positive(job.tokens_per_second, "the traffic")
    if job.prompt_tokens_per_second < 0 or not math.isfinite(job.prompt_tokens_per_second):
        raise EstimateError("The prompt tokens must be zero or a positive number.")
    if job.latency_ms is not None:
        positive(job.latency_ms, "the latency")
    if job.active_params is not None:
        positive(job.active_params, "the active parameters")
        if job.active_params > job.params:
            raise EstimateError("The active parameters cannot exceed the total.")
    options = [
        best(
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
        "active_params": job.active_params,
        "tokens_per_second": job.tokens_per_second,
        "prompt_tokens_per_second": job.prompt_tokens_per_second,
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
        say("KV cache", words.kv_cache_headroom),
        say("usable memory", words.usable_memory),
        say("memory bandwidth", words.decode_bandwidth_efficiency),
        say("compute", words.compute_efficiency),
        say("batch", words.max_batch),
        "traffic is the average rate; peaks need more replicas",
        _prompt_note(job, words),
        f"a latency of {job.latency_ms:g} ms is taken as the longest decode step allowed"
        if job.latency_ms
        else "",
    ]
    return finish("inference", options, formula, assumptions, notes)


def _prompt_note(job: InferenceJob, words: EstimateWords) -> str:
    if not job.prompt_tokens_per_second:
        return (
            "every token of the traffic is counted as generated; prompt tokens cost less "
            "(they are processed in parallel), so long prompts make this an overestimate: "
            "give --input-tokens and --output-tokens per request to separate them"
        )
    return (
        f"prompts (prefill): {job.prompt_tokens_per_second:,.0f} tokens/s at 2·N FLOPs each, "
        f"compute bound at {words.compute_efficiency.value:.0%} of the dense peak on GPUs "
        "(on Inferentia2, the efficiency AWS Neuron's published time to first token gives); "
        f"generated (decode): {job.tokens_per_second:,.0f} tokens/s; a replica's time is "
        "split between the two"
    )


def _serve_on(
    catalogue: Catalogue, words: EstimateWords, job: InferenceJob, name: str
) -> OptionEstimate:
    instance = instance_of(catalogue, name)
    acc = catalogue.accelerators[instance.accelerator]
    per = instance.accelerators
    notes: list[str] = list(price_notes(instance))
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
            f"does not fit: {params_text(job.params)} at {job.precision} needs {gb(need)} with "
            f"KV headroom; {name} holds about {params_text(largest)} at {job.precision}",
        )
    elif spans > 1:
        notes.insert(0, f"one replica spans {spans} instances")
    fit = catalogue.calibration.serving.get(instance.accelerator)
    step_memory = _step_memory(words, job, acc, accs, fit)
    peak = _peak_tflops(acc, job.precision)
    batch = 1
    if peak is not None:
        top = int(words.max_batch.value)
        while batch * 2 <= top and (
            job.latency_ms is None
            or _step(step_memory, batch * 2, job, accs, peak, words, fit) * 1000 <= job.latency_ms
        ):
            batch *= 2
    else:
        notes.append("no compute peak in the catalogue: sized at one sequence at a time")
    step = _step(step_memory, batch, job, accs, peak, words, fit)
    meets_latency = job.latency_ms is None or step * 1000 <= job.latency_ms
    if fits and not meets_latency:
        notes.insert(
            0,
            f"too slow for {job.latency_ms:g} ms: one decode step takes about "
            f"{step * 1000:.0f} ms here",
        )
    decode_rate = batch / step
    # Each generated token brings `ratio` prompt tokens to prefill first: a replica
    # splits its time between the two, so its rate of generated tokens drops.
    ratio = job.prompt_tokens_per_second / job.tokens_per_second
    prefill = ratio * _prefill_seconds(words, job, accs, peak, fit, step, batch)
    per_replica = 1 / (1 / decode_rate + prefill)
    share = prefill * per_replica if job.prompt_tokens_per_second else None
    replicas_per_instance = max(1, per // accs) if spans == 1 else 1
    replicas = max(1, math.ceil(job.tokens_per_second / per_replica))
    count = math.ceil(replicas / replicas_per_instance) * spans
    if instance.on_demand is None and instance.capacity_block is not None:
        notes.append(
            "priced on Capacity Blocks, which are paid up front and last at most 182 days: "
            "not a basis for always-on serving; on-demand (or Savings Plans) is, where sold"
        )
    if fit is not None:
        notes.append(
            f"decode timing fitted on AWS Neuron's published {acc.name} benchmarks "
            f"({fit.step_overhead_ms.value:g} ms per step, "
            f"{fit.decode_bandwidth_efficiency.value:.0%} of bandwidth, "
            f"{fit.per_sequence_ms.value:g} ms per extra sequence)"
        )
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
        sources=_sources(catalogue, instance, acc, fit),
        meets_latency=meets_latency,
        accelerators_per_replica=accs,
        replicas=replicas if fits else None,
        tokens_per_second_capacity=per_replica * replicas if fits else None,
        prefill_share=share if fits else None,
        monthly_cost_usd=monthly,
    )


def decode_step_seconds(
    catalogue: Catalogue, words: EstimateWords, job: InferenceJob, name: str, batch: int
) -> float:
    """One decode step of ``batch`` sequences on one replica of ``name`` (its whole
    instance): what the calibration tests compare with vendors' published TPOT."""
    instance = instance_of(catalogue, name)
    acc = catalogue.accelerators[instance.accelerator]
    fit = catalogue.calibration.serving.get(instance.accelerator)
    step_memory = _step_memory(words, job, acc, instance.accelerators, fit)
    peak = _peak_tflops(acc, job.precision)
    return _step(step_memory, batch, job, instance.accelerators, peak, words, fit)


def prefill_seconds(
    catalogue: Catalogue, words: EstimateWords, job: InferenceJob, name: str, tokens: int
) -> float:
    """Reading a prompt of ``tokens`` on one replica of ``name`` (its whole instance):
    what the calibration tests compare with vendors' published time to first token."""
    instance = instance_of(catalogue, name)
    acc = catalogue.accelerators[instance.accelerator]
    fit = catalogue.calibration.serving.get(instance.accelerator)
    peak = _peak_tflops(acc, job.precision)
    step = _step(_step_memory(words, job, acc, instance.accelerators, fit), 1, job,
                 instance.accelerators, peak, words, fit)  # fmt: skip
    return tokens * _prefill_seconds(words, job, instance.accelerators, peak, fit, step, 1)


def _step_memory(
    words: EstimateWords,
    job: InferenceJob,
    acc: Accelerator,
    accs: int,
    fit: ServingFit | None,
) -> float:
    """Seconds to stream the weights one decode step reads at batch 1 (a
    mixture-of-experts model: its active experts), plus the vendor-measured fixed cost
    of a step where one is known."""
    streamed = BYTES_PER_PARAM[job.precision] * job.active
    seconds = streamed / (accs * acc.memory_bandwidth_tbps.value * 1e12)
    if fit is None:
        return seconds / words.decode_bandwidth_efficiency.value
    return seconds / fit.decode_bandwidth_efficiency.value + fit.step_overhead_ms.value / 1000


def _prefill_seconds(
    words: EstimateWords,
    job: InferenceJob,
    accs: int,
    peak_tflops: float | None,
    fit: ServingFit | None,
    step: float,
    batch: int,
) -> float:
    """Seconds one replica spends reading one prompt token: 2·N_active FLOPs at the
    prefill efficiency (the vendor-benchmarked one, else the words' compute
    efficiency). Without a compute peak a prompt token costs what a generated one does."""
    if peak_tflops is None:
        return step / batch
    efficiency = words.compute_efficiency.value
    if fit is not None and fit.prefill_compute_efficiency is not None:
        efficiency = fit.prefill_compute_efficiency.value
    return 2 * job.active / (accs * peak_tflops * 1e12 * efficiency)


def _sources(
    catalogue: Catalogue, instance: Instance, acc: Accelerator, fit: ServingFit | None
) -> tuple[str, ...]:
    urls = instance_sources(catalogue, instance, acc)
    if fit is None:
        return urls
    bench = catalogue.calibration.url(fit.decode_bandwidth_efficiency.source)
    return tuple(dict.fromkeys((*urls, bench)))


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
    job: InferenceJob,
    accs: int,
    peak_tflops: float | None,
    words: EstimateWords,
    fit: ServingFit | None,
) -> float:
    """Seconds for one decode step of ``batch`` sequences: memory or compute bound,
    plus the vendor-benchmarked cost of each extra sequence where one is known. A
    mixture-of-experts model streams more experts as the batch grows, up to all of
    them (taken as min(total, active × batch))."""
    if job.active_params is not None:
        grown = min(job.params, job.active * batch) / job.active
        step_memory *= grown
    if fit is not None:
        step_memory += fit.per_sequence_ms.value / 1000 * (batch - 1)
    if peak_tflops is None:
        return step_memory
    compute = batch * 2 * job.active
    compute /= accs * peak_tflops * 1e12 * words.compute_efficiency.value
    return max(step_memory, compute)


def largest_model(
    acc: Accelerator, accelerators: int, precision: Precision, words: EstimateWords
) -> float:
    """The most parameters one instance holds for serving at ``precision``."""
    usable = acc.memory_gb.value * 1e9 * words.usable_memory.value * accelerators
    return usable / (BYTES_PER_PARAM[precision] * (1 + words.kv_cache_headroom.value))
