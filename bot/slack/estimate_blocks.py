"""Block Kit for the estimate: the follow-up question, and the card (`bot.estimate.card`).

Pure builders like `blocks`; the PNG chart is not drawn here but by the sender, from
`chart_payload`, after the ack (unless the card carries Slack's own chart).
"""

from __future__ import annotations

from typing import Any

from bot.conversation import EstimateAsk
from bot.conversation.recommendation import Recommendation
from bot.estimate import Estimate, card
from bot.estimate.chart import Bar, CostChart
from bot.estimate.view import (
    api_line,
    cheaper_alternative,
    estimate_price_lines,
    feature_lines,
    headline,
    job_line,
    purchase_line,
    serving_line,
)
from bot.flow.words import FollowUp
from bot.slack import native_chart as charts
from bot.slack.blocks import context, escape, header, plain, section
from bot.text import clip

MAX_CONTEXT = 3000


def estimate_question_message(follow_up: FollowUp, asked: EstimateAsk) -> dict:
    """A follow-up question of the estimate; answered by typing in the thread."""
    text = f"*{escape(follow_up.question)}*"
    return {
        "text": plain(text),
        "blocks": [
            section(text),
            context(
                f"{follow_up.help} Type it in this thread; `restart` starts over.",
            ),
        ],
    }


def estimate_reprompt_message(follow_up: FollowUp, reason: str) -> dict:
    text = f"{reason} {follow_up.help}"
    return {"text": plain(text), "blocks": [section(text)]}


def _table(estimate: Estimate) -> dict:
    """Four columns, cost second, cheapest first: at 375 px the offering and its cost
    show without scrolling sideways (tests/slack/test_card_width.py)."""
    cells = card.table(estimate)
    return {
        "type": "table",
        "column_settings": [{"is_wrapped": True}] + [{"align": "right"}] * (len(cells[0]) - 1),
        "rows": [[{"type": "raw_text", "text": cell} for cell in row] for row in cells],
    }


def estimate_message(estimate: Estimate, rec: Recommendation, native_chart: bool = False) -> dict:
    """The headline, the table and which prices it uses; with ``native_chart``, Slack's own
    bar chart where it shows the estimate as well as the PNG would (`native_chart`); then,
    folded under "How this was calculated", the formula, the assumptions, each offering's
    details and notes, and the sources named for what they prove."""
    top = headline(estimate)
    price = " ".join(
        [
            escape(card.price_note(estimate)),
            *(escape(line) for line in estimate_price_lines(estimate, rec.prices_as_of)),
            "An estimate, not a quote.",
        ]
    ).strip()
    api = api_line(estimate)
    buy = purchase_line(estimate)
    chart = charts.native_chart(estimate) if native_chart else None
    cheaper = cheaper_alternative(estimate)
    serving = serving_line(estimate)
    blocks: list[dict[str, Any]] = [
        header(f"Estimate: {job_line(estimate)}"),
        {**section(f"*{escape(top)}*"), "expand": True},  # never folded: it is the answer
        *([context(escape(cheaper))] if cheaper else []),
        _table(estimate),
        context(price),
        *([context(escape(buy))] if buy else []),
        *([context(f"*Serving configuration:* `{escape(serving)}`")] if serving else []),
        *([context(escape(" ".join([api, *feature_lines(estimate)])))] if api else []),
        *([chart] if chart else []),
        *how_calculated(estimate, rec),
    ]
    return {"text": escape(f"Estimate: {top}"), "blocks": blocks}


HOW = "How this was calculated"


def how_calculated(estimate: Estimate, rec: Recommendation) -> list[dict]:
    """Sections whose text Slack shows folded ("Show more", by rendered height) unless
    opened: the first line names them, the rest is the working. Each at most 3,000
    characters. Folded in the message rather than a modal behind a button: the working
    stays with the numbers it explains, in history and search, and needs no trigger_id
    (3 s) nor a lookup of an estimate that a later answer may have replaced."""
    working = [f"*{HOW}*", f"*Formula:* {escape(estimate.formula)}", "*Assumptions*"]
    working += [f"• {escape(n)}" for n in estimate.assumption_notes]
    working.append("*Each offering*")
    working += [f"• {escape(line)}" for line in card.details(estimate)]
    if estimate.recommended.instances > 1:
        working += [f"• {escape(n.text)}" for n in rec.notes if n.multi_instance]
    sources = ["*Sources*, named for what each page states"]
    sources += [
        f"• {_link(what, url)}" for what, url in card.named_sources(estimate, rec.catalogue)
    ]
    texts = _chunks(working) + _chunks(sources)
    return [{**section(text), "expand": False} for text in texts[:6]]


def _link(what: str, url: str) -> str:
    return f"<{url}|{escape(what).replace('|', '/')}>"


def link_for(rec: Recommendation, url: str) -> str:
    """A source named by its title, cut at a word (for pages not tied to one number)."""
    source = next((s for s in rec.catalogue.sources.values() if s.url == url), None)
    if source is None:
        return ""
    return _link(clip(source.title, 80), source.url)


def _chunks(lines: list[str]) -> list[str]:
    """Lines joined into texts of at most 3,000 characters, never split inside a line."""
    chunks: list[str] = []
    for line in lines:
        if chunks and len(chunks[-1]) + len(line) + 1 <= MAX_CONTEXT:
            chunks[-1] += "\n" + line
        else:
            chunks.append(clip(line, MAX_CONTEXT))
    return chunks


def chart_payload(estimate: Estimate) -> dict[str, Any]:
    """What the sender needs to draw and upload the chart (JSON, kept in the outbox):
    the card's rows in the card's order and words."""
    bars = tuple(
        Bar(r.offering, r.cost.likely, r.cost.missing, r.option.recommended)
        for r in card.card_rows(estimate)
    )
    curve = card.traffic_curve(estimate)
    chart = CostChart(bars, card.unit(estimate), card.chart_title(estimate), curve)
    alt = card.alt_text(estimate) + (f" {curve.alt_text()}" if curve else "")
    return {**chart.to_payload(), "alt_txt": clip(alt, 1000)}
