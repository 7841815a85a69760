"""Inference: weights (N × bytes per parameter at the precision) plus the KV cache (from
the model's shape and context where known, else a headroom rule) set the accelerators
per replica; a decode step's time comes from `bot.estimate.decode`; prompts are read
apart from generated tokens when given; replicas cover the traffic; a month is 730 h."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
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
from bot.estimate.decode import Replica, prefill_seconds_per_token, replica, step_seconds
from bot.estimate.model import (
    BYTES_PER_PARAM,
    Estimate,
    EstimateError,
    InferenceJob,
    OptionEstimate,
    Precision,
)
from bot.estimate.serving import kv_bytes_per_sequence, kv_note, prompt_note, vllm_config
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
        "context_tokens": job.context_tokens,
        "kv_values_per_token": job.kv_values_per_token,
    }
    notes = [
        kv_note(job, words),
        say("usable memory", words.usable_memory),
        say("memory bandwidth", words.decode_bandwidth_efficiency),
        say("compute", words.compute_efficiency),
        say("batch", words.max_batch),
        "traffic is the average rate; peaks need more replicas",
        prompt_note(job, words),
        f"a latency of {job.latency_ms:g} ms is taken as the longest decode step allowed"
        if job.latency_ms
        else "",
    ]
    return finish("inference", options, formula, assumptions, notes)


def _serve_on(
    catalogue: Catalogue, words: EstimateWords, job: InferenceJob, name: str
) -> OptionEstimate:
    instance = instance_of(catalogue, name)
    acc = catalogue.accelerators[instance.accelerator]
    per = instance.accelerators
    notes: list[str] = list(price_notes(instance))
    weights = job.params * BYTES_PER_PARAM[job.precision]
    kv_sequence = kv_bytes_per_sequence(job)
    if kv_sequence is None:
        need, kv_said = weights * (1 + words.kv_cache_headroom.value), "KV headroom"
    else:
        need, kv_said = weights + kv_sequence, "one sequence's KV cache"
    usable = acc.memory_gb.value * 1e9 * words.usable_memory.value
    accs = _replica_accelerators(math.ceil(need / usable), per)
    spans = math.ceil(accs / per)  # instances one replica spans (pipeline parallel)
    fits = spans == 1 or instance.efa  # a replica across instances needs EFA
    # sequences whose KV cache fits beside the weights, when the model's shape is known
    kv_room = None if kv_sequence is None else int((usable * accs - weights) // kv_sequence)
    if not fits:
        largest = largest_model(acc, per, job.precision, words)
        notes.insert(
            0,
            f"does not fit: {params_text(job.params)} at {job.precision} needs {gb(need)} with "
            f"{kv_said}; {name} holds about {params_text(largest)} at {job.precision}",
        )
    elif spans > 1:
        notes.insert(0, f"one replica spans {spans} instances")
    fit = catalogue.calibration.serving.get(instance.accelerator)
    # With the KV cache sized from the model's shape, a replica on the fewest GPUs that
    # hold it may have room for only a few sequences: take the tensor-parallel size
    # (powers of two up to the instance) that serves the most tokens/s per accelerator.
    sizes = [accs]
    while kv_room is not None and spans == 1 and sizes[-1] * 2 <= per and per % 2 == 0:
        sizes.append(sizes[-1] * 2)
    timed = [_timed(acc, words, job, fit, n, weights, kv_sequence) for n in sizes]
    best_size = max(timed, key=lambda t: (t.meets(job), t.per_replica / t.accs))
    accs, rep, batch, step = best_size.accs, best_size.rep, best_size.batch, best_size.step
    per_replica, kv_room = best_size.per_replica, best_size.kv_room
    meets_latency = job.latency_ms is None or step * 1000 <= job.latency_ms
    if rep.peak_tflops is None:
        notes.append("no compute peak in the catalogue: sized at one sequence at a time")
    if fits and not meets_latency:
        notes.insert(
            0,
            f"too slow for {job.latency_ms:g} ms: one decode step takes about "
            f"{step * 1000:.0f} ms here",
        )
    ratio = job.prompt_tokens_per_second / job.tokens_per_second
    prefill = ratio * prefill_seconds_per_token(rep, job, step, batch)
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
        source = catalogue.calibration.sources[fit.numbers()[0].source]
        notes.append(
            f"timing fitted on {source.title.split(':')[0]}'s published benchmarks ({fit.said()})"
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
        batch=batch if fits else None,
        kv_cache_sequences=kv_room if fits else None,
        serving_config=vllm_config(words, job, acc, accs, per, batch) if fits else None,
        monthly_cost_usd=monthly,
    )


@dataclass(frozen=True)
class _Timed:
    """One replica size's timing: its batch, decode step and generated tokens/s."""

    accs: int
    rep: Replica
    batch: int
    step: float
    per_replica: float
    kv_room: int | None

    def meets(self, job: InferenceJob) -> bool:
        return job.latency_ms is None or self.step * 1000 <= job.latency_ms


