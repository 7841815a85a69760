"""Shared argument parsing for the worker processes the store tests start."""

from __future__ import annotations

import argparse
from pathlib import Path

from bot.store import Store


def parser(description: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--url", default=None)
    p.add_argument("--data-dir", type=Path, required=True)
    p.add_argument("--schema", default=None, help="PostgreSQL search_path for this test")
    return p


def open_store(args: argparse.Namespace) -> Store:
    engine_kw = {}
    if args.schema:
        engine_kw["connect_args"] = {"options": f"-csearch_path={args.schema}"}
    return Store.from_url(args.url, args.data_dir, engine_kw=engine_kw)
