"""Graph rules: each one broken in a small .mmd file, reported with its line and node(s)."""

from __future__ import annotations

import pytest

from bot.flow.errors import FlowError
from bot.flow.graph import FlowGraph
from bot.flow.mermaid import parse_mermaid
from bot.flow.validate import validate_graph
from tests.flow._fixtures import SHIPPED_MMD, parse, problems_of


def problems(name: str) -> list[tuple[int | None, str]]:
    with pytest.raises(FlowError) as caught:
        validate_graph(parse(name))
    for problem in caught.value.problems:
        assert problem.path == name
        assert str(problem).startswith(f"{name}:{problem.line}: ")
    return problems_of(caught.value)


def test_valid_graph_returns_its_start() -> None:
    assert validate_graph(parse("valid_small.mmd")) == "Start"


def test_shipped_flow_is_valid() -> None:
    graph = parse_mermaid(SHIPPED_MMD.read_text(encoding="utf-8"), str(SHIPPED_MMD))
    assert validate_graph(graph) == "Start"


@pytest.mark.parametrize(
    ("name", "line", "words"),
    [
        # exactly one start (no incoming edges)
        ("invalid_two_starts.mmd", 3, ["exactly one start", "A (line 2)", "B (line 3)"]),
        # every decision has at least 2 outgoing edges ...
        ("invalid_decision_one_edge.mmd", 2, ["decision Q", "at least 2", "has 1"]),
        # ... all labelled ...
        ("invalid_decision_unlabelled.mmd", 3, ["Q --> B", "decision Q", "without a label"]),
        # ... with distinct labels (case does not make them distinct)
        ("invalid_decision_duplicate_labels.mmd", 3, ["decision Q", "'yes'", "lines 2 and 3"]),
        # every non-decision node has at most 1 outgoing edge
        ("invalid_non_decision_branches.mmd", 4, ["node B", "not a decision", "to C, D"]),
    ],
)
def test_each_rule_reports_line_and_nodes(name: str, line: int, words: list[str]) -> None:
    [(got_line, message)] = problems(name)
    assert got_line == line
    for word in words:
        assert word in message


def test_cycle_means_some_path_never_ends() -> None:
    # No cycles, so every path ends at a node with no outgoing edge: here A --> B --> C --> B ...
    [(line, message)] = problems("invalid_cycle.mmd")
    assert line == 4  # the edge that closes the loop
    assert "cycle: B --> C --> B" in message


def test_unreachable_nodes_are_named() -> None:
    found = problems("invalid_unreachable.mmd")
    assert (3, "node X cannot be reached from the start A") in found
    assert (3, "node Y cannot be reached from the start A") in found
    # An island with no start of its own must loop; that is reported too.
    assert any(line == 4 and "cycle: X --> Y --> X" in msg for line, msg in found)
    assert len(found) == 3


def test_no_start_at_all() -> None:
    found = problems("invalid_no_start.mmd")
    assert [line for line, _ in found] == [3, 3]
    assert "no start node" in found[0][1] and "A (from B)" in found[0][1]
    assert "cycle: A --> B --> A" in found[1][1]


def test_several_problems_are_reported_at_once() -> None:
    found = problems("invalid_many.mmd")
    assert [line for line, _ in found] == [7, 4, 6]
    starts, unlabelled, branches = (message for _, message in found)
    assert "A (line 2), F (line 7)" in starts
    assert "Q --> C" in unlabelled
    assert "node B" in branches and "to D, E" in branches
    # FlowError's text lists them all, one per line, each with its location.
    with pytest.raises(FlowError) as caught:
        validate_graph(parse("invalid_many.mmd"))
    assert [line.split(": ")[0] for line in str(caught.value).splitlines()] == [
        "invalid_many.mmd:7",
        "invalid_many.mmd:4",
        "invalid_many.mmd:6",
    ]


def test_a_flowchart_with_no_nodes() -> None:
    """The parser already refuses such a file; a graph built another way is checked too."""
    with pytest.raises(FlowError, match="no nodes"):
        validate_graph(FlowGraph(path="empty.mmd", direction="TD", nodes={}, edges=()))


def test_decisions_may_share_a_target_and_non_decisions_may_merge() -> None:
    graph = parse_mermaid(
        "flowchart TD\n  S --> Q{?}\n  Q -->|a| E\n  Q -->|b| E\n  E --> F\n", "merge.mmd"
    )
    assert validate_graph(graph) == "S"
