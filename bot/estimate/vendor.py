"""The estimate against vendors' published serving throughput (TensorRT-LLM's perf
tables, `throughput_rows` in flows/calibration.toml): what the estimate predicts for
one row, and the prompt efficiency that best fits the rows marked as fitted.

Kept apart from the estimate itself: the estimate reads only the fitted figures in
`[serving.<accelerator>]`; this module is how they were found and how the tests check
the held-out rows against them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from bot.estimate.inference import estimate_inference
from bot.estimate.model import InferenceJob
from bot.flow.calibration import Calibration, ServingFit, ThroughputRow
from bot.flow.catalogue import Catalogue
from bot.flow.sourced import Number
from bot.flow.words import EstimateWords

_RATE = 1000.0  # any rate: the prediction is per accelerator, not for the traffic


def predicted_tokens_per_second(
    catalogue: Catalogue, words: EstimateWords, row: ThroughputRow
) -> float:
    """Generated tokens/s the estimate gives ``row.tp`` accelerators of the row's kind
    for requests of the row's prompt and output lengths (its rate per accelerator,
    on the replica size it chose, times ``tp``)."""
    model = catalogue.models.models[row.model]
    job = InferenceJob(
        model.params,
        _RATE,
        row.precision,
        active_params=model.active_params,
        prompt_tokens_per_second=_RATE * row.input_tokens / row.output_tokens,
        kv_values_per_token=model.shape.values_per_token if model.shape else None,
        context_tokens=row.input_tokens + row.output_tokens,
    )
    option = estimate_inference(catalogue, words, job, [[row.instance]]).recommended
    assert option.replicas and option.accelerators_per_replica  # the row's model fits
    per_replica = (option.tokens_per_second_capacity or 0.0) / option.replicas
    return per_replica / option.accelerators_per_replica * row.tp


def ratio(catalogue: Catalogue, words: EstimateWords, row: ThroughputRow) -> float:
    """Published over predicted (above 1: the vendor's engine does better)."""
    return row.output_tokens_per_second / predicted_tokens_per_second(catalogue, words, row)


def fit_prefill(
    catalogue: Catalogue, words: EstimateWords, accelerator: str, rows: Sequence[ThroughputRow]
) -> float:
    """The prompt efficiency (of the dense peak) whose predictions for ``rows`` have a
    geometric-mean ratio of 1, by bisection (more efficiency, faster prompts)."""
    low, high = 0.05, 1.0
    for _ in range(40):
        mid = (low + high) / 2
        fit = ServingFit(prefill_compute_efficiency=Number(value=mid, source=rows[0].source))
        serving = {**catalogue.calibration.serving, accelerator: fit}
        cal = catalogue.calibration.model_copy(update={"serving": serving})
        trial = replace_calibration(catalogue, cal)
        mean = sum(math.log(ratio(trial, words, r)) for r in rows) / len(rows)
        low, high = (low, mid) if mean < 0 else (mid, high)
    return (low + high) / 2


def replace_calibration(catalogue: Catalogue, calibration: Calibration) -> Catalogue:
    return catalogue.model_copy(update={"calibration": calibration})
