"""The end of a path as people are shown it: the offerings on it with their details,
the answers that led there, the path's notes and, once asked for, the estimate."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from bot.estimate import Estimate
from bot.estimate.view import headline
from bot.flow.catalogue import EMPTY, Catalogue
from bot.flow.compiled import Question
from bot.flow.graph import Node
from bot.flow.words import EstimateKind, NodeDetails

if TYPE_CHECKING:  # the record's type; the conversation module builds recommendations
    from bot.conversation.answer import Answer


@dataclass(frozen=True)
class RecommendedNode:
    """A non-decision node on the chosen path, with its concrete offering."""

    node: Node
    details: NodeDetails | None

    @property
    def heading(self) -> str:
        return self.details.heading if self.details else "Recommendation"

    @property
    def offering(self) -> str:
        return self.details.offering if self.details else self.node.title


@dataclass(frozen=True)
class ShownNote:
    """A path-aware note from the flow's data, with its sources."""

    text: str
    sources: tuple[str, ...]  # catalogue source keys
    multi_instance: bool = False  # about jobs on more than one instance


@dataclass(frozen=True)
class AnsweredQuestion:
    question: Question
    answer: Answer


@dataclass(frozen=True)
class Recommendation:
    """The end of a path: the instance node, then storage or caching, and how we got there."""

    flow_title: str
    prices_as_of: str
    price_basis: str
    nodes: tuple[RecommendedNode, ...]
    answers: tuple[AnsweredQuestion, ...]
    catalogue: Catalogue = EMPTY
    notes: tuple[ShownNote, ...] = ()
    estimate: Estimate | None = None  # once the person asked for one and it is complete

    @property
    def estimate_kind(self) -> EstimateKind | None:
        """The estimate this path offers, if any."""
        return next(
            (n.details.estimate for n in self.nodes if n.details and n.details.estimate), None
        )

    @property
    def headline(self) -> str:
        """The offerings (with the count and cost, once estimated)."""
        names = [n.offering for n in self.nodes]
        if self.estimate is not None and self.estimate.recommended.fits:
            names[0] = headline(self.estimate)
        return " + ".join(names)

    @property
    def instance(self) -> RecommendedNode:
        return self.nodes[0]

    @property
    def follow_up(self) -> RecommendedNode:
        """Storage (training) or caching (inference): the last node of the path."""
        return self.nodes[-1]

    def summary(self) -> dict:
        """A small JSON-able summary for history."""
        return {
            "nodes": [n.node.id for n in self.nodes],
            "titles": [n.node.title for n in self.nodes],
            "headline": self.headline,
            "answers": [[a.question.title, a.answer.option] for a in self.answers],
        }
