"""What a conversation records of an answer, and what each of its moves returns.

Plain values, apart from `Conversation` (bot/conversation/core.py) that makes them: the
application layer (`bot.steps`) decides what to show from these types alone.
`Answer` lives in `bot.conversation.answer` (re-exported here), so that
`bot.conversation.recommendation` reads it without importing this module.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from bot.conversation.answer import Answer
from bot.conversation.answers import CommandName
from bot.estimate import Estimate
from bot.estimate.dialog import EstimateField
from bot.flow.compiled import Question
from bot.flow.words import EstimateKind
from bot.status import Status

if TYPE_CHECKING:  # annotations only
    from bot.conversation.recommendation import Recommendation


@dataclass(frozen=True)
class Progress:
    """Question ``number`` of ``fewest`` to ``most`` along the paths still possible."""

    number: int
    fewest: int
    most: int

    def __str__(self) -> str:
        if self.fewest == self.most:
            return f"Question {self.number} of {self.most}"
        return f"Question {self.number} of up to {self.most}"


@dataclass(frozen=True)
class Advanced:
    """An answer was taken; `answer` is what was recorded. `more`: the answers the same
    reply also gave to the questions after it (see `parse_follow_on`)."""

    answer: Answer
    question: Question
    more: tuple[Advanced, ...] = ()


@dataclass(frozen=True)
class Reprompt:
    """The reply did not choose an option; ask again."""

    question: Question
    reason: str


@dataclass(frozen=True)
class CommandGiven:
    """The reply was a command word (also under a finished result); `Conversation.run`
    carries it out."""

    name: CommandName


@dataclass(frozen=True)
class NotActive:
    """The conversation has ended and the reply was no command; nothing to answer."""

    status: Status


@dataclass(frozen=True)
class Moved:
    """`back`, `restart` or `cancel` changed the conversation."""

    name: CommandName


@dataclass(frozen=True)
class Refused:
    """A command that cannot apply now (nothing to go back to; already ended)."""

    name: CommandName
    reason: str


@dataclass(frozen=True)
class HelpWanted:
    """`help`: the question being asked, if any."""

    question: Question | None


@dataclass(frozen=True)
class EstimateAsk:
    """An estimate needs ``field``: ask for it (``reason`` says why the last reply did not
    give it, on a reprompt)."""

    field: EstimateField
    kind: EstimateKind
    reason: str | None = None
    kept: tuple[str, ...] = ()  # what the reply gave besides, kept (see `ReplyRead`)


@dataclass(frozen=True)
class EstimateReady:
    """Every input is known: the estimate, computed, and the result it belongs to (with
    it), so that nothing computes it again for the same step."""

    estimate: Estimate
    recommendation: Recommendation


EstimateOutcome = EstimateAsk | EstimateReady
AnswerResult = (
    Advanced | Reprompt | CommandGiven | NotActive | EstimateAsk | EstimateReady | Refused
)
CommandOutcome = Moved | Refused | HelpWanted | EstimateAsk | EstimateReady