def _timed(
    acc: Accelerator, words: EstimateWords, job: InferenceJob, fit: ServingFit | None,
    accs: int, weights: float, kv_sequence: float | None,
) -> _Timed:  # fmt: skip
    """A replica on ``accs`` accelerators: the largest batch (doubling up to the words
    file's cap, the sequences whose KV cache fits, and the latency asked for), its decode
    step, and its rate of generated tokens with each one's share of prompt tokens."""
    usable = acc.memory_gb.value * 1e9 * words.usable_memory.value
    kv_room = None if kv_sequence is None else int((usable * accs - weights) // kv_sequence)
    rep = replica(acc, accs, job.precision, words, fit)
    kv_read = kv_sequence or 0.0
    batch = 1
    if rep.peak_tflops is not None:
        top = int(words.max_batch.value)
        if kv_room is not None:
            top = max(1, min(top, kv_room))
        while batch * 2 <= top and (
            job.latency_ms is None
            or step_seconds(rep, job, batch * 2, kv_read) * 1000 <= job.latency_ms
        ):
            batch *= 2
    step = step_seconds(rep, job, batch, kv_read)
    # Each generated token brings `ratio` prompt tokens to read first: a replica splits
    # its time between the two, so its rate of generated tokens drops.
    ratio = job.prompt_tokens_per_second / job.tokens_per_second
    prefill = ratio * prefill_seconds_per_token(rep, job, step, batch)
    return _Timed(accs, rep, batch, step, 1 / (step / batch + prefill), kv_room)


def _whole_instance(
    catalogue: Catalogue, words: EstimateWords, job: InferenceJob, name: str
) -> Replica:
    instance = instance_of(catalogue, name)
    acc = catalogue.accelerators[instance.accelerator]
    fit = catalogue.calibration.serving.get(instance.accelerator)
    return replica(acc, instance.accelerators, job.precision, words, fit)


def decode_step_seconds(
    catalogue: Catalogue, words: EstimateWords, job: InferenceJob, name: str, batch: int
) -> float:
    """One decode step of ``batch`` sequences on one replica of ``name`` (its whole
    instance): what the calibration tests compare with vendors' published TPOT."""
    return step_seconds(_whole_instance(catalogue, words, job, name), job, batch)


def prefill_seconds(
    catalogue: Catalogue, words: EstimateWords, job: InferenceJob, name: str, tokens: int
) -> float:
    """Reading a prompt of ``tokens`` on one replica of ``name`` (its whole instance):
    what the calibration tests compare with vendors' published time to first token."""
    rep = _whole_instance(catalogue, words, job, name)
    return tokens * prefill_seconds_per_token(rep, job, step_seconds(rep, job, 1), 1)


def _sources(
    catalogue: Catalogue, instance: Instance, acc: Accelerator, fit: ServingFit | None
) -> tuple[str, ...]:
    urls = instance_sources(catalogue, instance, acc)
    if fit is None:
        return urls
    bench = (catalogue.calibration.url(n.source) for n in fit.numbers())
    return tuple(dict.fromkeys((*urls, *bench)))


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


def largest_model(
    acc: Accelerator, accelerators: int, precision: Precision, words: EstimateWords
) -> float:
    """The most parameters one instance holds for serving at ``precision``."""
    usable = acc.memory_gb.value * 1e9 * words.usable_memory.value * accelerators
    return usable / (BYTES_PER_PARAM[precision] * (1 + words.kv_cache_headroom.value))
