"""Published runs and benchmarks behind the estimate (flows/calibration.toml), and the
mixture-of-experts models a person may name (flows/models.toml).

Validated by pydantic at load and cross-checked like the offerings catalogue: every
figure names a known source with a URL and a read date, every run's hardware and
every band's cluster exist, and every run falls in some band, so nothing the
estimate shows is unsourced and no run is silently ignored.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from bot.flow.errors import FlowError, Problem
from bot.flow.sourced import Number, Source, SourceKey, _Strict, parse_toml


class RunHardware(_Strict):
    """The GPU a published run used, by its dense BF16 peak."""

    bf16_dense_tflops: Number


class Run(_Strict):
    """One published training run: what was trained, on what, for how many GPU-hours."""

    model: str = Field(min_length=1, max_length=80)
    params: float = Field(gt=0)
    active_params: float | None = Field(default=None, gt=0)
    tokens: float = Field(gt=0)
    hardware: str
    gpu: str = Field(min_length=1, max_length=80)
    cluster: str = Field(min_length=1, max_length=40)
    gpu_hours: float = Field(gt=0)
    source: SourceKey

    @property
    def active(self) -> float:
        return self.active_params or self.params

    @property
    def moe(self) -> bool:
        return self.active_params is not None


class Band(_Strict):
    """An MFU band: the runs of one cluster within a range of active parameters."""

    key: str = Field(min_length=1, max_length=40)
    label: str = Field(min_length=1, max_length=120)
    cluster: str
    applies_to: tuple[str, ...] = ()
    borrowed: tuple[str, ...] = ()
    min_active_params: float = 0.0
    max_active_params: float = float("inf")
    fallback: str | None = None

    def holds(self, active_params: float) -> bool:
        return self.min_active_params <= active_params < self.max_active_params


class ServingFit(_Strict):
    """Serving timing for one accelerator family, fitted on its vendor's benchmarks.
    A figure left out keeps the roofline's (the words file's bandwidth share, no fixed
    cost per step or per sequence, the words file's compute share for prompts)."""

    step_overhead_ms: Number | None = None
    decode_bandwidth_efficiency: Number | None = None
    per_sequence_ms: Number | None = None
    prefill_compute_efficiency: Number | None = None  # of the dense peak, for prompts

    def numbers(self) -> list[Number]:
        return [
            n
            for n in (
                self.step_overhead_ms,
                self.decode_bandwidth_efficiency,
                self.per_sequence_ms,
                self.prefill_compute_efficiency,
            )
            if n is not None
        ]

    def said(self) -> str:
        """The fitted figures in words, for the estimate's notes."""
        parts = []
        if self.step_overhead_ms is not None:
            parts.append(f"{self.step_overhead_ms.value:g} ms per step")
        if self.decode_bandwidth_efficiency is not None:
            parts.append(f"{self.decode_bandwidth_efficiency.value:.0%} of bandwidth")
        if self.per_sequence_ms is not None:
            parts.append(f"{self.per_sequence_ms.value:g} ms per extra sequence")
        if self.prefill_compute_efficiency is not None:
            parts.append(f"prompts at {self.prefill_compute_efficiency.value:.0%} of peak")
        return ", ".join(parts)


class ThroughputRow(_Strict):
    """One published maximum-load throughput figure (a vendor's perf table): generated
    tokens/s of ``tp`` accelerators serving requests of ``input_tokens`` prompt and
    ``output_tokens`` output. ``fitted``: used to fit the family's figures above;
    otherwise held out, a pure check of the estimate."""

    model: str  # a key of flows/models.toml (size and KV shape)
    accelerator: str  # a catalogue accelerator key
    instance: str  # the catalogue instance with that accelerator
    tp: int = Field(ge=1)
    precision: Literal["bf16", "fp8", "int8", "int4"]
    input_tokens: int = Field(ge=1)
    output_tokens: int = Field(ge=1)
    output_tokens_per_second: float = Field(gt=0)
    fitted: bool = False
    source: SourceKey


