"""What an estimate still needs after a result, and reading the replies that give it.

Pure: the flowchart's answers already tell some of it (a typed "70B" is kept as
7e10, "LoRA" or "int4" in a reply, a latency in ms); the rest is asked in at most
two follow-up questions. `Conversation` keeps an `EstimateInputs` in its record
and calls these functions.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

from pydantic import BaseModel, Field

from bot.estimate import (
    PRECISIONS,
    Estimate,
    InferenceJob,
    Method,
    Precision,
    TrainingJob,
    estimate_inference,
    estimate_training,
    largest_model,
)
from bot.estimate.amounts import (
    AmountKind,
    Traffic,
    out_of_range,
    read_method,
    read_precision,
    read_sizes,
    read_traffic,
)
from bot.estimate.sizes import read_model_size
from bot.flow.catalogue import Catalogue
from bot.flow.compiled import Flow
from bot.flow.loader import DEFAULT_FLOWS_DIR
from bot.flow.words import EstimateKind, EstimateWords
from bot.pricing.regions import read_region
from bot.pricing.source import PriceSource, SnapshotPrices, buying_for, with_prices
from bot.quantities import params_text, short

EstimateField = Literal["params", "tokens", "traffic"]

ASKED = "I asked for what the estimate still needs just above; type it in the thread."
UNREAD: dict[EstimateField, str] = {
    "params": "I could not read a model size there; give it like `70B` or `8 billion`.",
    "tokens": "I could not read a number of tokens there; give it like `2T tokens` or `500B`.",
    "traffic": "I could not read a traffic rate there; give it like `500M tokens a day` or "
    "`40 requests/s, 800 tokens each`.",
}


class EstimateInputs(BaseModel):
    """What an estimate needs beyond the flowchart's answers, as far as it is known;
    ``asking`` is the follow-up question waiting for a reply."""

    kind: EstimateKind
    asking: EstimateField | None = None
    params: float | None = None
    tokens: float | None = None
    tokens_per_second: float | None = None
    traffic: str | None = Field(default=None, max_length=200)
    method: Method = "full"
    precision: Precision = "bf16"
    latency_ms: float | None = None
    # a mixture-of-experts model's active parameters (compute follows them, memory the
    # total in ``params``); a known model's KV values per token, from its config
    active_params: float | None = None
    kv_values_per_token: int | None = None
    model: str | None = Field(default=None, max_length=100)  # the known model named
    prompt_tokens_per_second: float = 0.0  # prompt tokens read, besides those generated
    region: str | None = Field(default=None, max_length=20)  # None: the app's default
    context_tokens: int | None = None  # one request's prompt and output, when given


class AnswerLike(Protocol):
    """What is read of an answer here (`bot.conversation.Answer` has these fields)."""

    decision: str
    option: str
    text: str
    value: float | None


def inputs_from_answers(
    flow: Flow, kind: EstimateKind, answers: Sequence[AnswerLike]
) -> EstimateInputs:
    """What the answers already tell: exact quantities ("70B", "on 2T tokens", "500M
    tokens a day"), LoRA, a precision, a latency (a latency band counts as its upper
    bound). Amounts beyond any real job are left to be asked."""
    texts = " ".join(a.text for a in answers)
    sizes = read_sizes(texts)
    params = typed_params(flow, answers) or sizes.params
    inputs = EstimateInputs(kind=kind, params=_usable("params", params))
    _take_model(flow, inputs, texts)
    for answer in answers:
        question = flow.questions.get(answer.decision)
        if question is not None and question.unit == "ms":
            option = question.option(answer.option)
            inputs.latency_ms = answer.value or (option.max if option else None)
    if kind == "training":
        inputs.tokens = _usable("tokens", sizes.tokens)
    else:
        traffic = read_traffic(texts)
        if traffic is not None and _usable("traffic", traffic.tokens_per_second):
            _take_traffic(inputs, traffic)
    inputs.method = read_method(texts) or "full"
    inputs.precision = read_precision(texts) or "bf16"
    region = read_region(texts)
    if region is not None and region_problem(flow, kind, region) is None:
        inputs.region = region
    return inputs


def _take_model(flow: Flow, inputs: EstimateInputs, text: str) -> bool:
    """A mixture-of-experts size ("671B-A37B", "671B total, 37B active", "8x7B") or a
    model named in flows/models.toml ("DeepSeek-V3"): total and active parameters and,
    where sourced, its KV shape. False when the text names neither (a dense "70B" is
    read by `read_sizes`)."""
    size = read_model_size(text, flow.catalogue.models)
    if size is None or not (size.moe or size.named) or _usable("params", size.params) is None:
        return False
    inputs.params = size.params
    inputs.active_params = size.active_params
    inputs.model = size.named
    inputs.kv_values_per_token = size.shape.values_per_token if size.shape else None
    return True


def _take_traffic(inputs: EstimateInputs, traffic: Traffic) -> None:
    inputs.tokens_per_second = traffic.tokens_per_second
    inputs.prompt_tokens_per_second = traffic.prompt_tokens_per_second
    inputs.context_tokens = traffic.context_tokens
    inputs.traffic = traffic.described


def _usable(kind: AmountKind, value: float | None) -> float | None:
    return value if value is not None and out_of_range(kind, value) is None else None


def typed_params(flow: Flow, answers: Sequence[AnswerLike]) -> float | None:
    """The model size a person typed for a size question ("70B"), if any."""
    for answer in answers:
        question = flow.questions.get(answer.decision)
        if question is not None and question.unit == "params" and answer.value:
            return answer.value
    return None


def still_needed(inputs: EstimateInputs) -> EstimateField | None:
    """The next thing to ask for, or None when the estimate can be made. An amount no
    real job has (one stored before amounts were bounded) is asked again."""
    if _usable("params", inputs.params) is None:
        return "params"
    if inputs.kind == "training" and _usable("tokens", inputs.tokens) is None:
        return "tokens"
    if inputs.kind == "inference" and _usable("traffic", inputs.tokens_per_second) is None:
        return "traffic"
    return None


@dataclass(frozen=True)
class ReplyRead:
    """What a reply to a follow-up did: ``missing`` says why the field asked for is
    still unknown (None when the reply gave it); ``kept`` names what else it gave and
    was kept ("2T training tokens"), so a reply that answers the wrong question is
    routed to the right one, never lost and never taken for the one asked."""

    missing: str | None = None
    kept: tuple[str, ...] = ()


def take_reply(
    inputs: EstimateInputs, field: EstimateField, text: str, flow: Flow | None = None
) -> ReplyRead:
    """Read a reply to the follow-up about ``field`` into ``inputs``: everything it
    gives ("70B on 2T tokens" answers both), each amount by the words beside it. A
    number with a scale and no such word ("2T") answers the field asked. An amount no
    real job has refuses the whole reply, naming the range (``inputs`` unchanged)."""
    sizes = read_sizes(text)
    params = sizes.params
    tokens = sizes.tokens if inputs.kind == "training" else None  # serving: per request
    if field == "params" and params is None:
        params = sizes.unlabelled
    if field == "tokens" and tokens is None:
        tokens = sizes.unlabelled
    traffic = read_traffic(text) if inputs.kind == "inference" else None
    rate = traffic.tokens_per_second if traffic else None
    prompt = traffic.prompt_tokens_per_second if traffic else 0.0
    amounts: tuple[tuple[AmountKind, float | None], ...] = (
        ("params", params),
        ("tokens", tokens),
        ("traffic", rate),
        ("traffic", prompt or None),
    )
    for kind, value in amounts:
        far = out_of_range(kind, value)
        if far is not None:
            return ReplyRead(far.reason)
    region = read_region(text)
    if region is not None and flow is not None:
        problem = region_problem(flow, inputs.kind, region)
        if problem is not None:
            return ReplyRead(problem)
    kept: list[str] = []
    if region is not None and region != inputs.region:
        inputs.region = region
        kept.append(f"the Region, {region}")
    if flow is not None and _take_model(flow, inputs, text):
        params = inputs.params
        inputs.precision = read_precision(text) or inputs.precision
        if field != "params":
            kept.append(f"the model's size, {params_text(inputs.params or 0)}")
    elif params is not None:
        inputs.params = params
        inputs.active_params = inputs.kv_values_per_token = inputs.model = None
        inputs.precision = read_precision(text) or inputs.precision
        if field != "params":
            kept.append(f"a {params_text(params)}-parameter model")
    if tokens is not None and inputs.kind == "training":
        inputs.tokens = tokens
        if field != "tokens":
            kept.append(f"{short(tokens)} training tokens")
    if traffic is not None:
        _take_traffic(inputs, traffic)
        if field != "traffic":
            kept.append(traffic.described)
    inputs.method = read_method(text) or inputs.method
    given = {"params": params, "tokens": tokens, "traffic": traffic}[field]
    if given is None:
        return ReplyRead(_routed(field, kept) if kept else UNREAD[field], tuple(kept))
    return ReplyRead(None, tuple(kept))


ASK_AGAIN: dict[EstimateField, str] = {
    "params": "How large is the model itself? Give it like `70B` or `8 billion`.",
    "tokens": "How many tokens will it train on? Give it like `2T tokens`.",
    "traffic": "What traffic will it serve? Give it like `500M tokens a day`.",
}


def _routed(field: EstimateField, kept: list[str]) -> str:
    return f"I noted {' and '.join(kept)}. {ASK_AGAIN[field]}"


def prices_of(flow: Flow) -> PriceSource:
    """Where ``flow``'s estimates get prices: the app's live prices when attached, else
    the prices shipped in its catalogue."""
    if flow.prices is not None:
        return flow.prices
    key = (flow.name, flow.source_hash)
    if key not in _SNAPSHOTS:
        _SNAPSHOTS[key] = SnapshotPrices(flow.catalogue, DEFAULT_FLOWS_DIR)
    return _SNAPSHOTS[key]


_SNAPSHOTS: dict[tuple[str, str], SnapshotPrices] = {}


def region_problem(flow: Flow, kind: EstimateKind, region: str) -> str | None:
    """Why ``region`` cannot be priced for this kind of estimate (no offering of the
    kind has a price there), naming the nearest Regions that have one; else None."""
    priced = prices_of(flow).priced(region)
    names = [n for _, group in flow.estimate_groups(kind, None) for n in group]
    if not names or any(n not in priced.missing for n in names):
        return None
    nearest = sorted({r for n in names for r in priced.missing[n].nearest})
    where = f" Regions with prices: {', '.join(nearest)}." if nearest else ""
    return (
        f"None of these offerings has a price in {region} that I know of.{where} "
        "Name one of those, or ask your admin to refresh prices "
        "(`python -m bot prices refresh`)."
    )


def compute(
    flow: Flow, inputs: EstimateInputs, first_node: str | None, path: Iterable[str] = ()
) -> Estimate | None:
    """The estimate over every offering of its kind, ``first_node``'s first, priced in
    the Region asked for (or the default); None while something is still unknown.
    Offerings with no price there are left out and named, never priced at another
    Region's rate. ``path``: the node ids the answers led through, which say how the
    instances may be bought (checkpoints, a latency target) and which Bedrock features
    to name."""
    words = flow.words.estimate
    if words is None or inputs.params is None or still_needed(inputs) is not None:
        return None
    source = prices_of(flow)
    region = inputs.region or source.default_region
    priced = source.priced(region)
    considered = [instances for _, instances in flow.estimate_groups(inputs.kind, first_node)]
    groups = priced.keep(considered)
    if not groups:
        return None  # a Region with no price for any offering is refused when typed
    estimate = _sized(flow, inputs, words, priced.catalogue, groups)
    names = [n for group in considered for n in group]
    hours = words.hours_per_month.value
    buying = buying_for(source, region, inputs.kind, path)
    return with_prices(estimate, priced, names, source.api_prices(), hours, buying)


def _sized(
    flow: Flow,
    inputs: EstimateInputs,
    words: EstimateWords,
    catalogue: Catalogue,
    groups: list[tuple[str, ...]],
) -> Estimate:
    if inputs.kind == "training":
        assert inputs.tokens is not None  # still_needed said so
        job = TrainingJob(
            inputs.params, inputs.tokens, inputs.method, active_params=inputs.active_params
        )
        return estimate_training(catalogue, words, job, groups)
    assert inputs.tokens_per_second is not None
    serve = InferenceJob(
        inputs.params,
        inputs.tokens_per_second,
        inputs.precision,
        inputs.latency_ms,
        active_params=inputs.active_params,
        prompt_tokens_per_second=inputs.prompt_tokens_per_second,
        kv_values_per_token=inputs.kv_values_per_token,
        context_tokens=inputs.context_tokens,
    )
    return estimate_inference(catalogue, words, serve, groups)


def capacity_note(
    flow: Flow, instance_name: str, params: float | None, precision: Precision
) -> tuple[str, str] | None:
    """(text, source key) saying the largest model ``instance_name`` holds at each
    precision, and plainly whether the person's model does."""
    words = flow.words.estimate
    if words is None:
        return None
    instance = flow.catalogue.instances[instance_name]
    acc = flow.catalogue.accelerators[instance.accelerator]
    sizes = {p: largest_model(acc, instance.accelerators, p, words) for p in PRECISIONS}
    text = (
        f"{instance_name} holds a model of at most about "
        + ", ".join(f"{params_text(v)} at {p}" for p, v in sizes.items())
        + f" ({words.kv_cache_headroom.why})."
    )
    if params is not None and params > sizes[precision]:
        text = f"Your {params_text(params)} model does not fit at {precision}. " + text
    return text, acc.memory_gb.source
