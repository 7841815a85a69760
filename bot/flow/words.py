"""The words a flowchart lacks (flows/<name>.toml), validated against the graph."""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from bot.flow.catalogue import EMPTY, Catalogue, SourceKey
from bot.flow.errors import FlowError, Problem
from bot.flow.graph import FlowGraph
from bot.flow.sourced import parse_toml

Unit = Literal["params", "ms"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class OptionWords(_Strict):
    """How typed text names an option, and, for numeric questions, the half-open range
    [min, max) it covers.

    ``synonyms`` answer the question being asked. ``follow_on`` phrases are specific
    enough to answer it from a sentence that answered an earlier question too ("for
    millions of users"); a bare "budget" or "high" is not. ``hints`` suggest the option
    only when nothing names one ("a voice assistant" is inference), and the reply says
    how it was read."""

    synonyms: tuple[str, ...] = ()
    follow_on: tuple[str, ...] = ()
    hints: tuple[str, ...] = ()
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
    # The option for "it doesn't matter" (the loosest band), said with `relaxed_note`;
    # `topic` names what is asked about, so that "latency doesn't matter" inside a
    # longer reply waives this question and "cost doesn't matter" does not.
    relaxed: str | None = None
    relaxed_note: str | None = Field(default=None, max_length=300)
    topic: tuple[str, ...] = ()


class Fact(_Strict):
    """A fact shown beside a recommendation, with the source (a catalogue key) that states it."""

    text: str = Field(min_length=1, max_length=300)
    source: SourceKey


class Claim(_Strict):
    """One line of the flowchart's own label, as sources see it: backed by ``source``,
    or shown with ``caveat`` on the same line (unsupported, or the source says otherwise)."""

    source: SourceKey | None = None
    caveat: str | None = Field(default=None, min_length=1, max_length=300)

    @model_validator(mode="after")
    def _backed_or_caveated(self) -> Claim:
        if self.source is None and self.caveat is None:
            raise ValueError("a claim needs a source or a caveat saying it has none")
        return self


EstimateKind = Literal["training", "inference"]


class NodeDetails(_Strict):
    """The concrete offering behind a recommendation node. ``instances`` and
    ``services`` name catalogue entries (the first instance is the one recommended);
    ``claims`` covers every line of the flowchart's label after its title."""

    heading: str = Field(min_length=1, max_length=40)
    offering: str = Field(min_length=1, max_length=300)
    facts: tuple[Fact, ...] = ()
    price: Fact | None = None
    instances: tuple[str, ...] = ()
    services: tuple[str, ...] = ()
    estimate: EstimateKind | None = None
    # Other catalogue rows that meet the same need, shown after this node's own in its
    # estimate's table (one row per catalogue family, its cheapest size that fits), so
    # the flowchart's pick is compared with what teams also run.
    compare: tuple[str, ...] = ()
    claims: dict[str, Claim] = {}
    show_capacity: bool = False  # say the largest model the offering holds


class PathNote(_Strict):
    """A note shown when the path passes ``at`` (and, if ``after`` is set, one of those)."""

    at: str
    after: tuple[str, ...] = ()
    text: str = Field(min_length=1, max_length=600)
    sources: tuple[SourceKey, ...] = Field(min_length=1)
    unless_single_instance: bool = False  # hidden once an estimate needs one instance only


class Assumption(_Strict):
    """A number the estimate assumes, shown to the person with why it was chosen."""

    value: float = Field(gt=0)
    why: str = Field(min_length=1, max_length=300)
    source: SourceKey | None = None


class FollowUp(_Strict):
    """A question an estimate may ask after the result."""

    question: str = Field(min_length=1, max_length=300)
    help: str = Field(min_length=1, max_length=300)


class EstimateQuestions(_Strict):
    params: FollowUp
    tokens: FollowUp
    traffic: FollowUp


class EstimateWords(_Strict):
    """What the estimator assumes for this flow (see bot/estimate.py for the formulas),
    and how it asks for what the flowchart did not."""

    ask: EstimateQuestions

    hours_per_month: Assumption
    training_days: Assumption
    bytes_per_param_full: Assumption
    activation_headroom: Assumption
    lora_trainable_fraction: Assumption
    lora_flops_per_param_token: Assumption
    usable_memory: Assumption
    kv_cache_headroom: Assumption
    decode_bandwidth_efficiency: Assumption
    compute_efficiency: Assumption
    max_batch: Assumption
    mfu: dict[str, Assumption] = Field(min_length=1)


class FlowInfo(_Strict):
    title: str = Field(min_length=1, max_length=150)
    prices_as_of: dt.date
    price_basis: str = ""


class Reading(_Strict):
    """Flow-wide reading rules: ``ignore`` holds phrases that answer nothing although
    they contain an option's word ("from scratch", "latency budget")."""

    ignore: tuple[str, ...] = ()


class FlowWords(_Strict):
    """The whole words file."""

    flow: FlowInfo
    reading: Reading = Reading()
    decisions: dict[str, DecisionWords] = {}
    nodes: dict[str, NodeDetails] = {}
    notes: tuple[PathNote, ...] = ()
    estimate: EstimateWords | None = None


def load_words(text: str, path: str) -> FlowWords:
    """Parse and schema-check a words file; errors name the TOML key."""
    return parse_toml(FlowWords, text, path)


def check_words(
    words: FlowWords, graph: FlowGraph, path: str, catalogue: Catalogue | None = None
) -> None:
    """Cross-check words against the graph: every decision asked, nothing unknown,
    numeric ranges only with a unit and never overlapping; and against the catalogue:
    every shown fact and claim sourced, every offering named there."""
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
        if decision.relaxed is not None and decision.relaxed not in labels:
            problem(f"{key}.relaxed", f"unknown option {decision.relaxed!r}")
        if (decision.relaxed is None) != (decision.relaxed_note is None):
            problem(key, "relaxed and relaxed_note go together")
    for node_id in words.nodes:
        node = graph.nodes.get(node_id)
        if node is None or node.is_decision:
            what = "no such node" if node is None else "that node is a decision"
            problem(f"nodes.{node_id}", f"unknown recommendation node ({what} in {graph.path})")
    _check_sources(words, graph, catalogue or EMPTY, problem)
    if problems:
        raise FlowError(problems)


def _check_sources(words: FlowWords, graph: FlowGraph, catalogue: Catalogue, problem) -> None:
    """Every fact, claim, note and assumption a person sees names a known source."""
    known = catalogue.sources

    def sourced(key: str, source: str | None) -> None:
        if source is not None and source not in known:
            problem(key, f"unknown source {source!r}; add it to the offerings catalogue")

    for node_id, details in words.nodes.items():
        key = f"nodes.{node_id}"
        for i, fact in enumerate(details.facts):
            sourced(f"{key}.facts[{i}]", fact.source)
        if details.price is not None:
            sourced(f"{key}.price", details.price.source)
        for field, names in (("instances", details.instances), ("compare", details.compare)):
            for name in names:
                if name not in catalogue.instances:
                    problem(f"{key}.{field}", f"unknown instance {name!r} (not in the catalogue)")
        if details.compare and details.estimate is None:
            problem(f"{key}.compare", "rows to compare need an estimate on this node")
        for name in details.services:
            if name not in catalogue.services:
                problem(f"{key}.services", f"unknown service {name!r} (not in the catalogue)")
        for line, claim in details.claims.items():
            sourced(f"{key}.claims.{line!r}", claim.source)
        node = graph.nodes.get(node_id)
        label = {line for line in node.lines[1:] if line} if node else set()
        for line in sorted(label - set(details.claims)):
            problem(
                f"{key}.claims",
                f"the flowchart says {line!r} here: give it a source or a caveat",
            )
        for line in sorted(set(details.claims) - label):
            problem(f"{key}.claims.{line!r}", "not a line of this node's label")
        if details.estimate is not None and words.estimate is None:
            problem(key, "estimate is set but the words file has no [estimate] section")
    for i, note in enumerate(words.notes):
        for node_id in (note.at, *note.after):
            if node_id not in graph.nodes:
                problem(f"notes[{i}]", f"unknown node {node_id!r}")
        for source in note.sources:
            sourced(f"notes[{i}].sources", source)
    if words.estimate is not None:
        for name, assumption in words.estimate:
            if isinstance(assumption, Assumption):
                sourced(f"estimate.{name}", assumption.source)
        for name, assumption in words.estimate.mfu.items():
            sourced(f"estimate.mfu.{name}", assumption.source)
        trained = {
            catalogue.instances[name].accelerator
            for details in words.nodes.values()
            if details.estimate == "training"
            for name in (*details.instances, *details.compare)
            if name in catalogue.instances
        }
        banded = {a for band in catalogue.calibration.bands for a in band.applies_to}
        for accelerator in sorted(trained - set(words.estimate.mfu) - banded):
            problem("estimate.mfu", f"no MFU for {accelerator!r}, which a training offering uses")


def _check_overlaps(key: str, ranged: dict[str, OptionWords], problem) -> None:
    def low(o: OptionWords) -> float:
        return float("-inf") if o.min is None else o.min

    ordered = sorted(ranged.items(), key=lambda item: low(item[1]))
    for (name_a, a), (name_b, b) in itertools.combinations(ordered, 2):
        top = float("inf") if a.max is None else a.max
        touches = top == low(b) and a.max_inclusive
        if top > low(b) or touches:
            problem(f"{key}.options", f"ranges of {name_a!r} and {name_b!r} overlap")
