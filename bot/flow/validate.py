"""Graph rules a flow must obey before it can drive a conversation."""

from __future__ import annotations

from bot.flow.errors import FlowError, Problem
from bot.flow.graph import FlowGraph


def validate_graph(graph: FlowGraph) -> str:
    """Check every rule and return the start node id; raise `FlowError` listing all problems.

    Rules: exactly one start; every decision has at least two outgoing edges,
    all labelled, with distinct labels; every other node has at most one
    outgoing edge; every node is reachable from the start; no cycles (so every
    path ends at a node with no outgoing edge).
    """
    problems: list[Problem] = []
    path = graph.path

    def problem(message: str, line: int | None) -> None:
        problems.append(Problem(path, message, line))

    if not graph.nodes:
        raise FlowError([Problem(path, "the flowchart has no nodes")])
    starts = graph.starts()
    if not starts:
        first = next(iter(graph.nodes))
        into = graph.incoming(first)[0]
        problem(
            f"no start node: every node has an incoming edge, even {first} (from "
            f"{into.source}); is there a cycle?",
            into.line,
        )
    elif len(starts) > 1:
        names = ", ".join(f"{s} (line {graph.nodes[s].line})" for s in starts)
        problem(
            f"exactly one start node expected (no incoming edges), found {len(starts)}: {names}",
            graph.nodes[starts[1]].line,
        )

    for node in graph.nodes.values():
        edges = graph.outgoing(node.id)
        if node.is_decision:
            if len(edges) < 2:
                problem(
                    f"decision {node.id} needs at least 2 outgoing edges, has {len(edges)}",
                    node.line,
                )
            seen: dict[str, int] = {}
            for edge in edges:
                if not edge.label:
                    problem(
                        f"edge {edge.source} --> {edge.target} leaves decision {node.id} "
                        "without a label; label it with the answer it stands for",
                        edge.line,
                    )
                    continue
                key = edge.label.casefold()
                if key in seen:
                    problem(
                        f"decision {node.id} has two options labelled {edge.label!r} "
                        f"(lines {seen[key]} and {edge.line}); labels must differ",
                        edge.line,
                    )
                seen[key] = edge.line
        elif len(edges) > 1:
            targets = ", ".join(e.target for e in edges)
            problem(
                f"node {node.id} is not a decision but has {len(edges)} outgoing edges "
                f"(to {targets}); make it a decision {node.id}{{...}} or keep one edge",
                edges[1].line,
            )

    cycle = _find_cycle(graph)
    if cycle:
        edge_line = next(e.line for e in graph.outgoing(cycle[-2]) if e.target == cycle[-1])
        problem("cycle: " + " --> ".join(cycle) + "; a flow must always move forward", edge_line)

    if len(starts) == 1:
        reachable = _reachable(graph, starts[0])
        for node in graph.nodes.values():
            if node.id not in reachable:
                problem(f"node {node.id} cannot be reached from the start {starts[0]}", node.line)

    if problems:
        raise FlowError(problems)
    return starts[0]


def _reachable(graph: FlowGraph, start: str) -> set[str]:
    seen = {start}
    todo = [start]
    while todo:
        for edge in graph.outgoing(todo.pop()):
            if edge.target not in seen:
                seen.add(edge.target)
                todo.append(edge.target)
    return seen


def _find_cycle(graph: FlowGraph) -> list[str] | None:
    """A cycle as a list of node ids (first == last), or None. Iterative DFS."""
    colour: dict[str, int] = dict.fromkeys(graph.nodes, 0)  # 0 new, 1 on stack, 2 done
    for root in graph.nodes:
        if colour[root]:
            continue
        stack: list[tuple[str, int]] = [(root, 0)]
        trail: list[str] = [root]
        colour[root] = 1
        while stack:
            node_id, index = stack[-1]
            edges = graph.outgoing(node_id)
            if index < len(edges):
                stack[-1] = (node_id, index + 1)
                target = edges[index].target
                if colour[target] == 1:
                    return [*trail[trail.index(target) :], target]
                if colour[target] == 0:
                    colour[target] = 1
                    stack.append((target, 0))
                    trail.append(target)
            else:
                colour[node_id] = 2
                stack.pop()
                trail.pop()
    return None
