"""The words people read about a step that are not a question's or a result's own
(those come from `flows/`): refusals, endings, what a move did. One place for the
Slack app and the terminal.

Texts are safe to show as they are: a person's name comes from the transport's
``name`` (Slack: a mention), commands are in backticks.
"""

from __future__ import annotations

from bot.status import Status

REPLACED = "Replaced by a newer conversation."
ENDED = {
    Status.CANCELLED: "This conversation was cancelled.",
    Status.EXPIRED: "This conversation expired after being idle.",
}
ALREADY_ANSWERED = "That was already answered; the thread shows the current question."
SAME_MOMENT = "Someone answered at the same moment; the thread shows the current question."
ANSWERED_BELOW = "Answered below."
CANCELLED_UNNAMED = "This plan was cancelled."
CANCELLED_HERE = "Cancelled your conversation in this channel."

# The terminal's own lines (`python -m bot chat`).
CHAT_HELP = (
    "Type an option's number or name, or a phrase such as '70B' or '80 ms'. "
    "Commands: back, `change N` (back to question N), restart, cancel, help."
)
CHAT_RESTARTED = "Starting over."
CHAT_CANCELLED = "Cancelled. Nothing was recommended."
CHAT_INPUT_ENDED = "\nInput ended before the last question was answered; nothing to recommend."


def ended(status: Status, command: str) -> str:
    """What to tell someone acting on a conversation that has ended."""
    return f"{ENDED[status]} Start a new one with `{command}`."


def nothing_open(command: str) -> str:
    """A cancel with no conversation open here."""
    return f"You have no open conversation in this channel. Start one with `{command}`."


def only_starter(starter: str, command: str) -> str:
    """Someone else's conversation (``starter``: their name)."""
    return f"Only {starter} can answer this one. Start your own with `{command}`."


def cancelled(who: str, private: bool) -> str:
    """How a cancel is told: edited into the open question (never a new post, so a name
    pings nobody); in a direct message, to the person."""
    return "You cancelled this plan." if private else f"Cancelled by {who}."


def start_again(what: str, command: str) -> str:
    """An ending, with how to start again."""
    return f"{what} Start again any time with `{command}`."


def moved(move: str, who: str) -> str:
    """What a `back` or `restart` did, said where the thread changed."""
    return f"{who} went back to change an answer." if move == "back" else f"{who} started over."


def moved_head(move: str) -> str:
    """The same, heading the question asked again; it names nobody (posted under a
    typed reply, a name would ping the person who typed it)."""
    return "Went back to change an answer." if move == "back" else "Started over."


def chat_back_to(number: int) -> str:
    return f"Back to question {number}."


def chat_no_answer(number: int, answered: int) -> str:
    return f"There is no answer {number} to change; answered so far: {answered}."
