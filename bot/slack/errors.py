"""What a person is told when something outside their control fails."""

from __future__ import annotations

from bot.store.errors import UNAVAILABLE

__all__ = ["TRY_AGAIN", "UNAVAILABLE"]

TRY_AGAIN = (
    "I couldn't save that just now because my database is not answering. "
    "Nothing was changed; please try again in a minute."
)
