"""The words a flowchart lacks (flows/<name>.toml), validated against the graph."""

from __future__ import annotations

import datetime as dt
import itertools
import tomllib
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from bot.flow.errors import FlowError, Problem
from bot.flow.graph import FlowGraph

Unit = Literal["params", "ms"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class OptionWords(_Strict):
    """Synonyms and, for numeric questions, the half-open range [min, max) an option covers."""

    synonyms: tuple[str, ...] = ()
    min: float | None = None
    max: float | None = None
    max_inclusive: bool = False

    @model_validator(mode="after")
    def _ordered(self) -> OptionWords:
        if self.min is not None and self.max is not None and self.min >= self.max:
            raise ValueError(f"min ({self.min:g}) must be below max ({self.max:g})")
        return self


class DecisionWords(_Strict):
    """How to ask a decision node as a question."""

    question: str = Field(min_length=1, max_length=300)
    help: str = Field(min_length=1, max_length=500)
    unit: Unit | None = None
    options: dict[str, OptionWords] = {}


class NodeDetails(_Strict):
    """The concrete offering behind a recommendation node (facts from aws-facts.md)."""

    heading: str = Field(min_length=1, max_length=40)
    offering: str = Field(min_length=1, max_length=300)
    facts: tuple[str, ...] = ()
    price: str = ""
    caveats: tuple[str, ...] = ()


class FlowInfo(_Strict):
    title: str = Field(min_length=1, max_length=150)
    prices_as_of: dt.date
    price_basis: str = ""


class FlowWords(_Strict):
    """The whole words file."""

    flow: FlowInfo
    decisions: dict[str, DecisionWords] = {}
    nodes: dict[str, NodeDetails] = {}


def load_words(text: str, path: str) -> FlowWords:
    """Parse and schema-check a words file; errors name the TOML key."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise FlowError([Problem(path, f"not valid TOML: {exc}")]) from exc
    try:
        return FlowWords.model_validate(data)
    except ValidationError as exc:
        problems = [
            Problem(path, f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}")
            for err in exc.errors()
        ]
        raise FlowError(problems) from exc


def check_words(words: FlowWords, graph: FlowGraph, path: str) -> None:
    """Cross-check words against the graph: every decision asked, nothing unknown,
    numeric ranges only with a unit and never overlapping."""
    problems: list[Problem] = []

    def problem(key: str, message: str) -> None:
        problems.append(Problem(path, f"{key}: {message}"))

    for node in graph.nodes.values():
        if node.is_decision and node.id not in words.decisions:
            problem(
                f"decisions.{node.id}",
                f"missing: decision {node.id} ({node.text!r}, "
                f"line {node.line} of {graph.path}) needs a question and help text",
            )
    for node_id, decision in words.decisions.items():
        key = f"decisions.{node_id}"
        node = graph.nodes.get(node_id)
        if node is None or not node.is_decision:
            what = "no such node" if node is None else "that node is not a decision"
            problem(key, f"unknown decision ({what} in {graph.path})")
            continue
        labels = {e.label for e in graph.outgoing(node_id) if e.label}
        for option in decision.options:
            if option not in labels:
                known = ", ".join(repr(label) for label in sorted(labels))
                problem(f"{key}.options.{option!r}", f"unknown option; the edges say {known}")
        ranged = {
            k: o for k, o in decision.options.items() if o.min is not None or o.max is not None
        }
        if ranged and decision.unit is None:
            problem(key, "options have min/max but the decision has no unit")
        if decision.unit is not None and not ranged:
            problem(key, f"unit {decision.unit!r} is set but no option has a min or max")
        _check_overlaps(key, ranged, problem)
    for node_id in words.nodes:
        node = graph.nodes.get(node_id)
        if node is None or node.is_decision:
            what = "no such node" if node is None else "that node is a decision"
            problem(f"nodes.{node_id}", f"unknown recommendation node ({what} in {graph.path})")
    if problems:
        raise FlowError(problems)


def _check_overlaps(key: str, ranged: dict[str, OptionWords], problem) -> None:
    def low(o: OptionWords) -> float:
        return float("-inf") if o.min is None else o.min

    ordered = sorted(ranged.items(), key=lambda item: low(item[1]))
    for (name_a, a), (name_b, b) in itertools.combinations(ordered, 2):
        top = float("inf") if a.max is None else a.max
        touches = top == low(b) and a.max_inclusive
        if top > low(b) or touches:
            problem(f"{key}.options", f"ranges of {name_a!r} and {name_b!r} overlap")
