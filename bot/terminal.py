"""The same conversation in a terminal: questions on stdout, answers from stdin."""

from __future__ import annotations

from typing import TextIO

from bot.conversation import (
    Advanced,
    CommandGiven,
    Conversation,
    HelpWanted,
    NotActive,
    Progress,
    Recommendation,
    Refused,
    Reprompt,
)
from bot.flow.compiled import Flow, Question

HELP = (
    "Type an option's number or name, or a phrase such as '70B' or '80 ms'. "
    "Commands: back, restart, cancel, help."
)


def format_question(question: Question, progress: Progress) -> str:
    lines = [f"\n{progress.number}. {question.text}  ({progress})", f"   {question.help}"]
    lines += [f"   {o.index}) {o.label}" for o in question.options]
    return "\n".join(lines)


def format_recommendation(rec: Recommendation) -> str:
    lines = [f"\n== Recommendation: {rec.flow_title} =="]
    for item in rec.nodes:
        lines.append(f"\n{item.heading}: {item.node.title}")
        lines += [f"  - {text}" for text in item.node.lines[1:]]
        if item.details:
            lines.append(f"  Offering: {item.details.offering}")
            lines += [f"  * {fact}" for fact in item.details.facts]
            if item.details.price:
                lines.append(f"  Price ({rec.prices_as_of}): {item.details.price}")
            lines += [f"  Caveat: {c}" for c in item.details.caveats]
    lines.append("\nBecause you answered:")
    for answered in rec.answers:
        note = f" ({answered.answer.note})" if answered.answer.note else ""
        lines.append(f"  {answered.question.title} -> {answered.answer.option}{note}")
    lines.append(f"\nPrices: {rec.price_basis}, as of {rec.prices_as_of}; they drift.")
    return "\n".join(lines)


def chat(flow: Flow, stdin: TextIO, stdout: TextIO) -> int:
    """Run one conversation; 0 when it ends with a recommendation or is cancelled."""
    conversation = Conversation.start(flow)

    def say(text: str) -> None:
        print(text, file=stdout, flush=True)

    say(f"{flow.title}. {HELP}")
    while True:
        question = conversation.question()
        if question is None:
            break
        say(format_question(question, conversation.progress()))
        stdout.write("> ")
        stdout.flush()
        line = stdin.readline()
        if not line:
            say("\nInput ended before the last question was answered; nothing to recommend.")
            return 1
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
            break
    recommendation = conversation.recommendation()
    if recommendation is None:
        return 1
    say(format_recommendation(recommendation))
    return 0
