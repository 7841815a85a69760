"""The Mermaid subset parser: every construct on a small .mmd file, every error located."""

from __future__ import annotations

import pytest

from bot.flow.errors import FlowError
from bot.flow.graph import Shape
from bot.flow.mermaid import parse_mermaid
from tests.flow._fixtures import SHIPPED_MMD, edges_of, parse, read

# ------------------------------------------------------------------ constructs


@pytest.mark.parametrize(
    ("name", "direction"),
    [
        ("header_flowchart_td.mmd", "TD"),
        ("header_flowchart_tb.mmd", "TB"),
        ("header_flowchart_lr.mmd", "LR"),
        ("header_graph_rl.mmd", "RL"),
        ("header_graph_bt.mmd", "BT"),  # with a trailing ';'
        ("header_graph_default.mmd", "TD"),  # no direction: Mermaid's default
    ],
)
def test_headers(name: str, direction: str) -> None:
    graph = parse(name)
    assert graph.direction == direction
    assert list(graph.nodes) == ["A", "B"]
    assert edges_of(graph) == [("A", "B", None)]


def test_node_shapes() -> None:
    graph = parse("shapes.mmd")
    got = {n.id: (n.shape, n.lines) for n in graph.nodes.values()}
    assert got == {
        "Rect": (Shape.RECT, ("A box",)),
        "Dec": (Shape.DECISION, ("A question?",)),
        "Round": (Shape.ROUND, ("Rounded",)),
        "Stad": (Shape.STADIUM, ("Stadium",)),
        "Circ": (Shape.CIRCLE, ("Circle",)),
        "Quoted": (Shape.RECT, ("Quoted: [brackets] {braces} (parens)",)),
        "Bare": (Shape.RECT, ("Bare",)),  # a bare id is its own label
    }
    assert graph.nodes["Dec"].is_decision
    assert not graph.nodes["Rect"].is_decision
    assert [n.line for n in graph.nodes.values()] == [2, 2, 3, 4, 5, 6, 7]


def test_line_breaks_split_node_labels_and_join_edge_labels() -> None:
    graph = parse("line_breaks.mmd")
    a = graph.nodes["A"]
    assert a.lines == ("First line", "second line", "third line", "fourth")
    assert a.title == "First line"
    assert a.text == "First line second line third line fourth"
    assert graph.nodes["B"].lines == ("Short", "question?")
    assert graph.nodes["B"].is_decision
    assert edges_of(graph) == [
        ("A", "B", None),
        ("B", "C", "Ultra-low <100ms"),
        ("B", "D", "Other"),
    ]


def test_arrows() -> None:
    graph = parse("arrows.mmd")
    assert edges_of(graph) == [
        ("A", "B", None),  # -->
        ("B", "C", None),  # ---
        ("C", "D", None),  # -.->
        ("D", "E", None),  # ==>
        ("E", "F", None),  # --->  (longer forms)
        ("F", "G", None),  # -..->
        ("G", "H", None),  # ===>
    ]
    assert [(e.line, e.column) for e in graph.edges] == [(n, 7) for n in range(2, 9)]
    assert graph.direction == "LR"


def test_edge_labels() -> None:
    graph = parse("edge_labels.mmd")
    assert edges_of(graph) == [
        ("Q", "A", "Pipe label"),
        ("Q", "B", "Text label"),
        ("Q", "C", "Dotted pipe"),
        ("Q", "D", "Dotted text"),
        ("Q", "E", "Thick pipe"),
        ("Q", "F", "Thick text"),
        ("Q", "G", "Spaced"),
    ]
    assert [e.line for e in graph.edges] == list(range(2, 9))


def test_chains() -> None:
    graph = parse("chains.mmd")
    assert list(graph.nodes) == ["A", "B", "C", "D", "E"]
    assert graph.nodes["B"].is_decision
    assert edges_of(graph) == [
        ("A", "B", None),
        ("B", "C", "left"),
        ("C", "D", None),
        ("B", "E", "right"),
        ("E", "D", None),
    ]
    # Each link of a chain remembers where it starts.
    assert [(e.line, e.column) for e in graph.edges] == [(2, 14), (2, 28), (2, 46), (3, 7), (3, 29)]


