"""A validated flow ready to drive conversations: questions, options, details and one Machine."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from transitions import Machine

from bot.flow.catalogue import EMPTY, Catalogue
from bot.flow.graph import Edge, FlowGraph, Node
from bot.flow.words import EstimateKind, FlowWords, NodeDetails, Unit

ANSWER = "answer"
ADVANCE = "advance"


@dataclass(frozen=True)
class Option:
    """One answer to a question: an outgoing edge of a decision."""

    index: int  # 1-based, as shown to people
    label: str  # the edge label, as the flowchart states it
    target: str
    synonyms: tuple[str, ...] = ()
    follow_on: tuple[str, ...] = ()  # see OptionWords
    hints: tuple[str, ...] = ()
    min: float | None = None
    max: float | None = None
    max_inclusive: bool = False

    def covers(self, value: float) -> bool:
        above = self.min is None or value >= self.min
        if self.max is None:
            return above
        return above and (value <= self.max if self.max_inclusive else value < self.max)

    def distance(self, value: float) -> float:
        if self.covers(value):
            return 0.0
        if self.min is not None and value < self.min:
            return self.min - value
        return value - (self.max if self.max is not None else value)


@dataclass(frozen=True)
class Question:
    """A decision node as it is asked."""

    node_id: str
    title: str  # the flowchart's own label, e.g. "Model Size?"
    text: str
    help: str
    options: tuple[Option, ...]
    unit: Unit | None = None
    # Phrases that belong elsewhere: other questions' options (`foreign`) and the
    # flow's `ignore` list. An option's word inside one ("no" in "no cache", "scratch"
    # in "from scratch") is no answer here.
    foreign: tuple[str, ...] = field(default=(), repr=False)
    ignore: tuple[str, ...] = field(default=(), repr=False)
    relaxed: str | None = None  # the option for "it doesn't matter", said with the note
    relaxed_note: str | None = None
    topic: tuple[str, ...] = ()  # what the question asks about ("latency")

    def option(self, label_or_index: str | int) -> Option | None:
        for option in self.options:
            if option.index == label_or_index or option.label == label_or_index:
                return option
        return None


class _Chose:
    """Transition condition: the event's `option` keyword names this edge's label."""

    __slots__ = ("label",)

    def __init__(self, label: str):
        self.label = label

    def __call__(self, *args: object, option: str | None = None, **kwargs: object) -> bool:
        return option == self.label


@dataclass(frozen=True)
class Flow:
    """A flow compiled once at start-up; shared by every conversation that runs on it."""

    name: str
    graph: FlowGraph
    words: FlowWords
    start: str
    source_hash: str
    questions: dict[str, Question] = field(repr=False)
    catalogue: Catalogue = field(default=EMPTY, repr=False)
    # Where estimates get their prices (bot.pricing.source.PriceSource); None: the
    # prices shipped in the catalogue. The running app attaches its live prices.
    prices: Any = field(default=None, repr=False, compare=False)

    @property
    def title(self) -> str:
        return self.words.flow.title

    @cached_property
    def machine(self) -> Machine:
        """The one transitions Machine for this flow (`model=None`, no auto transitions)."""
        return build_machine(self.graph, self.start)

    def node(self, node_id: str) -> Node:
        return self.graph.nodes[node_id]

    def details(self, node_id: str) -> NodeDetails | None:
        return self.words.nodes.get(node_id)

    def is_final(self, node_id: str) -> bool:
        return not self.graph.outgoing(node_id)

    def next_of(self, node_id: str) -> Edge | None:
        """The single edge a non-decision node follows by itself, if any."""
        node = self.graph.nodes[node_id]
        edges = self.graph.outgoing(node_id)
        return edges[0] if edges and not node.is_decision else None

    def estimate_groups(
        self, kind: EstimateKind, first: str | None = None
    ) -> list[tuple[str, tuple[str, ...]]]:
        """(node, catalogue instances) for every node offering ``kind`` of estimate, in
        the words file's order with ``first`` (the recommended node) leading, then the
        rows the words file compares with it (``compare``; every node's without
        ``first``), one group per catalogue family not already shown."""
        nodes = [
            (node_id, details)
            for node_id, details in self.words.nodes.items()
            if details.estimate == kind and details.instances and node_id in self.graph.nodes
        ]
        nodes.sort(key=lambda item: item[0] != first)
        groups = [(node_id, details.instances) for node_id, details in nodes]
        shown = {name for _, names in groups for name in names}
        compared = [d for n, d in nodes if first is None or n == first]
        families: dict[str, list[str]] = {}
        for name in (name for details in compared for name in details.compare):
            if name not in shown and name in self.catalogue.instances:
                families.setdefault(self.catalogue.instances[name].family, []).append(name)
                shown.add(name)
        at = 1 if first is not None and groups and groups[0][0] == first else len(groups)
        extra = [(f"compare:{family}", tuple(names)) for family, names in families.items()]
        return [*groups[:at], *extra, *groups[at:]]

    def paths(self) -> list[tuple[str | Edge, ...]]:
        return self.graph.paths(self.start)

    def questions_ahead(self, node_id: str) -> tuple[int, int]:
        """The fewest and the most questions still to ask on the paths from ``node_id``
        (itself included, if it is a question)."""
        return self._questions_ahead[node_id]

    @cached_property
    def _questions_ahead(self) -> dict[str, tuple[int, int]]:
        found: dict[str, tuple[int, int]] = {}

        def ahead(node_id: str) -> tuple[int, int]:
            if node_id not in found:
                here = 1 if node_id in self.questions else 0
                below = [ahead(edge.target) for edge in self.graph.outgoing(node_id)]
                fewest = min((b[0] for b in below), default=0)
                most = max((b[1] for b in below), default=0)
                found[node_id] = (here + fewest, here + most)
            return found[node_id]

        for node_id in self.graph.nodes:  # the graph is acyclic (validated)
            ahead(node_id)
        return found


def flow_hash(*texts: str) -> str:
    """A short stable hash of a flow's source files."""
    digest = hashlib.sha256()
    for text in texts:
        digest.update(text.encode())
        digest.update(b"\0")
    return digest.hexdigest()[:16]


