"""The App Home tab: a person's open conversations (a link to each thread, Resume,
Cancel), their recent results, and *New plan*. Pure builders; `bot.slack.people`
gathers what they show."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from bot.slack.blocks import button, context, escape, section
from bot.slack.history import result_text, slack_date, thread_link
from bot.store import HistoryRow

HOME_PREFIX = "llm_cost_home."
NEW_PLAN_ACTION = HOME_PREFIX + "new"
RESUME_ACTION = HOME_PREFIX + "resume"
CANCEL_ACTION = HOME_PREFIX + "cancel"
#: The global shortcut "Plan an LLM workload" (manifest.json).
SHORTCUT_CALLBACK = "plan_llm_workload"
MAX_BLOCKS = 100  # Slack's limit for a Home view
MAX_OPEN = 20
MAX_RESULTS = 10


@dataclass(frozen=True)
class OpenItem:
    """One open conversation as the Home tab lists it."""

    conversation_id: str
    channel: str
    started: datetime
    question: str | None  # the question it waits on
    permalink: str | None


def where(channel: str) -> str:
    """Where a conversation is, in words: a direct message is no channel to mention."""
    return "our direct messages" if channel.startswith("D") else f"<#{channel}>"


def _header(text: str) -> dict:
    return {"type": "header", "text": {"type": "plain_text", "text": text[:150], "emoji": True}}


def _open_blocks(item: OpenItem) -> list[dict]:
    line = f"In {where(item.channel)} · started {slack_date(item.started)}"
    if item.question:
        line += f"\nWaiting on: *{escape(item.question)}*"
    link = thread_link(item.permalink)
    if link:
        line += f"\n{link}"
    moves: list[dict] = []
    if link and item.permalink:
        resume = button("Resume", RESUME_ACTION, item.conversation_id, style="primary")
        resume["url"] = item.permalink
        moves.append(resume)
    cancel = button("Cancel", CANCEL_ACTION, item.conversation_id, style="danger")
    cancel["confirm"] = {
        "title": {"type": "plain_text", "text": "Cancel this plan?"},
        "text": {"type": "plain_text", "text": "Its thread will say it was cancelled."},
        "confirm": {"type": "plain_text", "text": "Cancel it"},
        "deny": {"type": "plain_text", "text": "Keep it"},
    }
    moves.append(cancel)
    return [
        section(line),
        {"type": "actions", "block_id": f"open_{item.conversation_id}", "elements": moves},
    ]


def home_view(
    open_items: Sequence[OpenItem],
    results: Sequence[HistoryRow],
    command: str,
    notice: str | None = None,
) -> dict:
    """The Home view (at most 100 blocks: at most 20 open conversations, 10 results);
    ``notice`` (safe mrkdwn) under its title."""
    new_plan = button("New plan", NEW_PLAN_ACTION, "new", style="primary")
    blocks: list[dict] = [
        _header("LLM Cost Advisor"),
        {
            "type": "section",
            "text": {
                "type": "mrkdwn",
                "text": "Plan the cheapest way to run an LLM workload on AWS: a few "
                "questions, then the instance, and the storage or caching to go with it.",
            },
            "accessory": new_plan,
        },
        context(
            "*New plan* asks the questions in our direct messages. In a channel, type "
            f"`{command}` (invite me there first); anywhere, use the shortcut "
            "*Plan an LLM workload*."
        ),
        {"type": "divider"},
        _header("Your open conversations"),
    ]
    if notice:
        blocks.insert(1, section(notice))
    if open_items:
        for item in open_items[:MAX_OPEN]:
            blocks += _open_blocks(item)
    else:
        blocks.append(context("None open."))
    blocks += [{"type": "divider"}, _header("Your recent results")]
    if results:
        blocks += [
            section(result_text(row, whose=False, place=where(row.channel)))
            for row in results[:MAX_RESULTS]
        ]
        blocks.append(context(f"A channel's results: `{command} history` there."))
    else:
        blocks.append(context("None yet."))
    return {"type": "home", "blocks": blocks[:MAX_BLOCKS]}
