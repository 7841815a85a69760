"""What a step says and commits, as plain values: the plan a transport renders.

Each message names what it means ("ask this question in place of the one answered",
"the result no longer stands"), not how it looks: `bot.slack.render` turns a plan
into Block Kit and outbox rows (and alone knows the messages' names there), and
`bot.cli.terminal` prints one as text. Texts in them (``why``, ``text``) are already
worded (`bot.steps.wording`), safe to show as they are.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from bot.conversation.outcomes import EstimateAsk, Progress
from bot.conversation.recommendation import Recommendation
from bot.estimate import Estimate
from bot.flow.compiled import Question
from bot.flow.words import FollowUp
from bot.status import Status

#: (number, question title, option chosen): an answer as a thread lists it.
Answered = tuple[int, str, str]


class Pinned(Protocol):
    """A person's pinned result in a channel: its conversation and channel message."""

    @property
    def conversation_id(self) -> str: ...

    @property
    def thread_ts(self) -> str | None: ...


@dataclass(frozen=True)
class Scene:
    """Where and by whom a step is made: what the pure move needs besides the
    conversation. ``name`` says a person's name in words (Slack: a mention).
    ``pinned`` is asked, only when a step in a channel shows or ends a result, which
    result of the starter is pinned there. ``stored``: the status the store holds,
    which says when it ended the conversation behind its record's back (expiry).
    ``private``: a direct message, where the conversation speaks to the person and
    pins nothing."""

    conversation_id: str
    starter: str
    actor: str
    command: str
    name: Callable[[str], str]
    private: bool = False
    anyone_answers: bool = False
    pinned: Callable[[], Pinned | None] = lambda: None
    stored: Status | None = None

    @property
    def may_answer(self) -> bool:
        return self.anyone_answers or self.actor == self.starter


# -- in the conversation, for everyone -------------------------------------------------------


@dataclass(frozen=True)
class Greet:
    """The conversation's first message (in a channel: the message its thread hangs on)."""

    title: str


@dataclass(frozen=True)
class Took:
    """What the text typed with the start already answered: (title, option, note)."""

    typed: str
    taken: tuple[tuple[str, str, str | None], ...]


@dataclass(frozen=True)
class Head:
    """What comes before a question: the answers so far or just taken, with the typed
    text that gave them (None: a click) and their notes, or after a lead ("Started
    over.")."""

    answers: tuple[Answered, ...]
    typed: str | None = None
    notes: tuple[str, ...] = ()
    lead: str | None = None


@dataclass(frozen=True)
class Ask:
    """The current question, posted, or in place of the question of step ``replaces``
    (a click answered it: nothing was said under it)."""

    question: Question
    step: int
    progress: Progress
    head: Head | None = None
    replaces: int | None = None


@dataclass(frozen=True)
class CloseQuestion:
    """The question of ``step`` loses its buttons and says ``why`` (safe text);
    ``before``: the answers it was asked after."""

    step: int
    text: str
    number: int
    why: str
    before: tuple[Answered, ...] = ()


@dataclass(frozen=True)
class ShowResult:
    """The result, posted or in place of the question of step ``replaces``; in a
    channel its copy becomes the conversation's first message."""

    recommendation: Recommendation
    step: int
    replaces: int | None = None


@dataclass(frozen=True)
class Pin:
    """Pin the conversation's first message (the result's copy)."""


@dataclass(frozen=True)
class Unpin:
    """Take a result down: this conversation's (``thread_ts`` None) or the starter's
    older one in the same channel."""

    thread_ts: str | None = None


@dataclass(frozen=True)
class Supersede:
    """Going back from the result of ``step``: it (and its estimate) no longer stand,
    and the pinned copy says the result is being revised."""

    recommendation: Recommendation
    step: int
    why: str


@dataclass(frozen=True)
class EndRoot:
    """The first message says how the conversation ended (``why``, safe text)."""

    title: str
    why: str


@dataclass(frozen=True)
class Tell:
    """A short line in the conversation (safe text)."""

    text: str


@dataclass(frozen=True)
class AskEstimate:
    """The estimate's follow-up question."""

    follow_up: FollowUp
    asked: EstimateAsk


@dataclass(frozen=True)
class ShowEstimate:
    """The estimate of the result of ``step``, and that result's headline with its cost."""

    estimate: Estimate
    recommendation: Recommendation
    step: int


@dataclass(frozen=True)
class Chart:
    """The estimate as a chart (last: the slowest to send)."""

    estimate: Estimate


@dataclass(frozen=True)
class CloseResult:
    """The result of ``step`` loses its buttons and says ``why``; its copy says it
    expired."""

    recommendation: Recommendation
    step: int
    why: str


# -- for the person who acted, alone ---------------------------------------------------------


@dataclass(frozen=True)
class Note:
    """A short private note (safe text): refused, stale, ended."""

    text: str


@dataclass(frozen=True)
class Reprompt:
    """A reply that chose no option: why, and the options (``typed``: what was read)."""

    question: Question
    reason: str
    typed: str | None = None


@dataclass(frozen=True)
class Help:
    """How to answer (``question``: the one asked now, if any)."""

    question: Question | None


@dataclass(frozen=True)
class RepromptEstimate:
    """A reply to the estimate's question that did not give what it asked."""

    follow_up: FollowUp
    reason: str


Message = (
    Greet
    | Took
    | Ask
    | CloseQuestion
    | ShowResult
    | Pin
    | Unpin
    | Supersede
    | EndRoot
    | Tell
    | AskEstimate
    | ShowEstimate
    | Chart
    | CloseResult
    | Note
    | Reprompt
    | Help
    | RepromptEstimate
)


# -- what to commit ----------------------------------------------------------------------


@dataclass(frozen=True)
class ResultEffect:
    """What the step does to the result in history: ``keeps_time`` (an estimate added:
    the result keeps the moment it was reached), ``drop`` (cancelled: it leaves
    history), ``pinned`` (True: now the starter's one pinned result in the channel;
    False: taken down; None: no change)."""

    keeps_time: bool = False
    drop: bool = False
    pinned: bool | None = None


@dataclass(frozen=True)
class Commit:
    """The conversation's new record, its status, the result's summary for history
    (None: no result, or the one stored stands), and what happens to the result."""

    record: dict
    status: Status
    summary: dict | None = None
    result: ResultEffect = field(default_factory=lambda: ResultEffect(keeps_time=True))


@dataclass(frozen=True)
class Step:
    """A step's messages in the order they must be shown, and its commit: None when the
    conversation did not change (a note, a reprompt: the messages go on their own)."""

    says: tuple[Message, ...] = ()
    commit: Commit | None = None
