"""Typed text -> one of the question's options, a command word, or a reprompt.

The question being asked is answered first, from everything the reply says: its
option words (unless the sentence says no to them: "not training", "cost is
secondary"), a quantity in the question's unit, "it doesn't matter", or, when nothing
names an option, words that suggest one ("a voice assistant" is inference), said back
to the person. `parse_follow_on` reads what the same reply says of the questions after
it, from strong evidence only. Pure functions over plain data; never raises.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

from bot.conversation.phrases import Found, about_the_app, find, relaxed, unsure
from bot.estimate.amounts import BOUNDS, SCALES, AmountKind, number, out_of_range
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


_PARAMS = _quantity_pattern(SCALES)
_PARAMS_PLAIN = re.compile(
    rf"(?<![\w.,])(?P<num>{_NUMBER})\s*(?:params|parameters)\b", re.IGNORECASE
)
_MS = _quantity_pattern(_MS_UNITS)
# Latencies said in words: "sub-second", "under a second", "half a second".
_MS_WORDS: tuple[tuple[re.Pattern[str], float, bool], ...] = tuple(
    (re.compile(rf"\b{p}\b"), value, below)
    for p, value, below in (
        (r"sub[- ]?seconds?|(?:under|below|less than|within) (?:a|one) second", 1000.0, True),
        (r"half a second", 500.0, False),
        (r"(?:a|one) second", 1000.0, False),
        (r"(?:a )?couple (?:of )?seconds", 2000.0, False),
        (r"(?:a )?few seconds", 3000.0, False),
    )
)
# What follows a size that counts something else: "2T tokens" is data, not a model.
_NOT_A_SIZE = re.compile(r"\s*(?:(?:training|of|data|text)\s+){0,3}tokens?\b")
_NEGATED = re.compile(r"\b(?:not|no|never|isn't|isnt|wasn't)(?:\s+\w+)?\s*$")
_BARE_NUMBER = re.compile(r"#?\s*(\d{1,3})\s*[.)]?")
_FIRST_CLAUSE = re.compile(r"[;!?(]|[.,](?=\s|$)|\s[-–—]\s")


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
    text = " ".join(text.replace("’", "'").split())
    return text.strip(" .!,;:'\"`*_~()[]")


def parse_command(text: str) -> CommandName | None:
    """`back`, `restart`, `cancel`, `help` (and a few synonyms) when they are the whole
    reply; a question about the app ("what can you do") is `help` too."""
    said = normalise(text).lstrip("/!")
    return COMMANDS.get(said) or ("help" if about_the_app(said) else None)


def parse_answer(question: Question, text: str) -> Parsed:
    """Read a typed reply to `question`."""
    said = normalise(text)
    if not said:
        return Unclear("That reply was empty.")
    command = parse_command(said)
    if command:
        return Command(command)
    first = _FIRST_CLAUSE.split(said, maxsplit=1)[0].strip()
    for step in (_by_index, _by_exact_word):
        result = step(question, said) or (step(question, first) if first != said else None)
        if result is not None:
            return result
    for step in (_by_quantity, _by_named, _by_relaxed, _by_unsure, _by_hint):
        result = step(question, said)
        if result is not None:
            return result
    for step in (_by_prefix, _by_typo):
        result = step(question, said) or (step(question, first) if first != said else None)
        if result is not None:
            return result
    if find(question.foreign, said, question.ignore):
        return Unclear("That seems to answer a different question; this one asks: " + question.text)
    return Unclear("I could not match that to one of the options.")


def parse_follow_on(question: Question, rest: str) -> Matched | None:
    """The option a reply that already answered an earlier question also gives for
    ``question``, read from ``rest``: the reply less what answered the earlier ones
    (see `unused_words`). Strong evidence only: a quantity in the question's unit, a
    phrase specific enough to name the option in context ("for millions of users",
    "on a budget"; never a bare "budget", "high" or "scratch"), or "latency doesn't
    matter" naming what it waives. Never a bare number, a prefix or a near-miss."""
    said = normalise(rest)
    if not said:
        return None
    quantity = _by_quantity(question, said)
    if quantity is not None:
        return quantity if isinstance(quantity, Matched) else None
    found = _positive(question, said, _follow_on)
    if len(found) == 1:
        return Matched(next(iter(found.values())))
    if not found and question.topic and relaxed(said):
        topic = re.compile(rf"\b(?:{'|'.join(map(re.escape, question.topic))})\b")
        if topic.search(said):
            return _by_relaxed(question, said)
    return None


