"""Typed text -> one of the question's options, a command word, or a reprompt.

Pure functions over plain data; never raises on any input text.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

from bot.estimate import Method, Precision
from bot.flow.compiled import Option, Question
from bot.quantities import short

CommandName = Literal["back", "restart", "cancel", "help", "estimate"]
COMMANDS: dict[str, CommandName] = {
    "back": "back",
    "undo": "back",
    "go back": "back",
    "previous": "back",
    "restart": "restart",
    "start over": "restart",
    "reset": "restart",
    "cancel": "cancel",
    "stop": "cancel",
    "quit": "cancel",
    "exit": "cancel",
    "help": "help",
    "?": "help",
    "options": "help",
    "estimate": "estimate",
    "estimate cost": "estimate",
    "estimate the cost": "estimate",
}
MAX_TEXT = 4000  # longer text is read only this far
FUZZY_MAX = 40  # typo matching only for short replies

_PARAM_UNITS = {
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
_MS_UNITS = {
    "ms": 1.0,
    "msec": 1.0,
    "msecs": 1.0,
    "millisecond": 1.0,
    "milliseconds": 1.0,
    "s": 1000.0,
    "sec": 1000.0,
    "secs": 1000.0,
    "second": 1000.0,
    "seconds": 1000.0,
}
_NUMBER = r"(\d+(?:[.,]\d+)?)"
_BELOW = r"(?:under|below|less than|lower than|fewer than|sub|within|at most|up to|<=?|≤)"
_ABOVE = r"(?:over|above|more than|greater than|higher than|exceeding|>=?|≥)"


def _quantity_pattern(units: dict[str, float]) -> re.Pattern[str]:
    names = "|".join(sorted((re.escape(u) for u in units), key=len, reverse=True))
    return re.compile(
        rf"(?:(?P<below>{_BELOW})|(?P<above>{_ABOVE}))?\s*-?\s*"
        rf"(?<![\w.,])(?P<num>{_NUMBER})(?:\s*(?:-|–|to)\s*{_NUMBER})?\s*(?P<unit>{names})(?!\w)\+?",
        re.IGNORECASE,
    )


_PARAMS = _quantity_pattern(_PARAM_UNITS)
_PARAMS_PLAIN = re.compile(
    rf"(?<![\w.,])(?P<num>{_NUMBER})\s*(?:params|parameters)\b", re.IGNORECASE
)
_MS = _quantity_pattern(_MS_UNITS)
_BARE_NUMBER = re.compile(r"#?\s*(\d{1,3})\s*[.)]?")


@dataclass(frozen=True)
class Matched:
    """The text chose `option`; `note` tells the person how it was read when not obvious."""

    option: Option
    note: str | None = None
    value: float | None = None  # the exact quantity typed ("70B" -> 7e10), if any


@dataclass(frozen=True)
class Command:
    name: CommandName


@dataclass(frozen=True)
class Unclear:
    """No single option fits; `reason` says why in words safe to show (no user text)."""

    reason: str


Parsed = Matched | Command | Unclear


def normalise(text: str) -> str:
    """Case-folded, NFKC, single-spaced, trimmed of surrounding punctuation."""
    text = unicodedata.normalize("NFKC", text[:MAX_TEXT]).casefold()
    text = "".join(ch if ch.isprintable() else " " for ch in text)
    text = " ".join(text.split())
    return text.strip(" .!,;:'\"`*_~()[]")


def parse_command(text: str) -> CommandName | None:
    """`back`, `restart`, `cancel`, `help` (and a few synonyms) when they are the whole reply."""
    return COMMANDS.get(normalise(text).lstrip("/!"))


def parse_answer(question: Question, text: str) -> Parsed:
    """Read a typed reply to `question`."""
    said = normalise(text)
    if not said:
        return Unclear("That reply was empty.")
    command = COMMANDS.get(said.lstrip("/!"))
    if command:
        return Command(command)
    for step in (_by_index, _by_exact_word, _by_quantity, _by_contained_word, _by_prefix, _by_typo):
        result = step(question, said)
        if result is not None:
            return result
    return Unclear("I could not match that to one of the options.")


def parse_follow_on(question: Question, rest: str) -> Matched | None:
    """The option a reply that already answered an earlier question also gives for
    ``question``, read from ``rest``: the reply less what answered the earlier ones
    (see `unused_words`). Strong evidence only: a quantity in the question's unit, or
    words naming exactly one option ("we pre-train a 70B model" gives the model size
    too); never a bare number, a prefix or a near-miss."""
    said = normalise(rest)
    for step in (_by_quantity, _by_contained_word):
        result = step(question, said)
        if result is not None:
            return result if isinstance(result, Matched) else None
    return None


def unused_words(question: Question, option: Option, text: str) -> str:
    """``text`` without what made it answer ``question`` with ``option``: the option's
    words, and a quantity in the question's unit. A reply that was nothing but the
    answer ("no", "70B", "2") is used up."""
    said = normalise(text)
    if said in _phrases(option) or _BARE_NUMBER.fullmatch(said):
        return ""
    said = _phrase_pattern(option).sub(" ", said)
    if question.unit is not None:
        said = (_PARAMS if question.unit == "params" else _MS).sub(" ", said, count=1)
    return " ".join(said.split())


@lru_cache(maxsize=1024)
def _phrases(option: Option) -> tuple[str, ...]:
    """The option's label and synonyms, normalised (cached: options are immutable)."""
    return tuple(
        dict.fromkeys(
            p for p in (normalise(option.label), *(normalise(s) for s in option.synonyms)) if p
        )
    )


