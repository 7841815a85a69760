"""An estimate's inputs and results, and the JSON the command line prints.

Plain values: the jobs a person describes, each option sized for them, and the whole
estimate with its formula, assumptions and sources.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from bot.pricing.model import PurchaseOption

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
    active_params: float | None = None  # mixture-of-experts: parameters each token uses

    @property
    def active(self) -> float:
        """What compute follows: the active parameters of a mixture-of-experts model,
        else all of them. Memory always follows ``params``."""
        return self.active_params or self.params


@dataclass(frozen=True)
class InferenceJob:
    params: float
    tokens_per_second: float  # the average rate the deployment must sustain
    precision: Precision = "bf16"
    latency_ms: float | None = None  # upper bound on one decode step, if any
    active_params: float | None = None  # mixture-of-experts: parameters each token uses
    # prompt tokens read per second besides the generated ``tokens_per_second``; 0:
    # not given, and every token of the traffic is costed as generated
    prompt_tokens_per_second: float = 0.0
    # with both: the KV cache is sized from the model's shape (values cached per token,
    # from its config) for sequences of ``context_tokens``, not from the headroom rule
    kv_values_per_token: int | None = None
    context_tokens: int | None = None

    @property
    def active(self) -> float:
        return self.active_params or self.params


@dataclass(frozen=True)
class ServingConfig:
    """The vLLM settings that make an option's fit real: the same accelerators,
    memory share, KV dtype and batch the estimate assumed."""

    engine: str
    tensor_parallel_size: int
    pipeline_parallel_size: int
    max_num_seqs: int
    gpu_memory_utilization: float
    kv_cache_dtype: str
    max_model_len: int | None  # None: no context given; set it to your longest sequence
    quantization: str | None  # None: serve the BF16 checkpoint as it is

    def flags(self) -> str:
        """As `vllm serve` options."""
        parts = [
            f"--tensor-parallel-size {self.tensor_parallel_size}",
            f"--pipeline-parallel-size {self.pipeline_parallel_size}",
            f"--max-num-seqs {self.max_num_seqs}",
            f"--gpu-memory-utilization {self.gpu_memory_utilization:g}",
            f"--kv-cache-dtype {self.kv_cache_dtype}",
        ]
        if self.max_model_len is not None:
            parts.append(f"--max-model-len {self.max_model_len}")
        if self.quantization is not None:
            parts.append(f"--quantization {self.quantization}")
        return " ".join(parts)


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
    # training ranges, [low, high], from the MFU band of published runs
    mfu_range: tuple[float, float] | None = None
    accelerator_hours_range: tuple[float, float] | None = None
    wall_clock_hours_range: tuple[float, float] | None = None
    cost_usd_range: tuple[float, float] | None = None
    capacity_block_cost_usd_range: tuple[float, float] | None = None
    training_state_gb: float | None = None
    accelerators_per_replica: int | None = None
    replicas: int | None = None
    tokens_per_second_capacity: float | None = None
    prefill_share: float | None = None  # of a replica's time, spent reading prompts
    batch: int | None = None  # sequences decoded together per replica
    kv_cache_sequences: int | None = None  # that fit beside the weights (model shape known)
    serving_config: ServingConfig | None = None
    monthly_cost_usd: float | None = None

    @property
    def cost(self) -> float | None:
        """Per run (training) or per month (inference)."""
        return self.cost_usd if self.cost_usd is not None else self.monthly_cost_usd


@dataclass(frozen=True)
class PricedIn:
    """Which prices an estimate used: the Region, how the instances are bought, the
    oldest price's date and where the prices come from; ``missing``: the instances
    left out because they have no price there, each with the nearest Regions that do."""

    region: str
    purchase: str
    as_of: str
    source: str
    missing: tuple[str, ...] = ()
    # the recommended option's ways to buy on this path (bot.pricing.purchase_advice)
    purchase_options: tuple[PurchaseOption, ...] = ()


@dataclass(frozen=True)
class ApiAlternative:
    """Calling a hosted model per token instead of serving it: the model, its monthly
    cost at the estimate's traffic (None: no sourced price), what it assumes, and per
    self-hosted option the traffic at which both cost the same."""

    model: str | None
    monthly_cost_usd: float | None
    notes: tuple[str, ...]
    sources: tuple[str, ...]
    break_even_tokens_per_day: tuple[tuple[str, float | None], ...] = ()
    features: tuple[str, ...] = ()  # Bedrock batch inference, prompt caching: where relevant


@dataclass(frozen=True)
class Estimate:
    """Every option of one decision, the recommended one first."""

    kind: Literal["training", "inference"]
    options: tuple[OptionEstimate, ...]
    formula: str
    assumptions: dict[str, Any]
    assumption_notes: tuple[str, ...]
    sources: tuple[str, ...] = field(default=())
    priced_in: PricedIn | None = None  # set where prices come from a price source
    api: ApiAlternative | None = None  # serving only: the hosted-model alternative

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
            accelerator_hours_range=_pair(option.accelerator_hours_range),
            wall_clock_hours_range=_pair(option.wall_clock_hours_range),
            cost_usd_range=_pair(option.cost_usd_range),
            capacity_block_cost_usd_range=_pair(option.capacity_block_cost_usd_range),
            training_state_gb=_round(option.training_state_gb),
        )
        data["assumptions"]["mfu_range"] = _pair(option.mfu_range, 3)
    else:
        data.update(
            accelerators_per_replica=option.accelerators_per_replica,
            replicas=option.replicas,
            tokens_per_second_capacity=_round(option.tokens_per_second_capacity),
            prefill_share=_round(option.prefill_share, 3),
            batch=option.batch,
            kv_cache_sequences=option.kv_cache_sequences,
            serving_config=asdict(option.serving_config) if option.serving_config else None,
            monthly_cost_usd=_round(option.monthly_cost_usd),
        )
    return data


def _round(value: float | None, digits: int = 2) -> float | None:
    return None if value is None else round(value, digits)


def _pair(values: tuple[float, float] | None, digits: int = 2) -> list[float] | None:
    return None if values is None else [round(v, digits) for v in values]