class ServingRow(_Strict):
    """One published decode benchmark: time per output token at a batch size."""

    model: str = Field(min_length=1, max_length=80)
    params: float = Field(gt=0)
    precision: Literal["bf16", "fp8", "int8", "int4"]
    instance: str
    accelerators: int = Field(ge=1)
    batch: int = Field(ge=1)
    tpot_ms: float = Field(gt=0)
    input_tokens: int | None = Field(default=None, ge=1)
    ttft_ms: float | None = Field(default=None, gt=0)  # time to first token, batch 1
    source: SourceKey


class Calibration(_Strict):
    """The whole calibration file."""

    sources: dict[SourceKey, Source] = Field(default_factory=dict)
    hardware: dict[str, RunHardware] = Field(default_factory=dict)
    runs: tuple[Run, ...] = ()
    bands: tuple[Band, ...] = ()
    serving: dict[str, ServingFit] = Field(default_factory=dict)
    serving_rows: tuple[ServingRow, ...] = ()
    throughput_rows: tuple[ThroughputRow, ...] = ()

    def url(self, key: SourceKey) -> str:
        return self.sources[key].url

    def peak_tflops(self, run: Run) -> float:
        return self.hardware[run.hardware].bf16_dense_tflops.value


class KvShape(_Strict):
    """What a model's attention caches per token, from its published config."""

    layers: int = Field(ge=1)
    kv_heads: int = Field(ge=1)
    head_dim: int = Field(ge=1)
    latent: bool = False  # multi-head latent attention: one vector per layer, keys and values
    source: SourceKey

    @property
    def values_per_token(self) -> int:
        per_layer = self.head_dim if self.latent else 2 * self.kv_heads * self.head_dim
        return self.layers * per_layer


class KnownModel(_Strict):
    """A model by name: its total parameters, its active ones if it is a mixture of
    experts, and its KV-cache shape where the config is sourced."""

    names: tuple[str, ...] = Field(min_length=1)
    params: float = Field(gt=0)
    active_params: float | None = Field(default=None, gt=0)
    shape: KvShape | None = None
    source: SourceKey


class Models(_Strict):
    sources: dict[SourceKey, Source] = Field(default_factory=dict)
    models: dict[str, KnownModel] = Field(default_factory=dict)


def load_calibration(text: str, path: str) -> Calibration:
    """Parse and cross-check a calibration file; problems name their TOML key."""
    cal = parse_toml(Calibration, text, path)
    problems: list[Problem] = []

    def sourced(where: str, key: SourceKey) -> None:
        if key not in cal.sources:
            problems.append(Problem(path, f"{where}: unknown source {key!r}; add it to [sources]"))

    for name, hw in cal.hardware.items():
        sourced(f"hardware.{name}", hw.bf16_dense_tflops.source)
    clusters = {run.cluster for run in cal.runs}
    for i, run in enumerate(cal.runs):
        sourced(f"runs[{i}] ({run.model})", run.source)
        if run.hardware not in cal.hardware:
            problems.append(Problem(path, f"runs[{i}].hardware: unknown {run.hardware!r}"))
        if not any(b.cluster == run.cluster and b.holds(run.active) for b in cal.bands):
            problems.append(Problem(path, f"runs[{i}] ({run.model}): in no band"))
    for i, band in enumerate(cal.bands):
        for cluster in (band.cluster, band.fallback):
            if cluster is not None and cluster not in clusters:
                problems.append(Problem(path, f"bands[{i}]: no run in cluster {cluster!r}"))
    for name, fit in cal.serving.items():
        for number in fit.numbers():
            sourced(f"serving.{name}", number.source)
    for i, row in enumerate(cal.serving_rows):
        sourced(f"serving_rows[{i}]", row.source)
    for i, t in enumerate(cal.throughput_rows):
        sourced(f"throughput_rows[{i}]", t.source)
    if problems:
        raise FlowError(problems)
    return cal


def load_models(text: str, path: str) -> Models:
    """Parse and cross-check the known-models file."""
    models = parse_toml(Models, text, path)
    problems = [
        Problem(path, f"models.{name}: unknown source {key!r}; add it under [sources]")
        for name, m in models.models.items()
        for key in (m.source, m.shape.source if m.shape else m.source)
        if key not in models.sources
    ]
    problems += [
        Problem(path, f"models.{name}: active_params is more than params")
        for name, m in models.models.items()
        if m.active_params is not None and m.active_params > m.params
    ]
    if problems:
        raise FlowError(problems)
    return models
