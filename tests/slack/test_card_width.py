"""The estimate card at 375 px (a phone, or a narrow thread pane), rendered in headless
Chromium: the table's cost column shows without scrolling sideways.

The layout model is in `tests/slack/card_render.py`. Locally the test is skipped, with
the reason, when Chromium is not installed; in CI (``CI`` set) that is a failure, and
`.ci/run` installs it.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bot.estimate import OptionEstimate
from bot.slack.estimate_blocks import estimate_message
from tests.estimate.test_card import estimated
from tests.slack import card_render

WIDTH = 375

CASES = {
    "training-70B": (("Training", "10-100B params", "Active"), ("70B", "2T tokens")),
    "training-7B-typed": (("we pre-train a 7B model", "cost", "checkpoints"), ("1T tokens",)),
    "inference-70B": (
        ("we serve a chatbot", "under 80 ms", "high", "prompt cache"),
        ("70B in fp8", "40 requests/s, 800 tokens each"),
    ),
    "inference-405B-some-do-not-fit": (
        ("we serve a chatbot", "under 80 ms", "high", "prompt cache"),
        ("405B", "500M tokens a day"),
    ),
}


@pytest.fixture(scope="module")
def browser() -> str:
    found = card_render.chromium()
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("Chromium is missing in CI: .ci/run installs it (apt-get install chromium)")
        pytest.skip(
            "Chromium is not installed (apt-get install -y chromium); the 375 px check needs it"
        )
    return found


def card(answers: tuple[str, ...], replies: tuple[str, ...]) -> dict:
    return estimate_message(*estimated(answers, replies))


def cost_column(measured: dict) -> tuple[float, list[dict]]:
    """The table's scroll box's right edge and the cells of its cost column."""
    (table,) = measured["tables"]
    header = [cell["text"] for cell in table["rows"][0]]
    (index,) = [i for i, text in enumerate(header) if text.startswith("Cost")]
    return table["scroll_right"], [row[index] for row in table["rows"]]


@pytest.mark.parametrize("case", sorted(CASES))
def test_the_cost_column_shows_at_375_px(case: str, browser: str, tmp_path: Path) -> None:
    message = card(*CASES[case])
    measured = card_render.measure(card_render.to_html(message, WIDTH), tmp_path, WIDTH, browser)
    assert measured["viewport"] == WIDTH
    edge, cells = cost_column(measured)
    assert edge <= WIDTH
    assert len(cells) >= 3  # the header and at least two offerings
    for cell in cells:
        assert cell["right"] <= edge, (case, cell)  # on screen, no sideways scrolling
    (table,) = measured["tables"]
    assert [cell["text"] for cell in table["rows"][0]][1].startswith("Cost")  # second


def test_the_check_catches_a_cost_column_off_screen(browser: str, tmp_path: Path) -> None:
    """The card as it was (five columns, the long cost cell last) measures off screen:
    the check can fail."""
    old = {
        "blocks": [
            {
                "type": "table",
                "column_settings": [{"is_wrapped": True}] + [{"align": "right"}] * 4,
                "rows": [
                    [{"type": "raw_text", "text": text} for text in row]
                    for row in (
                        [
                            "Offering",
                            "Instances",
                            "Wall-clock",
                            "Accelerator-hours",
                            "Cost per run",
                        ],
                        [
                            "p5en.48xlarge (recommended)",
                            "108",
                            "29.9 days",
                            "620,865",
                            "$4.91M (on-demand); $4.98M as a Capacity Block",
                        ],
                    )
                ],
            }
        ]
    }
    measured = card_render.measure(card_render.to_html(old, WIDTH), tmp_path, WIDTH, browser)
    edge, cells = cost_column(measured)
    assert all(cell["right"] > edge for cell in cells)


def test_a_cost_with_a_range_still_shows_at_375_px(
    browser: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Room for the estimate's range: a likely value over its range in the cost cell."""
    from bot.estimate import card as estimate_card

    plain = estimate_card.cost_cell

    def with_range(option: OptionEstimate) -> estimate_card.CostCell:
        cell = plain(option)
        if cell.likely is None:
            return cell
        return estimate_card.CostCell(cell.likely, cell.likely * 0.78, cell.likely * 1.51)

    monkeypatch.setattr(estimate_card, "cost_cell", with_range)
    message = card(*CASES["inference-70B"])
    measured = card_render.measure(card_render.to_html(message, WIDTH), tmp_path, WIDTH, browser)
    edge, cells = cost_column(measured)
    assert any("–" in cell["text"] for cell in cells)
    assert all(cell["right"] <= edge for cell in cells)
