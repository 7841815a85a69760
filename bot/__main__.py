"""Command line: `python -m bot run | chat | flow check | flow paths | db upgrade | retention`."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from bot.estimate.cli import add_parser as add_estimate_parser
from bot.flow.errors import FlowError
from bot.flow.graph import Edge
from bot.flow.loader import (
    DEFAULT_FLOW,
    DEFAULT_FLOWS_DIR,
    available_flows,
    load_flow,
)
from bot.pricing.cli import add_parser as add_prices_parser

USAGE = """llm-cost-bot: choose how to run LLM workloads on AWS at the lowest cost.

  python -m bot chat            answer the flowchart's questions in this terminal
  python -m bot flow check      validate the flows in flows/ (or given .mmd files)
  python -m bot flow paths      print every path through the flowchart
  python -m bot estimate training --params 70B --tokens 2T [--json]
  python -m bot estimate inference --params 70B --tokens-per-day 500M [--json]
                                size and price a run or a deployment on every offering
                                (--region eu-west-1, --purchase spot|savings-plan-1y|...)
  python -m bot prices refresh [--offer-file FILE]...
                                store current AWS prices (Price List API or bulk files)
  python -m bot run             run the Slack app (Socket Mode or HTTP; see README.md)
  python -m bot db upgrade      apply database schema migrations (start-up does too)
"""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="llm-cost-bot", description=USAGE, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--flows-dir",
        type=Path,
        default=DEFAULT_FLOWS_DIR,
        help="folder holding <name>.mmd and <name>.toml (default: %(default)s)",
    )
    commands = parser.add_subparsers(dest="command")
    chat = commands.add_parser("chat", help="run a conversation in the terminal")
    chat.add_argument("--flow", default=DEFAULT_FLOW, help="flow name (default: %(default)s)")
    flow = commands.add_parser("flow", help="inspect flows")
    flow_commands = flow.add_subparsers(dest="flow_command", required=True)
    check = flow_commands.add_parser("check", help="validate flows; exit 1 on errors")
    check.add_argument(
        "paths",
        nargs="*",
        type=Path,
        help=".mmd files (each with a .toml beside it); default: every flow",
    )
    paths = flow_commands.add_parser("paths", help="print every path from start to end")
    paths.add_argument("name", nargs="?", default=DEFAULT_FLOW)
    add_estimate_parser(commands)
    add_prices_parser(commands)
    run = commands.add_parser("run", help="run the Slack app")
    run.add_argument(
        "--mode",
        choices=("auto", "http", "socket"),
        default="auto",
        help="http: serve POST /slack/events; socket: Socket Mode; auto (default): "
        "Socket Mode when SLACK_APP_TOKEN is set",
    )
    commands.add_parser("retention", help="expire idle conversations and purge old rows")
    db = commands.add_parser("db", help="the database")
    db_commands = db.add_subparsers(dest="db_command", required=True)
    db_commands.add_parser("upgrade", help="apply schema migrations (start-up does too)")
    return parser


def _check(paths: list[Path], flows_dir: Path) -> int:
    targets = paths or [flows_dir / f"{name}.mmd" for name in available_flows(flows_dir)]
    if not targets:
        print(f"no flows found in {flows_dir}", file=sys.stderr)
        return 1
    failed = 0
    for mmd in targets:
        toml = mmd.with_suffix(".toml")
        if mmd.exists() and not toml.exists():
            failed += 1
            _check_mermaid_only(mmd)
            print(
                f"{toml}: missing; every flow needs its words file beside it "
                "(questions, help, options)",
                file=sys.stderr,
            )
            continue
        try:
            flow = load_flow(mmd.stem, mmd.parent)
        except FlowError as exc:
            failed += 1
            print(exc, file=sys.stderr)
        else:
            print(
                f"{mmd}: ok ({len(flow.graph.nodes)} nodes, {len(flow.questions)} questions, "
                f"{len(flow.paths())} paths)"
            )
    if not paths:
        failed += _check_api_prices(flows_dir)
    return 1 if failed else 0


def _check_api_prices(flows_dir: Path) -> int:
    """The hosted-model prices beside the flows: every price sourced and dated."""
    from bot.pricing.api_alternative import FILE_NAME, load_api_prices
    from bot.pricing.model import PriceRefreshError

    try:
        prices = load_api_prices(flows_dir)
    except PriceRefreshError as exc:
        print(exc, file=sys.stderr)
        return 1
    if prices.models:
        print(f"{flows_dir / FILE_NAME}: ok ({len(prices.models)} hosted-model prices)")
    return _check_purchase_file(flows_dir)


def _check_purchase_file(flows_dir: Path) -> int:
    """The path rules and shipped Savings Plans and Spot rates: every source listed."""
    from bot.pricing.model import PriceRefreshError
    from bot.pricing.purchase_file import FILE_NAME, load_purchase_file

    try:
        data = load_purchase_file(flows_dir)
    except PriceRefreshError as exc:
        print(exc, file=sys.stderr)
        return 1
    if (flows_dir / FILE_NAME).exists():
        print(f"{flows_dir / FILE_NAME}: ok ({len(data.prices)} Savings Plans and Spot rates)")
    return 0


def _check_mermaid_only(mmd: Path) -> None:
    """Report the flowchart's own problems even when its words file is missing."""
    from bot.flow.mermaid import parse_mermaid
    from bot.flow.validate import validate_graph

    try:
        validate_graph(parse_mermaid(mmd.read_text(encoding="utf-8"), str(mmd)))
    except FlowError as exc:
        print(exc, file=sys.stderr)


def format_path(path: tuple[str | Edge, ...]) -> str:
    parts: list[str] = []
    for item in path:
        if isinstance(item, Edge):
            if item.label:
                parts[-1] += f" [{item.label}]"
        else:
            parts.append(item)
    return " -> ".join(parts)


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "chat":
            return _chat(args)
        if args.command == "flow" and args.flow_command == "check":
            return _check(args.paths, args.flows_dir)
        if args.command == "flow" and args.flow_command == "paths":
            for path in load_flow(args.name, args.flows_dir).paths():
                print(format_path(path))
            return 0
        if args.command == "estimate":
            from bot.estimate.cli import main_estimate

            return main_estimate(args, load_flow(DEFAULT_FLOW, args.flows_dir))
        if args.command == "prices":
            from bot.pricing.cli import main as prices_main

            return prices_main(args, load_flow(DEFAULT_FLOW, args.flows_dir).catalogue)
        if args.command == "db" and args.db_command == "upgrade":
            from bot.cli.app import db_upgrade

            return db_upgrade()
        if args.command in ("run", "retention"):
            from bot.cli.app import run_command

            return run_command(args.command, getattr(args, "mode", "auto"))
    except FlowError as exc:
        print(exc, file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # e.g. `flow paths | head`
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - silence the flush at exit
        return 0
    print(USAGE)
    return 0


def _chat(args: argparse.Namespace) -> int:
    from bot.cli.terminal import chat

    return chat(load_flow(args.flow, args.flows_dir), sys.stdin, sys.stdout)


if __name__ == "__main__":
    sys.exit(main())
