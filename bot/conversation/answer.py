"""What a conversation records of one answer. Its own module: `bot.conversation.recommendation`
and `bot.conversation.outcomes` both read it, and neither imports the other for it."""

from __future__ import annotations

from pydantic import BaseModel, Field


class Answer(BaseModel):
    """One answered question: the decision node, the option chosen, what the person gave
    (``value``: the exact quantity typed, such as 7e10 for "70B", kept for an estimate)."""

    decision: str
    option: str
    text: str = Field(default="", max_length=4000)
    note: str | None = None
    user: str | None = None
    value: float | None = None