def unused_words(question: Question, option: Option, text: str) -> str:
    """``text`` without what made it answer ``question`` with ``option``: the option's
    words, and a quantity in the question's unit. A reply that was nothing but the
    answer ("no", "70B", "2") is used up."""
    said = normalise(text)
    if said in _phrases(option) or _BARE_NUMBER.fullmatch(said):
        return ""
    for found in reversed(find(_phrases(option), said, _elsewhere(question))):
        said = f"{said[: found.start]} {said[found.end :]}"
    if question.unit is not None:
        said = (_PARAMS if question.unit == "params" else _MS).sub(" ", said, count=1)
    return " ".join(said.split())


@lru_cache(maxsize=1024)
def _phrases(option: Option) -> tuple[str, ...]:
    """The option's label, synonyms and follow-on phrases, normalised (cached: options
    are immutable)."""
    every = (option.label, *option.synonyms, *option.follow_on)
    return tuple(dict.fromkeys(p for p in (normalise(s) for s in every) if p))


@lru_cache(maxsize=1024)
def _follow_on(option: Option) -> tuple[str, ...]:
    """The phrases that name the option inside a reply to an earlier question."""
    return tuple(dict.fromkeys(p for p in map(normalise, option.follow_on) if p))


@lru_cache(maxsize=1024)
def _hints(option: Option) -> tuple[str, ...]:
    return tuple(dict.fromkeys(p for p in map(normalise, option.hints) if p))


@lru_cache(maxsize=64)
def _elsewhere(question: Question) -> tuple[str, ...]:
    """Phrases that answer another question, or none."""
    return (*question.foreign, *question.ignore)


def _by_index(question: Question, said: str) -> Parsed | None:
    match = _BARE_NUMBER.fullmatch(said)
    if not match:
        return None
    number_ = int(match.group(1))
    if 1 <= number_ <= len(question.options):
        return Matched(question.options[number_ - 1])
    if question.unit == "params":
        return Unclear(
            f"{number_} what? Give the size with a unit, such as {number_}B or "
            f"{number_} billion, or pick 1 to {len(question.options)}."
        )
    if question.unit == "ms":
        return Unclear(
            f"{number_} what? Give the latency with a unit, such as {number_} ms or "
            f"0.3 s, or pick 1 to {len(question.options)}."
        )
    return Unclear(f"There is no option {number_}; pick 1 to {len(question.options)}.")


def _by_exact_word(question: Question, said: str) -> Parsed | None:
    for option in question.options:
        if said in _phrases(option):
            return Matched(option)
    return None


def _positive(
    question: Question, said: str, phrases: Callable[[Option], tuple[str, ...]]
) -> dict[int, Option]:
    """The options that ``phrases(option)`` name in ``said`` and the sentence does not
    reject."""
    found: dict[int, Option] = {}
    for option in question.options:
        if any(not f.said_no for f in find(phrases(option), said, _elsewhere(question))):
            found[option.index] = option
    return found


def _rejected(question: Question, said: str) -> list[tuple[Option, Found]]:
    rejected = []
    for option in question.options:
        for f in find(_phrases(option), said, _elsewhere(question)):
            if f.said_no:
                rejected.append((option, f))
                break
    return rejected


def _by_named(question: Question, said: str) -> Parsed | None:
    found = _positive(question, said, _phrases)
    if len(found) == 1:
        return Matched(next(iter(found.values())))
    if len(found) > 1:
        names = " and ".join(f"*{o.label}*" for o in found.values())
        return Unclear(f"That reply mentions both {names}; which one is it?")
    rejected = _rejected(question, said)
    if len(question.options) == 2 and len({o.index for o, _ in rejected}) == 1:
        no, _ = rejected[0]
        other = next(o for o in question.options if o is not no)
        return Matched(other, f"You said no to *{no.label}*, so I took *{other.label}*.")
    return None


def _by_relaxed(question: Question, said: str) -> Matched | None:
    if question.relaxed is None or not relaxed(said):
        return None
    option = question.option(question.relaxed)
    return Matched(option, question.relaxed_note) if option else None


def _by_unsure(question: Question, said: str) -> Unclear | None:
    if not unsure(said):
        return None
    return Unclear(
        f"No problem. {question.help} Pick the closer one; you can change it later "
        "with *Back* or *Change an answer*."
    )


