"""How many instances, for how long, at what cost: sizing arithmetic over the catalogue.

`model` holds the jobs and results, `training` and `inference` the two sizings,
`common` what they share.

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

from bot.estimate.inference import estimate_inference, largest_model
from bot.estimate.model import (
    BYTES_PER_PARAM,
    METHODS,
    PRECISIONS,
    SECONDS_PER_DAY,
    Estimate,
    EstimateError,
    InferenceJob,
    Method,
    OptionEstimate,
    Precision,
    TrainingJob,
    option_json,
)
from bot.estimate.training import estimate_training

__all__ = [
    "BYTES_PER_PARAM",
    "METHODS",
    "PRECISIONS",
    "SECONDS_PER_DAY",
    "Estimate",
    "EstimateError",
    "InferenceJob",
    "Method",
    "OptionEstimate",
    "Precision",
    "TrainingJob",
    "estimate_inference",
    "estimate_training",
    "largest_model",
    "option_json",
]
