"""The same conversation in a terminal: questions on stdout, answers from stdin.

Each line goes through the application layer (`bot.steps`), as a Slack reply does;
the step's messages are printed as text (`Printer`). What only the terminal has is
here: `change N` and the loop's end (an estimate shown, a cancel, input ended).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TextIO

from bot import steps
from bot.conversation import Conversation, Progress, Status
from bot.conversation.recommendation import Recommendation
from bot.conversation.recommendation_text import claim_text, plain, price_lines
from bot.estimate import Estimate
from bot.estimate.cli import describe
from bot.estimate.view import api_line, estimate_price_lines, feature_lines, purchase_line
from bot.flow.compiled import Flow, Question
from bot.flow.words import FollowUp
from bot.steps import Scene, Step, wording
from bot.steps.messages import (
    Ask,
    AskEstimate,
    CloseQuestion,
    Help,
    Note,
    Reprompt,
    RepromptEstimate,
    ShowEstimate,
    ShowResult,
)

JUMP = re.compile(r"(?:change|back to|go back to)\s+(\d{1,2})")
HELP = wording.CHAT_HELP
ME = "you"  # the one person at the terminal


def format_question(question: Question, progress: Progress) -> str:
    lines = [f"\n{progress.number}. {question.text}  ({progress})", f"   {question.help}"]
    lines += [f"   {o.index}) {o.label}" for o in question.options]
    return "\n".join(lines)


def format_recommendation(rec: Recommendation) -> str:
    lines = [f"\n== Recommendation: {rec.headline} ==", f"({rec.flow_title})"]
    for item in rec.nodes:
        lines.append(f"\n{item.heading}: {item.offering}")
        for line in item.node.lines[1:]:
            lines.append(f"  Flowchart: {item.node.title} - {claim_text(item, line)}")
        for fact in item.details.facts if item.details else ():
            lines.append(f"  * {fact.text} [{rec.catalogue.url(fact.source)}]")
        lines += [f"  Price: {p}" for p in price_lines(item, rec.catalogue)]
    for note in rec.notes:
        urls = " ".join(f"[{rec.catalogue.url(k)}]" for k in note.sources)
        lines.append(f"\nNote: {note.text} {urls}")
    lines.append("\nBecause you answered:")
    for answered in rec.answers:
        note = f" ({answered.answer.note})" if answered.answer.note else ""
        lines.append(f"  {answered.question.title} -> {answered.answer.option}{note}")
    lines.append(f"\nPrices: {rec.price_basis}, as of {rec.prices_as_of}; they drift.")
    if rec.estimate_kind and rec.estimate is None:
        lines.append("Type `estimate` for how many instances, how long and what it costs.")
    return "\n".join(lines)


def format_estimate(estimate: Estimate, prices_as_of: str) -> str:
    """The estimate as the CLI prints it (ending with its table), with which prices it
    used and the API alternative under the headline."""
    api = api_line(estimate)
    lines = describe(estimate)
    buy = purchase_line(estimate)
    priced = [
        *estimate_price_lines(estimate, prices_as_of),
        *([buy] if buy else []),
        *([api] if api else []),
        *feature_lines(estimate),
    ]
    return "\n" + "\n".join([*lines[:2], *priced, *lines[2:]])


def _follow_up(follow_up: FollowUp, reason: str | None = None) -> str:
    """The estimate's question (after why the last reply did not answer it)."""
    lines = [f"   {reason}"] if reason else []
    lines += [f"\n{follow_up.question}", f"   {plain(follow_up.help)}"]
    return "\n".join(lines)


class Printer:
    """A step's messages as terminal text. Messages about the thread itself (its
    first message, pins, superseded marks) have no place here and print nothing."""

    def __init__(self, conversation: Conversation, say: Callable[[str], None]) -> None:
        self.conversation = conversation
        self.say = say
        self.asked = False  # the last step printed the question open now
        self.estimated = False

    def show(self, step: Step) -> None:
        self.asked = False
        for message in step.says:
            self._one(message)

    def question(self) -> None:
        question = self.conversation.question()
        if question is not None:
            self.say(format_question(question, self.conversation.progress()))

    def _one(self, message: object) -> None:
        say = self.say
        if isinstance(message, Ask):
            if message.head is not None and message.head.lead == wording.moved_head("restart"):
                say(f"   {wording.CHAT_RESTARTED}")
            self.question()
            self.asked = True
        elif isinstance(message, CloseQuestion) and message.why == wording.ANSWERED_BELOW:
            self._taken(message.number)
        elif isinstance(message, Reprompt):
            options = ", ".join(f"{o.index}) {o.label}" for o in message.question.options)
            say(f"   {message.reason} Options: {options}")
        elif isinstance(message, Help):
            said = [f"   {message.question.help}"] if message.question else []
            say("\n".join([*said, f"   {HELP}"]))
        elif isinstance(message, Note):
            say(f"   {message.text}")
        elif isinstance(message, ShowResult):
            say(format_recommendation(message.recommendation))
        elif isinstance(message, AskEstimate):
            say(_follow_up(message.follow_up))
        elif isinstance(message, RepromptEstimate):
            say(_follow_up(message.follow_up, message.reason))
        elif isinstance(message, ShowEstimate):
            prices_as_of = self.conversation.flow.words.flow.prices_as_of.isoformat()
            say(format_estimate(message.estimate, prices_as_of))
            self.estimated = True

    def _taken(self, number: int) -> None:
        """What a reply answered, from question ``number`` on."""
        questions = self.conversation.flow.questions
        for answer in self.conversation.record.answers[number - 1 :]:
            title = questions[answer.decision].title
            note = f" ({answer.note})" if answer.note else ""
            self.say(f"   -> {title} {answer.option}{note}")


def chat(flow: Flow, stdin: TextIO, stdout: TextIO) -> int:
    """Run one conversation; 0 when it ends with a recommendation (or its estimate) or
    is cancelled, 1 when the input ends before a result."""
    conversation = Conversation.start(flow)
    scene = Scene("terminal", ME, ME, "python -m bot chat", name=lambda _: "You", private=True)

    def say(text: str) -> None:
        print(text, file=stdout, flush=True)

    say(f"{flow.title}. {HELP}")
    printer = Printer(conversation, say)
    printer.show(steps.start(conversation, scene))
    while True:
        if conversation.question() is not None:
            if not printer.asked:  # asked again after a reprompt, help or a refusal
                printer.question()
            stdout.write("> ")
            stdout.flush()
        line = stdin.readline()
        if not line:
            if conversation.question() is None:
                return 0
            say(wording.CHAT_INPUT_ENDED)
            return 1
        step = _jump(conversation, scene, line, say)
        if step is None:
            step = steps.typed(conversation, scene, line.rstrip("\n"))
        printer.show(step)
        if conversation.status is Status.CANCELLED:
            say(wording.CHAT_CANCELLED)
            return 0
        if printer.estimated:
            return 0


def _jump(conversation: Conversation, scene: Scene, line: str, say) -> Step | None:
    """`change N` / `back to N`: answer question N again (the answers after it go too),
    as Slack's *Change an answer* does. None when the line is no such command."""
    found = JUMP.fullmatch(" ".join(line.lower().split()))
    if found is None:
        return None
    number = int(found.group(1))
    answered = len(conversation.record.answers)
    if not 1 <= number <= answered:
        say(f"   {wording.chat_no_answer(number, answered)}")
        return Step()
    say(f"   {wording.chat_back_to(number)}")
    return steps.click(conversation, scene, "change", conversation.step, number)
