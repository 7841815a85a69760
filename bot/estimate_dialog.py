"""What an estimate still needs after a result, and reading the replies that give it.

Pure: the flowchart's answers already tell some of it (a typed "70B" is kept as
7e10, "LoRA" or "int4" in a reply, a latency in ms); the rest is asked in at most
two follow-up questions. `Conversation` keeps an `EstimateInputs` in its record
and calls these functions.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal, Protocol

from pydantic import BaseModel, Field

from bot.answers import read_count, read_method, read_precision, read_traffic
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
from bot.flow.compiled import Flow
from bot.flow.words import EstimateKind
from bot.quantities import params_text

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


class AnswerLike(Protocol):
    """What is read of an answer here (`bot.conversation.Answer` has these fields)."""

    decision: str
    option: str
    text: str
    value: float | None


def inputs_from_answers(
    flow: Flow, kind: EstimateKind, answers: Sequence[AnswerLike]
) -> EstimateInputs:
    """What the answers already tell: exact quantities, LoRA, a precision, a latency
    (a latency band counts as its upper bound)."""
    inputs = EstimateInputs(kind=kind, params=typed_params(flow, answers))
    for answer in answers:
        question = flow.questions.get(answer.decision)
        if question is not None and question.unit == "ms":
            option = question.option(answer.option)
            inputs.latency_ms = answer.value or (option.max if option else None)
    texts = " ".join(a.text for a in answers)
    inputs.method = read_method(texts) or "full"
    inputs.precision = read_precision(texts) or "bf16"
    return inputs


def typed_params(flow: Flow, answers: Sequence[AnswerLike]) -> float | None:
    """The model size a person typed for a size question ("70B"), if any."""
    for answer in answers:
        question = flow.questions.get(answer.decision)
        if question is not None and question.unit == "params" and answer.value:
            return answer.value
    return None


def still_needed(inputs: EstimateInputs) -> EstimateField | None:
    """The next thing to ask for, or None when the estimate can be made."""
    if inputs.params is None:
        return "params"
    if inputs.kind == "training" and inputs.tokens is None:
        return "tokens"
    if inputs.kind == "inference" and inputs.tokens_per_second is None:
        return "traffic"
    return None


def take_reply(inputs: EstimateInputs, field: EstimateField, text: str) -> str | None:
    """Read a reply to the follow-up about ``field`` into ``inputs``; the reason to
    show when it gives nothing usable (then ``inputs`` is unchanged)."""
    if field == "traffic":
        traffic = read_traffic(text)
        if traffic is None:
            return UNREAD[field]
        inputs.tokens_per_second = traffic.tokens_per_second
        inputs.traffic = traffic.described
    else:
        value = read_count(text)
        if value is None:
            return UNREAD[field]
        if field == "params":
            inputs.params = value
            inputs.precision = read_precision(text) or inputs.precision
        else:
            inputs.tokens = value
    inputs.method = read_method(text) or inputs.method
    return None


def compute(flow: Flow, inputs: EstimateInputs, first_node: str | None) -> Estimate | None:
    """The estimate over every offering of its kind, ``first_node``'s first; None while
    something is still unknown."""
    words = flow.words.estimate
    if words is None or inputs.params is None or still_needed(inputs) is not None:
        return None
    groups = [instances for _, instances in flow.estimate_groups(inputs.kind, first_node)]
    if inputs.kind == "training":
        assert inputs.tokens is not None  # still_needed said so
        job = TrainingJob(inputs.params, inputs.tokens, inputs.method)
        return estimate_training(flow.catalogue, words, job, groups)
    assert inputs.tokens_per_second is not None
    serve = InferenceJob(
        inputs.params, inputs.tokens_per_second, inputs.precision, inputs.latency_ms
    )
    return estimate_inference(flow.catalogue, words, serve, groups)


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
