"""The API alternative to self-hosting: a hosted model of about the same size on
Amazon Bedrock, paid per token, and the traffic at which self-hosting costs the same.

Prices come from flows/api_prices.toml (sourced and dated). A month is the estimate's
``hours_per_month``. Traffic is tokens generated per second; prompt tokens, when the
job gives them, are charged at the input price.

Break-even: self-hosting is bought in steps (an instance, or a replica that spans
several), the API by the token. Its first step costs ``step`` a month and carries up to
``capacity`` tokens per second; the API costs ``rate`` per token-per-second a month. If
``step / rate`` is within ``capacity``, that traffic is the break-even, and every later
step keeps self-hosting cheaper (each adds the same cost and capacity); if not, the API
is cheaper at any traffic.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from bot.flow.catalogue import Source
from bot.pricing.flows_file import read_checked
from bot.pricing.model import PriceRefreshError

FILE_NAME = "api_prices.toml"
SECONDS_PER_DAY = 86_400
NEAR = 2.0  # a hosted model counts as the same size within this factor


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class HostedModel(_Strict):
    name: str = Field(min_length=1, max_length=80)
    model_id: str = Field(min_length=1, max_length=100)
    params: float = Field(gt=0)
    region: str
    input_usd_per_million: float = Field(gt=0)
    output_usd_per_million: float = Field(gt=0)
    batch_input_usd_per_million: float | None = Field(default=None, gt=0)
    batch_output_usd_per_million: float | None = Field(default=None, gt=0)
    source: str
    note: str | None = Field(default=None, max_length=300)


class ApiPrices(_Strict):
    sources: dict[str, Source] = {}
    models: tuple[HostedModel, ...] = ()


def load_api_prices(flows_dir: Path) -> ApiPrices:
    """The file, checked: every model's source must be listed with a URL and a date."""
    path = Path(flows_dir) / FILE_NAME
    if not path.exists():
        return ApiPrices()
    prices = read_checked(path, ApiPrices)
    unknown = [m.source for m in prices.models if m.source not in prices.sources]
    if unknown:
        raise PriceRefreshError(f"{path}: unknown source {unknown[0]!r}; add it under [sources]")
    return prices


@dataclass(frozen=True)
class ApiOption:
    """The hosted model priced for the traffic, or why there is none."""

    region: str
    model: HostedModel | None
    monthly_cost_usd: float | None
    usd_per_token_second_month: float | None  # the API's cost of 1 token/s for a month
    as_of: dt.date | None
    sources: tuple[str, ...]
    notes: tuple[str, ...]


def api_option(
    prices: ApiPrices,
    params: float,
    tokens_per_second: float,
    region: str,
    hours_per_month: float,
    prompt_tokens_per_second: float = 0.0,
    features: Sequence[tuple[str, str]] = (),
    batch_price: bool = True,
) -> ApiOption:
    """The nearest hosted model of the same size in ``region``, priced for the traffic.

    ``features``: (text, url) of the Bedrock features the path makes relevant (batch
    inference, prompt caching; `flows/purchase.toml`), said in the notes with their
    sources. ``batch_price``: name the model's own batch price where the file has one."""
    here = [m for m in prices.models if m.region == region]
    model = _nearest(here, params)
    anywhere = _nearest(prices.models, params)  # in any Region
    if model is None:
        why = f"no hosted model within {NEAR:g}x of this size has a sourced Bedrock price"
        if anywhere is not None:
            why = (
                f"no sourced Bedrock price in {region}; {anywhere.name} has one in "
                f"{anywhere.region}"
            )
        return ApiOption(region, None, None, None, None, (), (why,))
    per_token = (
        model.output_usd_per_million
        + model.input_usd_per_million * prompt_tokens_per_second / tokens_per_second
    ) / 1e6
    rate = per_token * SECONDS_PER_DAY * hours_per_month / 24
    source = prices.sources[model.source]
    notes = [
        f"{model.name} on Amazon Bedrock, on-demand: ${model.input_usd_per_million:g} per "
        f"million input tokens, ${model.output_usd_per_million:g} per million output tokens",
        "generated tokens at the output price"
        + (", prompt tokens at the input price" if prompt_tokens_per_second else ""),
    ]
    if batch_price and model.batch_output_usd_per_million is not None:
        notes.append(
            f"batch inference (results within hours, not a request's latency): "
            f"${model.batch_input_usd_per_million:g} / ${model.batch_output_usd_per_million:g} "
            "per million input / output tokens"
        )
    notes += [text for text, _ in features]
    if model.note:
        notes.append(model.note)
    if anywhere is not None and _distance(anywhere, params) < _distance(model, params):
        notes.append(
            f"{anywhere.name} ({anywhere.params / 1e9:g}B parameters) is nearer in size; "
            f"its sourced Bedrock price is in {anywhere.region}, not {region}"
        )
    urls = (source.url,)
    if "bedrock-pricing" in prices.sources:
        urls += (prices.sources["bedrock-pricing"].url,)
    urls += tuple(url for _, url in features)
    return ApiOption(
        region=region,
        model=model,
        monthly_cost_usd=rate * tokens_per_second,
        usd_per_token_second_month=rate,
        as_of=source.read_on,
        sources=tuple(dict.fromkeys(urls)),
        notes=tuple(notes),
    )


def break_even_tokens_per_day(
    api: ApiOption, monthly_cost_usd: float | None, steps: int, capacity: float | None
) -> float | None:
    """Tokens a day at which ``steps`` equal steps of self-hosting (``monthly_cost_usd``
    for ``capacity`` tokens/s in all) cost the same as the API; None when the API is
    cheaper at any traffic or either side has no price."""
    rate = api.usd_per_token_second_month
    if rate is None or not monthly_cost_usd or not capacity or steps < 1:
        return None
    step_cost, step_capacity = monthly_cost_usd / steps, capacity / steps
    even = step_cost / rate
    return even * SECONDS_PER_DAY if even <= step_capacity * (1 + 1e-12) else None


def api_json(api: ApiOption) -> dict[str, Any]:
    """The CLI's object for the API option (`kind: "api"`)."""
    model = api.model
    return {
        "kind": "api",
        "service": "Amazon Bedrock (on-demand)",
        "model": model.name if model else None,
        "model_id": model.model_id if model else None,
        "model_params": model.params if model else None,
        "region": api.region,
        "purchase": "on-demand",
        "input_usd_per_million": model.input_usd_per_million if model else None,
        "output_usd_per_million": model.output_usd_per_million if model else None,
        "batch_input_usd_per_million": model.batch_input_usd_per_million if model else None,
        "batch_output_usd_per_million": model.batch_output_usd_per_million if model else None,
        "monthly_cost_usd": None
        if api.monthly_cost_usd is None
        else round(api.monthly_cost_usd, 2),
        "price_as_of": api.as_of.isoformat() if api.as_of else None,
        "price_source": api.sources[0] if api.sources else None,
        "notes": list(api.notes),
        "sources": list(api.sources),
    }


def _distance(model: HostedModel, params: float) -> float:
    """How far apart two sizes are, as a ratio (rounded, so equal ratios tie)."""
    return round(abs(math.log(model.params / params)), 9)


def _nearest(models: Sequence[HostedModel], params: float) -> HostedModel | None:
    near = [m for m in models if abs(math.log(m.params / params)) <= math.log(NEAR)]
    # the nearest in size; among equally near ones, the cheaper per generated token
    return min(near, key=lambda m: (_distance(m, params), m.output_usd_per_million), default=None)


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 2)
