"""Amounts an estimate needs, read from what people type: a model size, training
tokens, a traffic rate, a precision, a fine-tuning method.

Pure and total: every function takes any text and never raises. A reply may give
several amounts at once ("70B on 2T tokens"); `read_sizes` tells which is which by
the words beside each number, never by the question that was asked. Amounts outside
what an estimate can mean are reported as such (`OutOfRange`), never stored: a
400-digit "size" is a typo, not infinity.
"""

from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass
from typing import Literal

from bot.estimate import Method, Precision
from bot.quantities import short

SCALES = {
    "k": 1e3,
    "thousand": 1e3,
    "m": 1e6,
    "mn": 1e6,
    "mil": 1e6,
    "million": 1e6,
    "millions": 1e6,
    "b": 1e9,
    "bn": 1e9,
    "billion": 1e9,
    "billions": 1e9,
    "t": 1e12,
    "tn": 1e12,
    "trillion": 1e12,
    "trillions": 1e12,
}

AmountKind = Literal["params", "tokens", "traffic", "latency"]


@dataclass(frozen=True)
class Bounds:
    """The amounts an estimate accepts, and how to say the range."""

    low: float
    high: float
    said: str

    def holds(self, value: float) -> bool:
        return math.isfinite(value) and self.low <= value <= self.high


# The widest ranges that still describe a real job: from a small model to 50 times
# the largest published dense model; from a short fine-tune to 25 times the largest
# published pre-training set; from a trickle to a large public API's traffic.
BOUNDS: dict[AmountKind, Bounds] = {
    "params": Bounds(1e6, 1e14, "a model size between 1M and 100T parameters"),
    "tokens": Bounds(1e6, 1e15, "between 1M and 1,000T training tokens"),
    "traffic": Bounds(1e-3, 1e9, "between 0.001 and 1B tokens per second"),
    "latency": Bounds(0.01, 3.6e6, "a latency between 0.01 ms and 1 hour"),
}


def number(text: str) -> float:
    """`1,000` is a thousand; `1,5` is one and a half (a decimal comma). May be inf
    for absurdly long digit strings; callers check bounds."""
    if re.fullmatch(r"\d{1,3}(?:,\d{3})+(?:\.\d+)?", text):
        return float(text.replace(",", ""))
    return float(text.replace(",", "."))


