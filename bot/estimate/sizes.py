"""A model's size as people write it, dense or mixture-of-experts, or by name.

"70B" is dense. "671B-A37B", "671B total, 37B active", "37B active of 671B", and the
names in flows/models.toml ("DeepSeek-V3", "Mixtral 8x7B", "8x7B", "Qwen3-MoE",
"gpt-oss-120b") give a total and an active count: compute follows the active
parameters, memory the total. Pure and total: None when the text gives no size,
never an exception. `1_000B` reads as 1T (digit groups as Python writes them).

For the chat and Slack dialogs: `read_model_size(text, catalogue.models)` returns the
same `ModelSize` the CLI uses; pass `size.params` and `size.active_params` to
`TrainingJob` / `InferenceJob`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.flow.calibration import KvShape, Models

_SCALES = {
    "t": 1e12, "trillion": 1e12,
    "b": 1e9, "bn": 1e9, "billion": 1e9,
    "m": 1e6, "million": 1e6,
    "k": 1e3, "thousand": 1e3,
}  # fmt: skip
_NUMBER = r"\d+(?:[,_]\d{3})*(?:\.\d+)?"
_UNIT = r"trillion|billion|million|thousand|bn|t|b|m|k"


def _count(name: str) -> str:
    return rf"(?P<{name}_n>{_NUMBER})\s*(?P<{name}_u>{_UNIT})\b"


_A_FORM = re.compile(rf"{_count('total')}\s*-?\s*a\s*{_count('active')}")
_TOTAL = re.compile(rf"{_count('total')}\s*(?:parameters\s*)?(?:in\s+)?total")
_ACTIVE = re.compile(rf"{_count('active')}\s*(?:parameters\s*)?(?:are\s+)?active")
_ACTIVE_OF = re.compile(rf"{_count('active')}\s*active\s*(?:out\s+)?of\s*{_count('total')}")
_PLAIN = re.compile(_count("plain"))


@dataclass(frozen=True)
class ModelSize:
    """Total parameters, and the active ones for a mixture-of-experts model."""

    params: float
    active_params: float | None = None
    named: str | None = None  # the known model matched, if any
    shape: KvShape | None = None  # its KV-cache shape, where sourced

    @property
    def moe(self) -> bool:
        return self.active_params is not None


def read_number(text: str) -> float | None:
    """One count such as 70B, 1.5T, 1_000B or 2,000M; None unless that is all the text."""
    match = _PLAIN.fullmatch(text.strip().lower())
    return _value(match, "plain") if match else None


def read_model_size(text: str, models: Models | None = None) -> ModelSize | None:
    said = text.lower()
    if models is not None:
        for key, model in models.models.items():
            if any(re.search(rf"(?<![\w-]){re.escape(n)}(?![\w-])", said) for n in model.names):
                return ModelSize(model.params, model.active_params, key, model.shape)
    for pattern in (_A_FORM, _ACTIVE_OF):
        match = pattern.search(said)
        if match:
            return _checked(_value(match, "total"), _value(match, "active"))
    total, active = _TOTAL.search(said), _ACTIVE.search(said)
    if total and active:
        return _checked(_value(total, "total"), _value(active, "active"))
    match = _PLAIN.search(said)
    value = _value(match, "plain") if match else None
    return ModelSize(value) if value else None


def _checked(total: float | None, active: float | None) -> ModelSize | None:
    if not total or not active or active > total:
        return None
    return ModelSize(total, active)


def _value(match: re.Match[str], name: str) -> float | None:
    digits = match.group(f"{name}_n").replace("_", "").replace(",", "")
    try:
        value = float(digits) * _SCALES[match.group(f"{name}_u")]
    except (ValueError, KeyError):
        return None
    return value if value > 0 else None