@lru_cache(maxsize=1024)
def _phrase_pattern(option: Option) -> re.Pattern[str]:
    """One regex finding any of the option's phrases as whole words."""
    alternatives = "|".join(re.escape(p) for p in sorted(_phrases(option), key=len, reverse=True))
    return re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)")


def _by_index(question: Question, said: str) -> Parsed | None:
    match = _BARE_NUMBER.fullmatch(said)
    if not match:
        return None
    number = int(match.group(1))
    if 1 <= number <= len(question.options):
        return Matched(question.options[number - 1])
    if question.unit == "params":
        return Unclear(
            f"{number} what? Give the size with a unit, such as {number}B or "
            f"{number} billion, or pick 1 to {len(question.options)}."
        )
    if question.unit == "ms":
        return Unclear(
            f"{number} what? Give the latency with a unit, such as {number} ms or "
            f"0.3 s, or pick 1 to {len(question.options)}."
        )
    return Unclear(f"There is no option {number}; pick 1 to {len(question.options)}.")


def _by_exact_word(question: Question, said: str) -> Parsed | None:
    for option in question.options:
        if said in _phrases(option):
            return Matched(option)
    return None


def _by_contained_word(question: Question, said: str) -> Parsed | None:
    found = {o.index: o for o in question.options if _phrase_pattern(o).search(said)}
    if len(found) == 1:
        return Matched(next(iter(found.values())))
    if len(found) > 1:
        names = " and ".join(f"*{o.label}*" for o in found.values())
        return Unclear(f"That reply mentions both {names}; which one is it?")
    return None


def _by_prefix(question: Question, said: str) -> Parsed | None:
    found = {o.index: o for o in question.options if any(p.startswith(said) for p in _phrases(o))}
    if len(found) == 1:
        return Matched(next(iter(found.values())))
    return None


def _by_typo(question: Question, said: str) -> Parsed | None:
    if len(said) > FUZZY_MAX or len(said) < 4:
        return None
    owners = {p: o for o in question.options for p in _phrases(o) if len(p) >= 4}
    close = difflib.get_close_matches(said, list(owners), n=3, cutoff=0.8)
    chosen = {owners[p].index: owners[p] for p in close}
    if len(chosen) == 1:
        option = owners[close[0]]
        return Matched(option, f"I read that as *{option.label}*.")
    return None


def _by_quantity(question: Question, said: str) -> Parsed | None:
    if question.unit is None:
        return None
    value = _read_quantity(question.unit, said)
    if value is None:
        return None
    return _nearest(question, value)


def _read_quantity(unit: str, said: str) -> float | None:
    """The first quantity in `said` in the question's unit (parameters or milliseconds)."""
    pattern, units = (_PARAMS, _PARAM_UNITS) if unit == "params" else (_MS, _MS_UNITS)
    match = pattern.search(said)
    if match:
        scale = units[match.group("unit").lower()]
        value = _number(match.group("num")) * scale
        if match.group("below"):
            return value - 1e-6 * scale
        if match.group("above"):
            return value + 1e-6 * scale
        return value
    if unit == "params":
        plain = _PARAMS_PLAIN.search(said)
        if plain:
            return _number(plain.group("num"))
    return None


def _number(text: str) -> float:
    """`1,000` is a thousand; `1,5` is one and a half (a decimal comma)."""
    if re.fullmatch(r"\d{1,3}(?:,\d{3})+(?:\.\d+)?", text):
        return float(text.replace(",", ""))
    return float(text.replace(",", "."))