_PER = r"\s*(?:a|an|per|each|every|/)\s*"
_SPANS = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86_400.0, "w": 604_800.0, "mo": 2_628_000.0}
_SPAN_NAMES = {
    1.0: "second",
    60.0: "minute",
    3600.0: "hour",
    86_400.0: "day",
    604_800.0: "week",
    2_628_000.0: "month (730 h)",
}
_SPAN_WORDS = r"sec(?:ond)?s?|s|min(?:ute)?s?|hours?|hrs?|h|days?|d|weeks?|months?"
_SPAN = rf"(?P<span>{_SPAN_WORDS})\b"
# A number is read whole or not at all: "1,000,000", "2.5", "1,5" (a decimal comma),
# "5e12"; never the "7" of "70G", the "10" of "10^12", the "1.2" of "1.2.3" or the
# "1" of "1_000".
_AMOUNT = (
    r"(?<![\w.,^-])(?P<num>\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:[.,]\d+)?)"
    r"(?P<exp>e[+-]?\d{1,3})?(?![.,]?\d)(?![_\d])(?! \d{3}(?!\d))(?!\s*\^)[\s-]*(?P<unit>"
    + "|".join(sorted(SCALES, key=len, reverse=True))
    + r")?(?![a-z\d_])"
)
_COUNT = re.compile(_AMOUNT, re.IGNORECASE)
_TOKENS_RATE = re.compile(
    rf"{_AMOUNT}\s*tokens?(?:{_PER}{_SPAN}|\s+(?P<daily>daily))", re.IGNORECASE
)
_REQUESTS_RATE = re.compile(
    rf"{_AMOUNT}\s*(?:(?:requests?|reqs?|queries|query|calls?|prompts?){_PER}{_SPAN}"
    r"|(?P<rps>rps|qps)\b|(?P<rpm>rpm|qpm)\b)",
    re.IGNORECASE,
)
_TOKENS_EACH = re.compile(
    rf"{_AMOUNT}\s*tokens?(?!{_PER}(?:{_SPAN_WORDS})\b)",
    re.IGNORECASE,
)
# Tokens per request split into prompt and generated: "2,000 tokens in, 300 out",
# "2000 input and 300 output tokens", "2k prompt tokens, 300 generated".
_N = r"\d{1,3}(?:,\d{3})+|\d+(?:\.\d+)?"
_U = r"k|thousand"
_IN = r"(?:in|input|prompt|context)"
_OUT = r"(?:out|output|generated|completion|new)"
_PROMPT_AND_OUTPUT = re.compile(
    rf"(?P<prompt_num>{_N})\s*(?P<prompt_unit>{_U})?\s*(?:tokens?\s+)?{_IN}(?:\s+tokens?)?"
    rf"[\s,;/&+]*(?:and\s+|with\s+)?(?P<output_num>{_N})\s*(?P<output_unit>{_U})?\s*"
    rf"(?:tokens?\s+)?{_OUT}\b"
)
# What follows a number says what it counts.
_TOKENS_AFTER = re.compile(r"\s*(?:(?:training|of|data|text)\s+){0,3}tokens?\b")
_RATE_AFTER = re.compile(rf"\s*tokens?(?:{_PER}(?:{_SPAN_WORDS})\b|\s+(?:each|daily)\b)")
_PARAMS_AFTER = re.compile(r"\s*(?:-\s*)?(?:params?|parameters?|(?:[\w.-]+\s+)?models?)\b")
_DATA_BEFORE = re.compile(r"\b(?:on|over|with|using)\s+(?:about|around|roughly|~)?\s*$")
_PRECISIONS: dict[str, Precision] = {
    "bf16": "bf16",
    "fp16": "bf16",
    "16-bit": "bf16",
    "16 bit": "bf16",
    "fp8": "fp8",
    "int8": "int8",
    "8-bit": "int8",
    "8 bit": "int8",
    "8bit": "int8",
    "int4": "int4",
    "4-bit": "int4",
    "4 bit": "int4",
    "4 bits": "int4",
    "4bit": "int4",
    "nf4": "int4",
    "q4": "int4",
    "awq": "int4",
    "gptq": "int4",
}


@dataclass(frozen=True)
class Traffic:
    """Requested inference traffic as an average rate, and how the person put it;
    ``prompt_tokens_per_second`` when the person split prompt from generated tokens
    ("2,000 tokens in, 300 out"), else every token counts as generated."""

    tokens_per_second: float
    described: str
    prompt_tokens_per_second: float = 0.0
    context_tokens: int | None = None  # one request's prompt and output, when split


@dataclass(frozen=True)
class OutOfRange:
    """An amount was typed that no estimate can mean; ``reason`` names the range."""

    kind: AmountKind
    reason: str


@dataclass(frozen=True)
class Sizes:
    """The model size and training tokens a reply gives, each None when not given;
    ``unlabelled``: a number with a scale ("2T") that says nothing of what it counts."""

    params: float | None = None
    tokens: float | None = None
    unlabelled: float | None = None


