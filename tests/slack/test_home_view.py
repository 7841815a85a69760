"""The Home view builder: valid Block Kit at most 100 blocks, however much there is."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.slack.home import OpenItem, home_view
from bot.store import HistoryRow
from tests.slack.conftest import assert_valid_home_view

WHEN = datetime(2026, 11, 30, 14, 5, tzinfo=UTC)


def test_a_full_home_view_is_valid_and_within_100_blocks() -> None:
    items = [
        OpenItem(
            f"{i:032x}",
            f"C{i:04d}",
            WHEN,
            "Is this <training> & co?",
            None if i % 2 else f"https://acme.slack.com/archives/C{i:04d}/p1700000000000100",
        )
        for i in range(40)
    ]
    results = [
        HistoryRow(
            f"{i:032x}",
            "D0ALICE" if i % 2 else "C0001",
            "U0ALICE",
            {"titles": ["P5en Instances", "S3 Standard"], "answers": [["Type", "Training"]]},
            WHEN,
            "https://acme.slack.com/archives/C0001/p1700000000000100?thread_ts=1&cid=C0001",
        )
        for i in range(30)
    ]
    view = home_view(items, results, "/llm-cost")
    assert_valid_home_view(view)
    assert len(view["blocks"]) <= 100
    text = str(view)
    assert "&lt;training&gt; &amp; co" in text and "<training>" not in text
    assert "&amp;cid=C0001|Open the thread>" in text


def test_an_empty_home_view_is_valid() -> None:
    view = home_view([], [], "/llm-cost")
    assert_valid_home_view(view)
    assert "None open." in str(view) and "None yet." in str(view)
