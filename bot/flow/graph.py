"""The flowchart as data: nodes, edges, and the questions one asks of a graph."""

from __future__ import annotations

from enum import StrEnum
from functools import cached_property

from pydantic import BaseModel, ConfigDict


class Shape(StrEnum):
    """Mermaid node shapes we understand; only `decision` changes behaviour."""

    RECT = "rect"
    DECISION = "decision"
    ROUND = "round"
    STADIUM = "stadium"
    CIRCLE = "circle"


class Node(BaseModel):
    """A flowchart node; `lines` is its label split on `<br/>`."""

    model_config = ConfigDict(frozen=True)

    id: str
    lines: tuple[str, ...]
    shape: Shape = Shape.RECT
    line: int = 0

    @property
    def is_decision(self) -> bool:
        return self.shape is Shape.DECISION

    @property
    def title(self) -> str:
        """The first label line: the name people know the node by."""
        return self.lines[0] if self.lines else self.id

    @property
    def text(self) -> str:
        """The whole label on one line."""
        return " ".join(self.lines)


class Edge(BaseModel):
    """A directed edge; `label` is the option text (label lines joined by a space)."""

    model_config = ConfigDict(frozen=True)

    source: str
    target: str
    label: str | None = None
    line: int = 0
    column: int = 0


class FlowGraph(BaseModel):
    """A parsed (not yet validated) flowchart."""

    model_config = ConfigDict(frozen=True)

    path: str
    direction: str
    nodes: dict[str, Node]
    edges: tuple[Edge, ...]

    @cached_property
    def _outgoing(self) -> dict[str, tuple[Edge, ...]]:
        out: dict[str, list[Edge]] = {node_id: [] for node_id in self.nodes}
        for edge in self.edges:
            out[edge.source].append(edge)
        return {node_id: tuple(edges) for node_id, edges in out.items()}

    def outgoing(self, node_id: str) -> tuple[Edge, ...]:
        return self._outgoing[node_id]

    def incoming(self, node_id: str) -> tuple[Edge, ...]:
        return tuple(e for e in self.edges if e.target == node_id)

    def starts(self) -> list[str]:
        """Nodes with no incoming edge, in definition order."""
        targets = {e.target for e in self.edges}
        return [n for n in self.nodes if n not in targets]

    def paths(self, start: str) -> list[tuple[str | Edge, ...]]:
        """Every path from `start` to a final node, alternating node ids and edges.

        Assumes the graph is acyclic (validation guarantees it)."""
        found: list[tuple[str | Edge, ...]] = []

        def walk(node_id: str, trail: tuple[str | Edge, ...]) -> None:
            trail = (*trail, node_id)
            edges = self.outgoing(node_id)
            if not edges:
                found.append(trail)
            for edge in edges:
                walk(edge.target, (*trail, edge))

        walk(start, ())
        return found