def _fold(text: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", text[:4000]).casefold().split())


def read_count(text: str) -> float | None:
    """A count as people write it: 70B, 2T, 500M, 1.5 trillion, 2e12, 40. None when the
    text holds no such number (or only zero); may be inf for absurd digit strings."""
    match = _COUNT.search(_fold(text))
    return _amount(match) if match else None


def read_sizes(text: str) -> Sizes:
    """Which numbers in ``text`` are a model size and which are training tokens:
    "70B on 2T tokens", "a 7B model", "2 trillion tokens", "405B params". A number
    followed by "tokens" counts tokens (a rate such as "tokens a day" is traffic, not
    a size); one followed by "params" or "model", or written with a scale and no
    other word, is a size; "on 2T" counts the data a model trains on."""
    said = _fold(text)
    params = tokens = unlabelled = None
    for match in _COUNT.finditer(said):
        value = _amount(match)
        if value is None:
            continue
        after = said[match.end() :]
        if _RATE_AFTER.match(after):
            continue
        if _TOKENS_AFTER.match(after):
            tokens = tokens if tokens is not None else value
        elif _PARAMS_AFTER.match(after):
            params = params if params is not None else value
        elif match.group("unit") or value >= 1e6:
            if _DATA_BEFORE.search(said[: match.start()]) and tokens is None:
                tokens = value
            elif unlabelled is None:
                unlabelled = value
    return Sizes(params, tokens, unlabelled)


def out_of_range(kind: AmountKind, value: float | None) -> OutOfRange | None:
    """Why ``value`` cannot be a ``kind`` amount, or None when it can (or is absent)."""
    bounds = BOUNDS[kind]
    if value is None or bounds.holds(value):
        return None
    return OutOfRange(kind, f"That is beyond what I can plan for: give {bounds.said}.")


def read_traffic(text: str) -> Traffic | None:
    """Traffic as a rate: "500M tokens a day", "2,000 tokens/s", or requests with their
    size: "40 requests/s, 800 tokens each", "40 rps 800 tokens". None when the text
    gives no complete rate; never raises."""
    said = _fold(text)[:300]
    requests = _REQUESTS_RATE.search(said)
    split = _PROMPT_AND_OUTPUT.search(said)
    if requests is not None and split is not None:
        rps = _per_second(requests)
        prompt, output = _amount_of(split, "prompt"), _amount_of(split, "output")
        if not (rps and prompt and output):
            return None
        described = f"{rps:,.4g} requests/s × {prompt:,.0f} prompt + {output:,.0f} generated tokens"
        context = int(prompt + output) if math.isfinite(prompt + output) else None
        return Traffic(rps * output, described, rps * prompt, context)
    if requests is not None:
        size = _TOKENS_EACH.search(said)
        tokens = _amount(size) if size else None
        rps = _per_second(requests)
        if not (rps and tokens):
            return None
        return Traffic(rps * tokens, f"{rps:,.4g} requests/s × {tokens:,.0f} tokens")
    rate = _TOKENS_RATE.search(said)
    amount = _amount(rate) if rate else None
    if rate is None or not amount:
        return None
    span = _SPANS["d"] if rate.group("daily") else _span(rate.group("span"))
    return Traffic(amount / span, f"{short(amount)} tokens per {_SPAN_NAMES[span]}")


def _per_second(requests: re.Match[str]) -> float | None:
    rps = _amount(requests)
    if rps is None or requests.group("rpm"):
        return rps / 60.0 if rps else None
    return rps if requests.group("rps") else rps / _span(requests.group("span"))


def _amount_of(match: re.Match[str], name: str) -> float | None:
    """The amount in the named groups ``name``_num / ``name``_unit of a split pattern."""
    return _scaled(match.group(f"{name}_num"), match.group(f"{name}_unit"))


def _amount(match: re.Match[str]) -> float | None:
    return _scaled(match.group("num"), match.group("unit"), match.group("exp"))


def _scaled(num: str, unit: str | None, exponent: str | None = None) -> float | None:
    """``num`` times its exponent ("e12") and scale ("B"); inf when too large to read,
    None for zero."""
    try:
        value = number(num) * (10.0 ** int(exponent[1:]) if exponent else 1.0)
    except (ValueError, OverflowError):
        return math.inf
    value *= SCALES.get((unit or "").lower(), 1.0)
    return value if value > 0 else None


def _span(word: str) -> float:
    word = word.lower()
    if word.startswith("mo"):
        return _SPANS["mo"]
    if word.startswith("mi"):
        return _SPANS["m"]
    return _SPANS.get(word[0], 1.0)


def read_precision(text: str) -> Precision | None:
    """bf16 / fp8 / int8 / int4 when the text names one ("4-bit", "AWQ", "int4-awq"
    are int4)."""
    said = _fold(text)
    for word, precision in _PRECISIONS.items():
        if re.search(rf"(?<![\w-]){re.escape(word)}(?!\w)", said):
            return precision
    return None


def read_method(text: str) -> Method | None:
    """lora or qlora when the text names one; None means full training."""
    said = _fold(text)
    if re.search(r"\bq-?lora\b", said):
        return "qlora"
    if re.search(r"\blora\b", said):
        return "lora"
    return None
