"""Block Kit for the estimate: the follow-up question, and the table of options.

Pure builders like `blocks`; the chart is not drawn here but by the sender, from
`chart_payload`, after the ack.
"""

from __future__ import annotations

from typing import Any

from bot.conversation import EstimateAsk
from bot.estimate import Estimate
from bot.estimate_view import chart_alt_text, headline, job_line, rows
from bot.estimate_view import header as columns
from bot.flow.words import FollowUp
from bot.recommendation import Recommendation
from bot.slack.blocks import context, escape, header, plain, section

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
    cells = [columns(estimate), *rows(estimate)]
    return {
        "type": "table",
        "column_settings": [{"is_wrapped": True}] + [{"align": "right"}] * (len(cells[0]) - 1),
        "rows": [[{"type": "raw_text", "text": cell} for cell in row] for row in cells],
    }


def estimate_message(estimate: Estimate, rec: Recommendation) -> dict:
    """Headline, the table (recommended offering first), the formula and assumptions,
    notes per offering, and the sources as links."""
    top = headline(estimate)
    blocks: list[dict[str, Any]] = [
        header(f"Estimate: {job_line(estimate)}"),
        section(f"*{escape(top)}*"),
        _table(estimate),
        context(f"*Formula:* {escape(estimate.formula)}"),
    ]
    assumptions = " · ".join(escape(n) for n in estimate.assumption_notes)
    blocks.append(context(f"*Assumes* {assumptions}"[:MAX_CONTEXT]))
    notes = [
        f"*{escape(o.instance)}*: {escape(note)}" for o in estimate.options for note in o.notes
    ]
    if estimate.recommended.instances > 1:
        notes += [escape(n.text) for n in rec.notes if n.multi_instance]
    if notes:
        blocks.append(context(*_chunks(notes)))
    urls = [link_for(rec, url) for url in estimate.sources]
    blocks.append(context(("Sources: " + " · ".join(u for u in urls if u))[:MAX_CONTEXT]))
    blocks.append(
        context(
            f"Prices as of {rec.prices_as_of} ({escape(rec.price_basis)}); they drift. An "
            "estimate from published peaks and stated assumptions, not a quote."
        )
    )
    return {"text": escape(f"Estimate: {top}"), "blocks": blocks}


def link_for(rec: Recommendation, url: str) -> str:
    """A source named by its title (the estimate lists several from one site)."""
    source = next((s for s in rec.catalogue.sources.values() if s.url == url), None)
    if source is None:
        return ""
    return f"<{source.url}|{escape(source.title[:80]).replace('|', '/')}>"


def _chunks(lines: list[str]) -> list[str]:
    """Lines joined into at most ten context elements of at most 3,000 characters."""
    chunks: list[str] = []
    for line in lines:
        if chunks and len(chunks[-1]) + len(line) + 1 <= MAX_CONTEXT:
            chunks[-1] += "\n" + line
        else:
            chunks.append(line[:MAX_CONTEXT])
    return chunks[:10]


def chart_payload(estimate: Estimate) -> dict[str, Any]:
    """What the sender needs to draw and upload the chart (JSON, kept in the outbox)."""
    unit = "per run" if estimate.kind == "training" else "per month"
    return {
        "bars": [[o.instance, o.cost if o.fits else None] for o in estimate.options],
        "unit": unit,
        "title": f"Estimated cost {unit}: {job_line(estimate)}"[:120],
        "alt_txt": chart_alt_text(estimate)[:1000],
    }
