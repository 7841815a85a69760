"""The estimate's bar chart as Slack's own `data_visualization` block, where it shows the
estimate as well as the PNG does.

Slack added the block in 2026 (docs.slack.dev/reference/block-kit/blocks/
data-visualization-block, read 2026-12-04): a title of at most 50 characters, and for a
bar chart 1-6 series of {label, value} points over `axis_config.categories` (each
category at most 20 characters), optional axis labels of at most 50. It draws a linear
axis and no text on the bars; a value must be a number; a message holds at most two
such blocks (found by vercel/chat, not documented). slack_sdk 3.48 has no model for it.

So the native chart is used only when it says everything the PNG would: every offering
has a cost (a number series cannot say "does not fit"), the costs are within ten times
of each other (`bot.estimate.chart.LOG_ABOVE`: a linear axis then shows every bar; beyond it the
PNG goes logarithmic), every name fits a category, and the title names the flowchart's
pick in words. Otherwise, and in workspaces where the block is not enabled
(`SLACK_NATIVE_CHARTS`, off by default), the sender uploads the PNG. Clients that
predate the block show Slack's placeholder for it; the table above has every number.
"""

from __future__ import annotations

from typing import Any

from bot.estimate import Estimate, card
from bot.estimate.chart import LOG_ABOVE

BLOCK = "data_visualization"
MAX_TITLE, MAX_CATEGORY, MAX_AXIS_LABEL, MAX_CATEGORIES = 50, 20, 50, 20


def native_chart(estimate: Estimate) -> dict[str, Any] | None:
    """A `data_visualization` bar chart of the card's rows, or None where the PNG shows
    the estimate better."""
    if card.traffic_curve(estimate) is not None:
        return None  # the PNG's cost-against-traffic panel has no native equivalent
    rows = card.card_rows(estimate)
    costs = [r.cost.likely for r in rows]
    if not rows or len(rows) > MAX_CATEGORIES or any(c is None or c <= 0 for c in costs):
        return None
    values = [float(c) for c in costs if c is not None]
    if max(values) / min(values) > LOG_ABOVE:
        return None
    names = [r.option.instance for r in rows]
    if any(len(name) > MAX_CATEGORY for name in names) or len(set(names)) != len(names):
        return None
    unit = card.unit(estimate)
    title = f"Cost {unit} (pick: {estimate.recommended.instance})"
    if len(title) > MAX_TITLE:
        return None
    series_name = f"Cost {unit}"
    return {
        "type": BLOCK,
        "title": title,
        "chart": {
            "type": "bar",
            "series": [
                {
                    "name": series_name,
                    "data": [
                        {"label": n, "value": round(v)} for n, v in zip(names, values, strict=True)
                    ],
                }
            ],
            "axis_config": {
                "categories": names,
                "x_label": "Offering, cheapest first",
                "y_label": f"US dollars {unit}",
            },
        },
    }


def has_native_chart(message: dict[str, Any]) -> bool:
    return any(block.get("type") == BLOCK for block in message.get("blocks", []))