def _by_hint(question: Question, said: str) -> Matched | None:
    hinted: dict[int, tuple[Option, str]] = {}
    for option in question.options:
        yes = [f for f in find(_hints(option), said, _elsewhere(question)) if not f.said_no]
        if yes:
            hinted[option.index] = (option, yes[0].phrase)
    if len(hinted) != 1:
        return None
    option, word = next(iter(hinted.values()))
    return Matched(option, f"I took that as *{option.label}* (you mentioned “{word}”).")


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


@dataclass(frozen=True)
class _Quantity:
    value: float
    said: str  # as the note should say it: "2 s", "under 1 s"
    below: bool = False


def _by_quantity(question: Question, said: str) -> Parsed | None:
    if question.unit is None:
        return None
    read = _read_quantity(question.unit, said)
    if read is None or isinstance(read, Unclear):
        return read
    return _nearest(question, read)


def _read_quantity(unit: str, said: str) -> _Quantity | Unclear | None:
    """The first quantity in `said` in the question's unit (parameters or
    milliseconds); Unclear when the only one counts something else ("2T tokens") or
    is beyond any real workload."""
    kind: AmountKind = "params" if unit == "params" else "latency"
    pattern, units = (_PARAMS, SCALES) if unit == "params" else (_MS, _MS_UNITS)
    tokens_given = None
    for match in pattern.finditer(said):
        if _NEGATED.search(said, 0, match.start()):
            continue  # "not 70B, more like 700B"
        if unit == "params" and _NOT_A_SIZE.match(said, match.end()):
            tokens_given = number(match.group("num")) * units[match.group("unit").lower()]
            continue
        scale = units[match.group("unit").lower()]
        value = number(match.group("num")) * scale
        if (far := _too_large(kind, value)) is not None:
            return far
        shown = describe(value, unit)
        if match.group("below"):
            return _Quantity(value - 1e-6 * scale, f"under {shown}", below=True)
        if match.group("above"):
            return _Quantity(value + 1e-6 * scale, f"over {shown}")
        return _Quantity(value, shown)
    if unit == "params":
        plain = _PARAMS_PLAIN.search(said)
        if plain:
            value = number(plain.group("num"))
            if (far := _too_large(kind, value)) is not None:
                return far
            return _Quantity(value, describe(value, unit))
        if tokens_given is not None:
            return Unclear(
                f"{short(tokens_given)} tokens is how much data the model trains on, not its size. "
                "How large is the model itself? Give it like `70B`, or pick a range."
            )
        return None
    for words, value, below in _MS_WORDS:
        if words.search(said):
            shown = describe(value, unit)
            if below:
                return _Quantity(value - 1e-6, f"under {shown}", below=True)
            return _Quantity(value, shown)
    return None


def _too_large(kind: AmountKind, value: float) -> Unclear | None:
    """Values above every real workload (a 400-digit size) are refused; small ones go
    to the nearest branch, with a note."""
    far = out_of_range(kind, value)
    return Unclear(far.reason) if far is not None and value > BOUNDS[kind].low else None


def describe(value: float, unit: str) -> str:
    """A quantity as people write it: 70B, 1.5T, 300M params; 80 ms, 2 s."""
    if unit == "ms":
        if round(value, 3) >= 1000:
            return f"{round(value / 1000, 3):g} s"
        return f"{round(value, 3):g} ms"
    for suffix, scale in (("T", 1e12), ("B", 1e9), ("M", 1e6), ("K", 1e3)):
        if value >= scale:
            return f"{round(value / scale, 3):g}{suffix} params"
    return f"{value:g} params"


def _nearest(question: Question, read: _Quantity) -> Matched:
    value = read.value
    ranged = [o for o in question.options if o.min is not None or o.max is not None]
    for option in ranged:
        if option.covers(value):
            return Matched(option, value=value)
    option = min(ranged, key=lambda o: o.distance(value))
    side = "below" if option.min is not None and value < option.min else "above"
    if read.below and side == "above":
        note = (
            f"A target of {read.said} is looser than every band in the flowchart, so I "
            f"used the most relaxed one, *{option.label}*."
        )
        return Matched(option, note, value)
    extreme = "smallest" if side == "below" else "largest"
    return Matched(
        option,
        f"{read.said} is {side} the {extreme} range in the flowchart, "
        f"so I used the nearest branch, *{option.label}*.",
        value,
    )
