"""Messages about starting a plan: what the slash command's text already answered,
and "Resume or start new?" for a second start while a plan is open."""

from __future__ import annotations

from collections.abc import Sequence

from bot.slack.blocks import (
    RESUME_ACTION,
    START_NEW_ACTION,
    button,
    button_value,
    context,
    escape,
    plain,
    quote,
    section,
)


def took_message(user: str, typed: str, taken: Sequence[tuple[str, str, str | None]]) -> dict:
    """What the text typed with the slash command answered, before the next question."""
    answers = "; ".join(f"{escape(title)} *{escape(chosen)}*" for title, chosen, _ in taken)
    line = f"From {quote(typed)} I took: {answers}."
    blocks = [section(line)]
    notes = [escape(n) for _, _, n in taken if n]
    if notes:
        blocks.append(context(*notes))
    blocks.append(context("*Back* or *Change an answer* undoes a misread."))
    return {"text": plain(f"I took: {answers}."), "blocks": blocks}


def resume_or_new_message(
    conversation_id: str,
    step: int,
    permalink: str | None,
    question: str | None,
    typed: str | None = None,
    command: str = "/llm-cost",
) -> dict:
    """A second start while a plan is open in this channel: resume it or start anew
    (which ends it). Only the person sees it. With ``typed`` (the start's text), how
    to start anew from that text."""
    waiting = f" It is waiting on *{escape(question)}*" if question else ""
    text = f"You have a plan open in this channel.{waiting} Resume it or start a new one?"
    if typed:
        text += (
            f" To start a new one from {quote(typed)}, send `{command} new "
            f"{escape(' '.join(typed.split())[:200])}`."
        )
    value = button_value(conversation_id, step)
    elements = []
    if permalink:
        resume = button("Resume", RESUME_ACTION, value, style="primary")
        resume["url"] = permalink
        elements.append(resume)
    elements.append(button("Start new", START_NEW_ACTION, value))
    if not permalink:
        text += " (Its thread is in this channel, under “Planning an LLM workload”.)"
    return {
        "text": "Resume or start new?",
        "blocks": [section(text), {"type": "actions", "elements": elements}],
    }
