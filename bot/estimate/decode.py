"""How long a replica takes to generate and to read tokens: the serving time model.

A decode step streams the weights it touches (a mixture-of-experts model: its active
experts at batch 1, up to all of them as the batch grows, taken as min(total,
active × batch)) and each sequence's KV cache, at a share of the memory bandwidth; or,
for a large batch, it is bound by the batch's 2·N_active FLOPs. Where a vendor's
published benchmarks give a fit (Inferentia2, `flows/calibration.toml`), its fixed cost
per step, bandwidth share and cost per extra sequence replace the roofline's; NVIDIA's
TensorRT-LLM tables give H100 and H200 their prompt (prefill) efficiency. A prompt
token costs 2·N_active FLOPs at the prefill efficiency.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.estimate.model import BYTES_PER_PARAM, InferenceJob, Precision
from bot.flow.calibration import ServingFit
from bot.flow.catalogue import Accelerator
from bot.flow.words import EstimateWords


@dataclass(frozen=True)
class Replica:
    """One model replica's hardware and the efficiencies its timing uses."""

    accelerators: int
    bandwidth_tbps: float  # per accelerator
    peak_tflops: float | None  # dense, at the serving precision
    bandwidth_efficiency: float
    compute_efficiency: float
    prefill_efficiency: float
    step_overhead_s: float = 0.0
    per_sequence_s: float = 0.0
    fitted: bool = False  # timing from a vendor's published benchmarks

    def stream_seconds(self, n_bytes: float) -> float:
        return n_bytes / (
            self.accelerators * self.bandwidth_tbps * 1e12 * self.bandwidth_efficiency
        )


def replica(
    acc: Accelerator, accelerators: int, precision: Precision, words: EstimateWords,
    fit: ServingFit | None,
) -> Replica:  # fmt: skip
    compute = words.compute_efficiency.value
    if fit is None:
        return Replica(
            accelerators,
            acc.memory_bandwidth_tbps.value,
            peak_tflops(acc, precision),
            words.decode_bandwidth_efficiency.value,
            compute,
            compute,
        )
    bandwidth, overhead, per_sequence, prefill = (
        fit.decode_bandwidth_efficiency,
        fit.step_overhead_ms,
        fit.per_sequence_ms,
        fit.prefill_compute_efficiency,
    )
    return Replica(
        accelerators,
        acc.memory_bandwidth_tbps.value,
        peak_tflops(acc, precision),
        bandwidth.value if bandwidth else words.decode_bandwidth_efficiency.value,
        compute,
        prefill.value if prefill is not None else compute,
        step_overhead_s=overhead.value / 1000 if overhead else 0.0,
        per_sequence_s=per_sequence.value / 1000 if per_sequence else 0.0,
        fitted=True,
    )


def peak_tflops(acc: Accelerator, precision: Precision) -> float | None:
    if precision != "bf16" and acc.fp8_dense_tflops is not None:
        return acc.fp8_dense_tflops.value
    return acc.bf16_dense_tflops.value if acc.bf16_dense_tflops else None


def step_seconds(rep: Replica, job: InferenceJob, batch: int, kv_bytes: float = 0.0) -> float:
    """One decode step of ``batch`` sequences, each reading ``kv_bytes`` of KV cache."""
    touched = min(job.params, job.active * batch) if job.active_params else job.params
    weights = BYTES_PER_PARAM[job.precision] * touched
    memory = rep.stream_seconds(weights + batch * kv_bytes) + rep.step_overhead_s
    memory += rep.per_sequence_s * (batch - 1)
    if rep.peak_tflops is None:
        return memory
    flops = batch * 2 * job.active
    return max(memory, flops / (rep.accelerators * rep.peak_tflops * 1e12 * rep.compute_efficiency))


def prefill_seconds_per_token(rep: Replica, job: InferenceJob, step: float, batch: int) -> float:
    """Reading one prompt token; without a compute peak it costs what a generated one does."""
    if rep.peak_tflops is None:
        return step / batch
    return 2 * job.active / (rep.accelerators * rep.peak_tflops * 1e12 * rep.prefill_efficiency)