def test_and_groups() -> None:
    graph = parse("groups.mmd")
    assert list(graph.nodes) == ["A", "B", "C", "D", "E"]
    assert edges_of(graph) == [
        ("A", "C", None),
        ("A", "D", None),
        ("B", "C", None),
        ("B", "D", None),
        ("C", "E", None),
    ]


def test_comments_and_blank_lines() -> None:
    graph = parse("comments.mmd")
    assert graph.direction == "TD"
    assert list(graph.nodes) == ["A", "B", "C"]
    assert [(e.source, e.target, e.line) for e in graph.edges] == [("A", "B", 5), ("B", "C", 8)]


def test_style_class_linkstyle_click_are_ignored() -> None:
    graph = parse("ignored_lines.mmd")
    assert {n.id: n.lines for n in graph.nodes.values()} == {"A": ("Start",), "B": ("End",)}
    assert edges_of(graph) == [("A", "B", None)]  # and `A:::hot` is A


def test_subgraphs_are_transparent() -> None:
    graph = parse("subgraphs.mmd")
    assert {n.id: n.lines for n in graph.nodes.values()} == {
        "A": ("Start",),
        "B": ("Middle",),
        "C": ("Inner node",),
        "D": ("End",),
    }
    assert "Outer" not in graph.nodes and "Inner" not in graph.nodes
    assert edges_of(graph) == [("A", "B", None), ("B", "C", None), ("C", "D", None)]


def test_a_node_may_be_referenced_bare_and_repeated_with_the_same_label() -> None:
    graph = parse_mermaid(
        "flowchart TD\n  A --> B\n  B[Bee] --> C\n  B[Bee] --> D\n  A[Ay] --> B\n", "t.mmd"
    )
    assert graph.nodes["B"].lines == ("Bee",)
    assert graph.nodes["B"].line == 3  # where it got its label
    assert graph.nodes["A"].lines == ("Ay",)


def test_shipped_flow_parses() -> None:
    graph = parse_mermaid(SHIPPED_MMD.read_text(encoding="utf-8"), str(SHIPPED_MMD))
    assert len(graph.nodes) == 26
    assert len(graph.edges) == 33
    assert graph.direction == "TD"
    assert sum(n.is_decision for n in graph.nodes.values()) == 9
    assert graph.nodes["Type"].lines == ("Training or", "Inference?")
    labels = [e.label for e in graph.outgoing("InfLatency")]
    assert labels == ["Ultra-low <100ms", "Standard 100-500ms"]


