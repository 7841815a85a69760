"""Parser for the Mermaid flowchart subset people actually write.

Supported: `flowchart`/`graph` headers with TD/TB/LR/RL/BT; node shapes
`A[..]`, `A{..}` (decision), `A(..)`, `A([..])`, `A((..))` and quoted labels
`A["..."]`; `<br/>` inside labels; links `-->`, `---`, `-.->`, `==>` (and their
longer forms) with `|labels|` or `-- text -->`; chains and `&` groups; `%%`
comments; `subgraph ... end`; `style`, `classDef`, `class`, `linkStyle`,
`click` and `direction` lines are accepted and ignored. Anything else is a
`FlowError` naming the file, line and column and what was expected.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from bot.flow.errors import FlowError, Problem
from bot.flow.graph import Edge, FlowGraph, Node, Shape

_HEADER = re.compile(r"(?:flowchart|graph)(?:\s+(TD|TB|LR|RL|BT))?\s*;?\s*$")
_IGNORED = re.compile(r"(?:style|classDef|class|linkStyle|click|direction)(?:\s|$)")
# A keyword followed by an arrow is an attempt to use it as a node id.
_KEYWORD_AS_NODE = re.compile(
    r"(style|classDef|class|linkStyle|click|direction|end)\s*(?:-{2,}|-\.|={2,}|&)"
)
_SUBGRAPH = re.compile(r"subgraph(?:\s+(.*))?$")
_ID = re.compile(r"[^\W]\w*", re.UNICODE)
_BR = re.compile(r"<br\s*/?>", re.IGNORECASE)
_CLASS_SUFFIX = re.compile(r":::[\w-]+")
# An arrow, then an optional |label|.
_ARROW = re.compile(r"(-{2,}>|-{3,}|-\.+->|-\.+-|={2,}>|={3,})(?:\s*\|([^|]*)\|)?")
# The `-- text -->` forms: opener, text, closer of the same style.
_TEXT_ARROWS = (
    re.compile(r"--\s+(.+?)\s*(?:-{2,}>|-{3,})"),
    re.compile(r"-\.\s+(.+?)\s*\.-+>?"),
    re.compile(r"==\s+(.+?)\s*(?:={2,}>|={3,})"),
)
# Shape openers, longest first, with their closers.
_SHAPES: tuple[tuple[str, str, Shape], ...] = (
    ("([", "])", Shape.STADIUM),
    ("((", "))", Shape.CIRCLE),
    ("[", "]", Shape.RECT),
    ("{", "}", Shape.DECISION),
    ("(", ")", Shape.ROUND),
)
_UNSUPPORTED_SHAPES = ("[[", "[(", "{{", "[/", "[\\", ">")
_SHAPE_HELP = "A[..], A{..}, A(..), A([..]) or A((..))"


def label_lines(raw: str) -> tuple[str, ...]:
    """Split a label on `<br/>` and trim each line."""
    return tuple(part.strip() for part in _BR.split(raw.strip()))


def label_text(raw: str) -> str:
    """A label on one line: `<br/>` becomes a space."""
    return " ".join(p for p in label_lines(raw) if p)


@dataclass
class _Line:
    """A cursor over one source line; columns are 1-based."""

    path: str
    number: int
    text: str
    pos: int = 0

    def skip_ws(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos] in " \t":
            self.pos += 1

    def at_end(self) -> bool:
        self.skip_ws()
        return self.pos >= len(self.text) or (
            self.text.startswith(";", self.pos) and (not self.text[self.pos + 1 :].strip())
        )

    def rest(self) -> str:
        return self.text[self.pos :]

    def fail(self, expected: str, pos: int | None = None) -> FlowError:
        at = self.pos if pos is None else pos
        found = self.text[at : at + 20].rstrip()
        found_text = f"found {found!r}" if found else "found the end of the line"
        return FlowError(
            [Problem(self.path, f"expected {expected}, {found_text}", self.number, at + 1)]
        )


@dataclass
class _Builder:
    """Collects nodes and edges while parsing; remembers where each node was labelled."""

    path: str
    nodes: dict[str, Node] = field(default_factory=dict)
    labelled_at: dict[str, int] = field(default_factory=dict)
    edges: list[Edge] = field(default_factory=list)

    def node(
        self, node_id: str, lines: tuple[str, ...] | None, shape: Shape, at: _Line, column: int
    ) -> None:
        if lines is None:
            self.nodes.setdefault(node_id, Node(id=node_id, lines=(node_id,), line=at.number))
            return
        previous = self.nodes.get(node_id)
        if node_id in self.labelled_at and previous is not None:
            if previous.lines != lines or previous.shape is not shape:
                first = self.labelled_at[node_id]
                raise FlowError(
                    [
                        Problem(
                            self.path,
                            f"node {node_id} is defined again with another label or shape; "
                            f"expected the label and shape of its first definition (line "
                            f"{first}) or just the id {node_id}",
                            at.number,
                            column,
                        )
                    ]
                )
            return
        self.labelled_at[node_id] = at.number
        self.nodes[node_id] = Node(id=node_id, lines=lines, shape=shape, line=at.number)


def parse_mermaid(text: str, path: str = "<flow>") -> FlowGraph:
    """Parse Mermaid flowchart text into a `FlowGraph` (not yet validated)."""
    builder = _Builder(path)
    direction: str | None = None
    header_line = 0
    open_subgraphs: list[tuple[int, int]] = []  # (line, column) of each open `subgraph`
    lines = text.splitlines()
    for number, raw in enumerate(lines, start=1):
        stripped = raw.strip()
        if not stripped or stripped.startswith("%%"):
            continue
        indent = len(raw) - len(raw.lstrip())
        line = _Line(path, number, raw, indent)
        if direction is None:
            match = _HEADER.match(stripped)
            if not match:
                raise line.fail("a 'flowchart' or 'graph' header such as 'flowchart TD'")
            direction = match.group(1) or "TD"
            header_line = number
            continue
        keyword = _KEYWORD_AS_NODE.match(stripped)
        if keyword:
            raise line.fail(
                f"a node id ('{keyword.group(1)}' is a Mermaid keyword; "
                "use another id and put the word in its label)"
            )
        if _IGNORED.match(stripped):
            continue
        if _SUBGRAPH.match(stripped):
            open_subgraphs.append((number, indent + 1))
            continue
        if stripped.rstrip(";").rstrip() == "end":
            if not open_subgraphs:
                raise line.fail("a statement ('end' closes nothing: no subgraph is open)")
            open_subgraphs.pop()
            continue
        _parse_statement(line, builder)
    if direction is None:
        if any(raw.strip() for raw in lines):
            what = "found only comments and blank lines"
            raise FlowError([Problem(path, f"expected a 'flowchart' or 'graph' header; {what}", 1)])
        raise FlowError(
            [Problem(path, "expected a 'flowchart' or 'graph' header; the file is empty")]
        )
    if open_subgraphs:
        raise FlowError(
            [Problem(path, "subgraph is never closed: expected 'end'", *open_subgraphs[-1])]
        )
    if not builder.nodes:
        raise FlowError(
            [
                Problem(
                    path, "expected nodes and edges after this header; there are none", header_line
                )
            ]
        )
    return FlowGraph(
        path=path, direction=direction, nodes=builder.nodes, edges=tuple(builder.edges)
    )


def _parse_statement(line: _Line, builder: _Builder) -> None:
    """A statement: a group of nodes, then any number of (link, group) pairs."""
    group = _parse_group(line, builder)
    while not line.at_end():
        start = line.pos
        label = _parse_link(line, group[-1])
        column = start + 1
        targets = _parse_group(line, builder)
        for source in group:
            for target in targets:
                builder.edges.append(
                    Edge(source=source, target=target, label=label, line=line.number, column=column)
                )
        group = targets


def _parse_group(line: _Line, builder: _Builder) -> list[str]:
    ids = [_parse_node(line, builder)]
    line.skip_ws()
    while line.rest().startswith("&"):
        line.pos += 1
        line.skip_ws()
        ids.append(_parse_node(line, builder))
        line.skip_ws()
    return ids


def _parse_node(line: _Line, builder: _Builder) -> str:
    line.skip_ws()
    match = _ID.match(line.text, line.pos)
    if not match:
        raise line.fail("a node id (letters, digits or _)")
    node_id = match.group(0)
    column = match.start() + 1
    line.pos = match.end()
    rest = line.rest()
    if rest.startswith(_UNSUPPORTED_SHAPES):
        raise line.fail(f"a supported node shape ({_SHAPE_HELP})")
    for opener, closer, shape in _SHAPES:
        if rest.startswith(opener):
            lines = _parse_label(line, node_id, opener, closer)
            builder.node(node_id, lines, shape, line, column)
            break
    else:
        builder.node(node_id, None, Shape.RECT, line, column)
    suffix = _CLASS_SUFFIX.match(line.text, line.pos)
    if suffix:
        line.pos = suffix.end()
    return node_id


def _parse_label(line: _Line, node_id: str, opener: str, closer: str) -> tuple[str, ...]:
    open_at = line.pos
    line.pos += len(opener)
    body_start = line.pos
    if line.rest().lstrip().startswith('"'):
        quote_at = line.text.index('"', line.pos)
        end_quote = line.text.find('"', quote_at + 1)
        if end_quote < 0:
            raise line.fail(f"a closing '\"' for the label of node {node_id}", quote_at)
        raw = line.text[quote_at + 1 : end_quote]
        line.pos = end_quote + 1
        line.skip_ws()
        if not line.rest().startswith(closer):
            raise line.fail(f"'{closer}' to close the label of node {node_id}")
    else:
        end = line.text.find(closer, body_start)
        if end < 0:
            raise line.fail(
                f"'{closer}' to close the label of node {node_id} opened at column {open_at + 1}",
                len(line.text),
            )
        raw = line.text[body_start:end]
        line.pos = end
    line.pos += len(closer)
    lines = label_lines(raw)
    if not any(lines):
        raise line.fail(f"a label inside {opener}{closer} for node {node_id}", body_start)
    return lines


def _parse_link(line: _Line, after: str) -> str | None:
    """A link with an optional label; returns the label text or None."""
    line.skip_ws()
    for pattern in _TEXT_ARROWS:
        match = pattern.match(line.text, line.pos)
        if match and not line.text.startswith(("-->", "---", "==>", "===", "-.-"), line.pos):
            line.pos = match.end()
            return label_text(match.group(1)) or None
    match = _ARROW.match(line.text, line.pos)
    if not match:
        raise line.fail(f"an arrow (-->, ---, -.->, ==>) or the end of the line after {after}")
    line.pos = match.end()
    if match.group(2) is None:
        return None
    text = label_text(match.group(2))
    if not text:
        raise line.fail("a label between | and |", match.start(2))
    return text