def describe(value: float, unit: str) -> str:
    """A quantity as people write it: 70B, 1.5T, 300M params; 80 ms, 2 s."""
    if unit == "ms":
        if value >= 1000:
            return f"{value / 1000:g} s"
        return f"{round(value, 3):g} ms"
    for suffix, scale in (("T", 1e12), ("B", 1e9), ("M", 1e6), ("K", 1e3)):
        if value >= scale:
            return f"{round(value / scale, 3):g}{suffix} params"
    return f"{value:g} params"


def _nearest(question: Question, value: float) -> Matched:
    ranged = [o for o in question.options if o.min is not None or o.max is not None]
    for option in ranged:
        if option.covers(value):
            return Matched(option, value=value)
    option = min(ranged, key=lambda o: o.distance(value))
    side = "below" if option.min is not None and value < option.min else "above"
    extreme = "smallest" if side == "below" else "largest"
    return Matched(
        option,
        f"{describe(value, question.unit or '')} is {side} the {extreme} range in the flowchart, "
        f"so I used the nearest branch, *{option.label}*.",
        value,
    )


# -- quantities for an estimate --------------------------------------------------------------

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
_SPAN = r"(?P<span>sec(?:ond)?s?|s|min(?:ute)?s?|hours?|hrs?|h|days?|d|weeks?|months?)\b"
# A number is read whole or not at all: "1,000,000", "2.5", "1,5" (a decimal comma),
# "5e12"; never the "7" of "70G", the "10" of "10^12" or the "1.2" of "1.2.3".
_AMOUNT = (
    r"(?<![\w.,^-])(?P<num>\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:[.,]\d+)?)"
    r"(?P<exp>e[+-]?\d{1,2})?(?![.,]?\d)(?! \d{3}(?!\d))(?!\s*\^)[\s-]*(?P<unit>"
    + "|".join(sorted(_PARAM_UNITS, key=len, reverse=True))
    + r")?(?![a-z\d])"
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
    rf"{_AMOUNT}\s*tokens?(?!{_PER}(?:sec(?:ond)?s?|s|min(?:ute)?s?|hours?|hrs?|h|days?|d|weeks?|months?)\b)",
    re.IGNORECASE,
)
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
    """Requested inference traffic as an average rate, and how the person put it."""

    tokens_per_second: float
    described: str


def read_count(text: str) -> float | None:
    """A count as people write it: 70B, 2T, 500M, 1.5 trillion, 2e12, 40. None when the
    text holds no such number (or only zero); never raises."""
    match = _COUNT.search(normalise(text))
    return _amount(match) if match else None


def _scaled(number: str, unit: str | None, exponent: str | None = None) -> float | None:
    try:
        value = _number(number) * (10.0 ** int(exponent[1:]) if exponent else 1.0)
    except ValueError:
        return None
    scale = _PARAM_UNITS.get((unit or "").lower(), 1.0)
    return value * scale


def read_traffic(text: str) -> Traffic | None:
    """Traffic as a rate: "500M tokens a day", "2,000 tokens/s", or requests with their
    size: "40 requests/s, 800 tokens each", "40 rps 800 tokens". None when the text
    gives no complete rate; never raises."""
    said = normalise(text)[:300]
    requests = _REQUESTS_RATE.search(said)
    if requests is not None:
        size = _TOKENS_EACH.search(said)
        rps = _amount(requests)
        tokens = _amount(size) if size else None
        if not (rps and tokens):
            return None
        if requests.group("rpm"):
            rps /= 60.0
        elif not requests.group("rps"):
            rps /= _span(requests.group("span"))
        return Traffic(rps * tokens, f"{rps:,.4g} requests/s × {tokens:,.0f} tokens")
    rate = _TOKENS_RATE.search(said)
    amount = _amount(rate) if rate else None
    if rate is None or not amount:
        return None
    span = _SPANS["d"] if rate.group("daily") else _span(rate.group("span"))
    return Traffic(amount / span, f"{short(amount)} tokens per {_SPAN_NAMES[span]}")


def _amount(match: re.Match[str]) -> float | None:
    value = _scaled(match.group("num"), match.group("unit"), match.group("exp"))
    return value if value and value > 0 else None


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
    said = normalise(text)
    for word, precision in _PRECISIONS.items():
        if re.search(rf"(?<![\w-]){re.escape(word)}(?!\w)", said):
            return precision
    return None


def read_method(text: str) -> Method | None:
    """lora or qlora when the text names one; None means full training."""
    said = normalise(text)
    if re.search(r"\bq-?lora\b", said):
        return "qlora"
    if re.search(r"\blora\b", said):
        return "lora"
    return None