def compile_flow(
    name: str,
    graph: FlowGraph,
    words: FlowWords,
    start: str,
    source_hash: str,
    catalogue: Catalogue = EMPTY,
) -> Flow:
    """Build questions from the graph and words; the Machine is built on first use."""
    options_of: dict[str, tuple[Option, ...]] = {}
    for node in graph.nodes.values():
        if not node.is_decision:
            continue
        said = words.decisions[node.id]
        options = []
        for index, edge in enumerate(graph.outgoing(node.id), start=1):
            assert edge.label is not None  # validated
            extra = said.options.get(edge.label)
            options.append(
                Option(
                    index=index,
                    label=edge.label,
                    target=edge.target,
                    synonyms=extra.synonyms if extra else (),
                    follow_on=extra.follow_on if extra else (),
                    hints=extra.hints if extra else (),
                    min=extra.min if extra else None,
                    max=extra.max if extra else None,
                    max_inclusive=extra.max_inclusive if extra else False,
                )
            )
        options_of[node.id] = tuple(options)
    questions: dict[str, Question] = {}
    for node_id, options in options_of.items():
        said = words.decisions[node_id]
        own = {p.casefold() for o in options for p in _phrases_of(o)}
        foreign = {
            p
            for other, opts in options_of.items()
            if other != node_id
            for o in opts
            for p in _phrases_of(o)
        }
        foreign = {p.casefold() for p in foreign}
        questions[node_id] = Question(
            node_id=node_id,
            title=graph.nodes[node_id].text,
            text=said.question,
            help=said.help,
            options=options,
            unit=said.unit,
            foreign=tuple(sorted(foreign - own)),
            ignore=tuple(p.casefold() for p in words.reading.ignore),
            relaxed=said.relaxed,
            relaxed_note=said.relaxed_note,
            topic=said.topic,
        )
    return Flow(
        name=name,
        graph=graph,
        words=words,
        start=start,
        source_hash=source_hash,
        questions=questions,
        catalogue=catalogue,
    )


def _phrases_of(option: Option) -> tuple[str, ...]:
    """Every phrase that names ``option`` when typed (as written in the words file)."""
    return (option.label, *option.synonyms, *option.follow_on)


def build_machine(graph: FlowGraph, start: str) -> Machine:
    """States are nodes; a decision's options are conditional transitions on `answer`;
    a node with one outgoing edge moves on `advance`; nodes with no edge are final."""
    states = [{"name": node_id, "final": not graph.outgoing(node_id)} for node_id in graph.nodes]
    transitions = []
    for node in graph.nodes.values():
        for edge in graph.outgoing(node.id):
            if node.is_decision:
                transitions.append(
                    {
                        "trigger": ANSWER,
                        "source": node.id,
                        "dest": edge.target,
                        "conditions": [_Chose(edge.label or "")],
                    }
                )
            else:
                transitions.append({"trigger": ADVANCE, "source": node.id, "dest": edge.target})
    return Machine(
        model=None,
        states=states,
        transitions=transitions,
        initial=start,
        auto_transitions=False,
        send_event=False,
        ignore_invalid_triggers=False,
    )
