"""The same conversation in a terminal: questions on stdout, answers from stdin."""

from __future__ import annotations

import re
from typing import TextIO

from bot.conversation import (
    Advanced,
    CommandGiven,
    Conversation,
    EstimateAsk,
    EstimateReady,
    HelpWanted,
    NotActive,
    Progress,
    Refused,
    Reprompt,
)
from bot.conversation.recommendation import Recommendation
from bot.conversation.recommendation_text import claim_text, plain, price_lines
from bot.estimate import Estimate
from bot.estimate.cli import describe
from bot.estimate.view import api_line, estimate_price_lines, feature_lines, purchase_line
from bot.flow.compiled import Flow, Question

JUMP = re.compile(r"(?:change|back to|go back to)\s+(\d{1,2})")
HELP = (
    "Type an option's number or name, or a phrase such as '70B' or '80 ms'. "
    "Commands: back, `change N` (back to question N), restart, cancel, help."
)


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
    buy = purchase_line(estimate)
    lines = describe(estimate)
    priced = [
        *estimate_price_lines(estimate, prices_as_of),
        *([buy] if buy else []),
        *([api] if api else []),
        *feature_lines(estimate),
    ]
    return "\n" + "\n".join([*lines[:2], *priced, *lines[2:]])


def _ask(flow: Flow, asked: EstimateAsk) -> str:
    words = flow.words.estimate
    assert words is not None  # an estimate was offered
    follow_up = getattr(words.ask, asked.field)
    lines = [f"   {asked.reason}"] if asked.reason else []
    lines += [f"\n{follow_up.question}", f"   {plain(follow_up.help)}"]
    return "\n".join(lines)


def chat(flow: Flow, stdin: TextIO, stdout: TextIO) -> int:
    """Run one conversation; 0 when it ends with a recommendation or is cancelled."""
    conversation = Conversation.start(flow)

    def say(text: str) -> None:
        print(text, file=stdout, flush=True)

    say(f"{flow.title}. {HELP}")
    while True:
        done = _questions(conversation, stdin, stdout, say)
        if done is not None:
            return done
        recommendation = conversation.recommendation()
        if recommendation is None:
            return 1
        say(format_recommendation(recommendation))
        done = _after_result(conversation, stdin, say)
        if done is not None:
            return done


def _jump(conversation: Conversation, line: str, say) -> bool:
    """`change N` / `back to N`: answer question N again (the answers after it go too).
    False when the line is no such command."""
    found = JUMP.fullmatch(" ".join(line.lower().split()))
    if found is None:
        return False
    number = int(found.group(1))
    if conversation.back(number):
        say(f"   Back to question {number}.")
    else:
        say(
            f"   There is no answer {number} to change; answered so far: "
            f"{len(conversation.record.answers)}."
        )
    return True


def _questions(conversation: Conversation, stdin: TextIO, stdout: TextIO, say) -> int | None:
    """Ask until there is a result (None) or the person stops (an exit status)."""
    while True:
        question = conversation.question()
        if question is None:
            return None
        say(format_question(question, conversation.progress()))
        stdout.write("> ")
        stdout.flush()
        line = stdin.readline()
        if not line:
            say("\nInput ended before the last question was answered; nothing to recommend.")
            return 1
        if _jump(conversation, line, say):
            continue
        result = conversation.answer(line.rstrip("\n"))
        if isinstance(result, Advanced):
            for taken in (result, *result.more):
                note = f" ({taken.answer.note})" if taken.answer.note else ""
                say(f"   -> {taken.question.title} {taken.answer.option}{note}")
        elif isinstance(result, Reprompt):
            say(
                f"   {result.reason} Options: "
                + ", ".join(f"{o.index}) {o.label}" for o in question.options)
            )
        elif isinstance(result, CommandGiven):
            outcome = conversation.run(result.name)
            if isinstance(outcome, HelpWanted):
                say(f"   {question.help}\n   {HELP}")
            elif isinstance(outcome, Refused):
                say(f"   {outcome.reason}")
            elif outcome.name == "restart":
                say("   Starting over.")
            elif outcome.name == "cancel":
                say("Cancelled. Nothing was recommended.")
                return 0
        elif isinstance(result, NotActive):
            return None


def _after_result(conversation: Conversation, stdin: TextIO, say) -> int | None:
    """After the result: `estimate` asks what it still needs, then prints the table;
    `change N`, `back` or `restart` reopen the questions (None)."""
    while line := stdin.readline():
        if _jump(conversation, line, say):
            return None
        result = conversation.answer(line.rstrip("\n"))
        if isinstance(result, CommandGiven) and result.name in ("back", "restart"):
            outcome = conversation.run(result.name)
            if isinstance(outcome, Refused):
                say(f"   {outcome.reason}")
                continue
            return None
        if isinstance(result, CommandGiven) and result.name == "estimate":
            outcome = conversation.run("estimate")
        elif isinstance(result, EstimateAsk | EstimateReady | Refused):
            outcome = result
        else:
            continue
        if isinstance(outcome, Refused):
            say(f"   {outcome.reason}")
        elif isinstance(outcome, EstimateAsk):
            say(_ask(conversation.flow, outcome))
        elif isinstance(outcome, EstimateReady):
            say(
                format_estimate(
                    outcome.estimate, conversation.flow.words.flow.prices_as_of.isoformat()
                )
            )
            return 0
    return 0