# ---------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("name", "line", "column", "words"),
    [
        ("err_unknown_arrow.mmd", 2, 7, ["an arrow", "'~~> B'"]),
        ("err_unclosed_label.mmd", 2, 10, ["']'", "node A", "end of the line"]),
        ("err_unsupported_shape.mmd", 2, 16, ["supported node shape", "'[[x]]'"]),
        ("err_missing_header.mmd", 2, 1, ["'flowchart' or 'graph' header", "'A --> B'"]),
        ("err_bad_header.mmd", 1, 1, ["'flowchart' or 'graph' header", "sideways"]),
        ("err_stray_end.mmd", 3, 1, ["'end' closes nothing"]),
        ("err_unclosed_subgraph.mmd", 3, 3, ["subgraph is never closed", "'end'"]),
        ("err_empty_label.mmd", 2, 7, ["a label inside []", "node A"]),
        ("err_redefined_node.mmd", 4, 11, ["node B", "first definition (line 2)"]),
        ("err_garbage_after_node.mmd", 2, 14, ["an arrow", "after A", "'oops'"]),
        ("err_dangling_arrow.mmd", 3, 10, ["a node id", "end of the line"]),
        ("err_dangling_group.mmd", 2, 9, ["a node id", "'--> B'"]),
        ("err_empty_edge_label.mmd", 2, 19, ["a label between | and |"]),
        ("err_unclosed_quote.mmd", 2, 7, ["closing '\"'", "node A"]),
    ],
)
def test_errors_name_file_line_column_and_what_was_expected(
    name: str, line: int, column: int, words: list[str]
) -> None:
    with pytest.raises(FlowError) as caught:
        parse(name)
    [problem] = caught.value.problems
    assert (problem.path, problem.line, problem.column) == (name, line, column)
    text = str(caught.value)
    assert text.startswith(f"{name}:{line}:{column}: ")
    assert "expected" in problem.message
    for word in words:
        assert word in problem.message


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "flowchart TD\n%% nothing yet\n",
            "x.mmd:1: expected nodes and edges after this header; there are none",
        ),
        (
            "\n%% a comment\n   \n",
            "x.mmd:1: expected a 'flowchart' or 'graph' header; found only comments and blank",
        ),
        ("", "x.mmd: expected a 'flowchart' or 'graph' header; the file is empty"),
    ],
)
def test_files_with_nothing_to_run_say_what_is_missing(text: str, expected: str) -> None:
    with pytest.raises(FlowError) as caught:
        parse_mermaid(text, "x.mmd")
    assert str(caught.value).startswith(expected)


def test_empty_file_names_the_file_and_the_missing_header() -> None:

    with pytest.raises(FlowError) as caught:
        parse("err_empty_file.mmd")
    [problem] = caught.value.problems
    assert problem.path == "err_empty_file.mmd"
    assert "expected a 'flowchart' or 'graph' header" in problem.message


@pytest.mark.parametrize(
    ("statement", "column"),
    [
        ("A --o B", 3),  # circle-end links are not in the subset
        ("A --x B", 3),
        ("A <--> B", 3),
        ("A -> B", 3),
        ("A -- no closer B", 3),
        ("A --> B C", 9),
        ("A --> B; C --> D", 8),
        ("A{{hex}} --> B", 2),
        ("A[/para/] --> B", 2),
        ("A>flag] --> B", 2),
        ("A[(db)] --> B", 2),
        ("--> B", 1),
        ("A -->|open label B", 6),
    ],
)
def test_unsupported_syntax_is_an_error_not_a_silent_skip(statement: str, column: int) -> None:
    with pytest.raises(FlowError) as caught:
        parse_mermaid(f"flowchart TD\n{statement}\n", "x.mmd")
    [problem] = caught.value.problems
    assert (problem.line, problem.column) == (2, column)
    assert str(caught.value).startswith(f"x.mmd:2:{column}: expected ")


def test_first_error_wins_and_later_lines_are_not_read() -> None:
    text = read("err_unknown_arrow.mmd") + "    B ~~> C\n"
    with pytest.raises(FlowError) as caught:
        parse_mermaid(text, "t.mmd")
    assert [p.line for p in caught.value.problems] == [2]


def test_end_with_a_semicolon_closes_a_subgraph() -> None:
    from bot.flow.mermaid import parse_mermaid

    graph = parse_mermaid("flowchart TD\nsubgraph one\nA --> B\nend;\n", "s.mmd")
    assert [(e.source, e.target) for e in graph.edges] == [("A", "B")]


@pytest.mark.parametrize("keyword", ["class", "style", "end", "click"])
def test_a_keyword_used_as_a_node_id_is_an_error(keyword: str) -> None:
    from bot.flow.errors import FlowError
    from bot.flow.mermaid import parse_mermaid

    with pytest.raises(FlowError) as caught:
        parse_mermaid(f"flowchart TD\nA --> B\n{keyword} --> C\n", "k.mmd")
    assert "k.mmd:3:1: expected a node id" in str(caught.value)
    assert "Mermaid keyword" in str(caught.value)
