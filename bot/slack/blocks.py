"""Block Kit builders: pure functions from engine data to message payloads.

Every builder returns {"text": fallback, "blocks": [...]}. Any text that came
from a person, and every flowchart label, is escaped before it goes into mrkdwn.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from bot.conversation import Progress
from bot.conversation.recommendation import Recommendation, RecommendedNode
from bot.conversation.recommendation_text import Sourced, claim, prices
from bot.flow.catalogue import Catalogue
from bot.flow.compiled import Question
from bot.text import clip, short_title

ACTION_PREFIX = "llm_cost."
ANSWER_ACTION = ACTION_PREFIX + "answer."
RESTART_ACTION = ACTION_PREFIX + "restart"
BACK_ACTION = ACTION_PREFIX + "back"
CANCEL_ACTION = ACTION_PREFIX + "cancel"
CHANGE_ACTION = ACTION_PREFIX + "change"
ESTIMATE_ACTION = ACTION_PREFIX + "estimate"
MAX_ECHO = 200  # how much of a person's text we quote back


def escape(text: str) -> str:
    """Escape `&`, `<`, `>` so user text can never form a mention or link."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def quote(text: str) -> str:
    """A person's text, shortened, on one line, escaped, in quotes."""
    flat = " ".join(text.split())
    if len(flat) > MAX_ECHO:
        flat = flat[: MAX_ECHO - 1] + "…"
    return f"“{escape(flat)}”"


def mention(user: str) -> str:
    """A user mention; ids come from Slack's signed payloads, but keep them to id characters."""
    safe = "".join(ch for ch in user if ch.isalnum())
    return f"<@{safe}>"


def button_value(conversation_id: str, step: int, choice: int | str = 0) -> str:
    return f"{conversation_id}:{step}:{choice}"


def section(text: str) -> dict:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text[:3000]}}


def context(*texts: str) -> dict:
    return {
        "type": "context",
        "elements": [{"type": "mrkdwn", "text": t[:3000]} for t in texts[:10]],
    }


def button(text: str, action_id: str, value: str, style: str | None = None) -> dict:
    made = {
        "type": "button",
        "text": {"type": "plain_text", "text": text[:75], "emoji": True},
        "action_id": action_id,
        "value": value,
    }
    if style:
        made["style"] = style
    spoken = spoken_label(text)
    if spoken != text:
        made["accessibility_label"] = spoken[:75]
    return made


_SPOKEN = (
    (re.compile(r"<\s*"), "under "),
    (re.compile(r">\s*"), "over "),
    (re.compile(r"(\d)\s*-\s*(\d)"), r"\1 to \2"),
    (re.compile(r"(\w)\+"), r"\1 or more"),
)


def spoken_label(label: str) -> str:
    """A button label as a screen reader should say it: "Ultra-low under 100ms" for
    "Ultra-low <100ms", "100B or more params" for "100B+ params", "1 to 10B params"."""
    for pattern, words in _SPOKEN:
        label = pattern.sub(words, label)
    return label


HINT = (
    "Or type the answer in this thread (a number, a name, or e.g. `70B`, `80 ms`), "
    "or `back`, `restart`, `cancel`, `help`."
)
DM_HINT = (
    "Or type the answer here (a number, a name, or e.g. `70B`, `80 ms`), "
    "or `back`, `restart`, `cancel`, `help`."
)
START_NEW_ACTION = ACTION_PREFIX + "start_new"
RESUME_ACTION = ACTION_PREFIX + "resume"


def root_message(user: str, flow_title: str, *, dm: bool = False) -> dict:
    """The message that starts a conversation. It mentions nobody: a new post with a
    mention would ping the person who just typed the command (the result's copy, an
    edit, names them later). In a direct message it speaks to the person."""
    title = escape(flow_title)
    if dm:
        return {
            "text": "Let's plan your LLM workload",
            "blocks": [
                section(f"Let's plan your LLM workload with the *{title}* flowchart."),
                context("Answer the questions below; your result comes at the end."),
            ],
        }
    return {
        "text": "Planning an LLM workload",
        "blocks": [
            section(f"Planning an LLM workload with the *{title}* flowchart."),
            context("Answer in the thread :thread: — the result will be pinned here."),
        ],
    }


def ended_root_message(user: str, flow_title: str, what: str, *, dm: bool = False) -> dict:
    """The channel message of a conversation that ended without a result standing:
    what happened (`what`: safe mrkdwn) and how to start again. An edit: the mention
    pings nobody."""
    who = "You were" if dm else f"{mention(user)} was"
    text = f"{who} planning an LLM workload with the *{escape(flow_title)}* flowchart."
    return {
        "text": plain(f"{text} {what}"),
        "blocks": [section(text), context(what)],
    }


def answers_line(answers: Sequence[tuple[int, str, str]]) -> str:
    """Numbered answers on one line: "1. Training or Inference? → *Inference* · 2. …"
    (number, question title, option)."""
    return " · ".join(f"{n}. {escape(title)} → *{escape(option)}*" for n, title, option in answers)


def taken_text(
    answers: Sequence[tuple[int, str, str]], typed: str | None, notes: Sequence[str] = ()
) -> str:
    """What a step took, said after the reply that gave it (safe mrkdwn): with typed
    text, "Took from “…”: 2. Model Size? → *10-100B params*"; every number shown, so
    questions one reply answered together leave no gap in the numbering."""
    line = answers_line(answers)
    text = f"Took from {quote(typed)}: {line}" if typed else f":white_check_mark: {line}"
    if typed and len(answers) > 1:  # a sentence answered more than it was asked
        text += " (*Back* or *Change an answer* undoes a misread)"
    return "\n".join([text, *(f"_{escape(note)}_" for note in notes if note)])


def question_message(
    question: Question,
    conversation_id: str,
    step: int,
    progress: Progress,
    *,
    taken: str | None = None,
    dm: bool = False,
) -> dict:
    """A question with one button per option, where it stands, and Back (from the
    second question on) and Cancel. ``taken`` (safe mrkdwn, see `taken_text`) comes
    first: what the reply before it answered, so the conversation reads top-down."""
    buttons = [
        button(
            option.label,
            f"{ANSWER_ACTION}{option.index}",
            button_value(conversation_id, step, option.index),
        )
        for option in question.options
    ]
    moves = [button("Cancel", CANCEL_ACTION, button_value(conversation_id, step))]
    if progress.number > 1:
        moves.insert(0, button("Back", BACK_ACTION, button_value(conversation_id, step)))
    blocks = [
        section(f"*{progress.number}. {escape(question.text)}*"),
        context(f"{progress} · {escape(question.help)}"),
        {"type": "actions", "block_id": f"q{step}", "elements": buttons[:25]},
        {"type": "actions", "block_id": f"m{step}", "elements": moves},
        context(DM_HINT if dm else HINT),
    ]
    if taken:
        blocks.insert(0, context(taken))
    return {"text": escape(f"{progress}: {question.text}"), "blocks": blocks}


def closed_message(
    question_text: str, number: int | None, what: str, before: str | None = None
) -> dict:
    """A question or result whose buttons no longer apply (answered, went back,
    restarted, cancelled); ``before`` (safe mrkdwn): the answers it was asked after."""
    prefix = f"{number}. " if number is not None else ""
    found = [section(f"*{prefix}{escape(question_text)}*"), context(what)]
    if before:
        found.insert(0, context(before))
    return {"text": f"{prefix}{escape(question_text)} — {plain(what)}", "blocks": found}


def superseded_result_message(rec: Recommendation, what: str) -> dict:
    """A result that no longer stands (an answer changed, or Start over), collapsed to
    one line so the thread's current result is the only full card. `what`: safe mrkdwn."""
    line = f"~Recommendation: {escape(rec.headline)}~"
    return {
        "text": plain(f"Superseded: Recommendation: {rec.headline}. {what}"),
        "blocks": [section(f"*Superseded:* {line}"), context(what)],
    }


def superseded_estimate_message(rec: Recommendation, what: str) -> dict:
    """An estimate made for answers that changed, collapsed; its chart, where it is an
    uploaded file (which cannot be edited) below the card, is marked by this note."""
    text = (
        f"*Superseded estimate* for {escape(rec.headline)}: the answers changed, so this "
        "estimate and its chart no longer apply."
    )
    return {"text": plain(text), "blocks": [section(text), context(what)]}


def revising_root_message(rec: Recommendation, user: str, permalink: str | None) -> dict:
    """The pinned channel copy while its result is being revised: it says the earlier
    headline no longer stands, so the pin never shows an answer that changed."""
    title = f"Being revised (was: {rec.headline})"
    where = f"<{permalink}|the thread>" if permalink else "this message's thread"
    return {
        "text": escape(title),
        "blocks": [
            header(title),
            context(f"For {mention(user)} · an answer is being changed in {where}."),
        ],
    }


def reprompt_message(question: Question, reason: str, typed: str | None = None) -> dict:
    """A typed reply we could not read: why, and the options."""
    options = "\n".join(f"{o.index}. {escape(o.label)}" for o in question.options)
    heard = f"I read {quote(typed)}: " if typed else ""
    text = f"{heard}{escape(reason)}\nReply with one of:\n{options}"
    return {
        "text": escape(f"{reason} Reply with one of the options."),
        "blocks": [section(text), context(HINT)],
    }


def help_message(question: Question | None, command: str) -> dict:
    lines = [f"*{escape(question.text)}*\n{escape(question.help)}"] if question else []
    lines.append(HELP_TEXT.format(command=command))
    return {"text": "How to answer", "blocks": [section("\n\n".join(lines))]}


HELP_TEXT = (
    "*How this works:* `{command}` starts a thread that asks one question per step of the "
    "LLM cost-optimisation flowchart, then posts and pins the recommendation.\n"
    "• Answer with the buttons, or type in the thread: an option's number or name, or a "
    "phrase such as `we fine-tune a 70B model` or `p99 under 80 ms`.\n"
    "• `back` changes the last answer, `restart` starts over, `cancel` stops.\n"
    "• `{command} history` shows this channel's recent results (`history mine`: only "
    "yours; `history 2`: older ones); `{command} cancel` ends your open conversation here.\n"
    "• The app's Home tab lists your open plans and results; its *New plan*, and the "
    "shortcut *Plan an LLM workload*, start one in a direct message with me."
)


def note_message(text: str) -> dict:
    """A short note; `text` must already be safe mrkdwn."""
    return {"text": plain(text), "blocks": [section(text)]}


def plain(mrkdwn: str) -> str:
    """Safe mrkdwn without its formatting marks, for a notification's fallback text
    (notifications show `*`, `_` and backticks as they are)."""
    return mrkdwn.replace("*", "").replace("`", "").replace(" _", " ").replace("_ ", " ")


def link(catalogue: Catalogue, key: str | None) -> str:
    """A source as a link named by its page, cut at a word: <https://…|Amazon EBS pricing>
    (a bare host name, "aws.amazon.com", says nothing about what the page states)."""
    if key is None or key not in catalogue.sources:
        return ""
    source = catalogue.sources[key]
    return f"<{source.url}|{escape(short_title(source.title, MAX_LINK_NAME)).replace('|', '/')}>"


MAX_LINK_NAME = 60


def _sourced(item: Sourced, catalogue: Catalogue) -> str:
    found = link(catalogue, item.source)
    return f"{escape(item.text)} {found}" if found else escape(item.text)


def _node_blocks(item: RecommendedNode, catalogue: Catalogue) -> list[dict]:
    """The offering with its sourced facts and prices; then the flowchart's own words,
    each claim with its caveat on the same line."""
    lines = [f"*{escape(item.heading)}: {escape(item.offering)}*"]
    if item.details:
        lines += [f"• {_sourced(Sourced(f.text, f.source), catalogue)}" for f in item.details.facts]
    lines += [f"• {_sourced(p, catalogue)}" for p in prices(item, catalogue)]
    blocks = [section("\n".join(lines))]
    said = [_sourced(claim(item, line), catalogue) for line in item.node.lines[1:] if line]
    flowchart = f"Flowchart: *{escape(item.node.title)}*"
    blocks.append(context(" · ".join([flowchart, *said])))
    return blocks


def _note_blocks(rec: Recommendation) -> list[dict]:
    return [
        context(
            ":information_source: "
            + escape(note.text)
            + "".join(f" {link(rec.catalogue, key)}" for key in note.sources)
        )
        for note in rec.notes
    ]


def recommendation_message(
    rec: Recommendation,
    conversation_id: str | None = None,
    step: int | None = None,
    user: str | None = None,
    footer: str | None = None,
) -> dict:
    """The result; with `conversation_id` and `step` it carries Start over / Change an
    answer (and *Estimate the cost* until there is an estimate). `footer` (safe mrkdwn)
    says what happened to a result that no longer applies."""
    blocks: list[dict] = [header(f"Recommendation: {rec.headline}")]
    if user:
        blocks.append(context(f"For {mention(user)} · {escape(rec.flow_title)}"))
    for item in rec.nodes:
        blocks += _node_blocks(item, rec.catalogue)
        blocks.append({"type": "divider"})
    blocks += _note_blocks(rec)
    blocks.append(section("*Because you answered*\n" + "\n".join(_answer_lines(rec))))
    blocks.append(
        context(f"Prices: {escape(rec.price_basis)}, as of {rec.prices_as_of}; they drift.")
    )
    if footer:
        blocks.append(context(footer))
    if conversation_id is not None and step is not None:
        elements = [
            button("Start over", RESTART_ACTION, button_value(conversation_id, step)),
            _change_menu(rec, conversation_id, step),
        ]
        if rec.estimate_kind and rec.estimate is None:
            elements.insert(
                0,
                button(
                    "Estimate the cost",
                    ESTIMATE_ACTION,
                    button_value(conversation_id, step),
                    style="primary",
                ),
            )
        blocks.append({"type": "actions", "block_id": f"r{step}", "elements": elements})
    return {"text": escape(f"Recommendation: {rec.headline}"), "blocks": blocks[:50]}


def result_root_message(
    rec: Recommendation, user: str, permalink: str | None = None, *, expired: bool = False
) -> dict:
    """The channel's copy of a result (the pinned message): the headline, whose it is and
    what they answered, and a link to the thread, where the full card lives. It
    promises an estimate only where one is or can still be made (not once expired)."""
    answers = " · ".join(escape(a.answer.option) for a in rec.answers)
    if rec.estimate is not None:
        what = "Details, sources and the estimate are"
    elif expired or not rec.estimate_kind:
        what = "Details and sources are"
    else:
        what = "Details and sources (and an estimate, on request) are"
    details = (
        f"<{permalink}|{what} in the thread>" if permalink else f"{what} in this message's thread."
    )
    if expired and rec.estimate is None:
        details += " This plan expired; for an estimate, start a new one."
    title = f"Recommendation: {rec.headline}"
    return {
        "text": escape(title),
        "blocks": [header(title), context(f"For {mention(user)} · {answers}"), context(details)],
    }


def header(text: str) -> dict:
    """A header; one over Slack's 150 characters is cut at a word, with an ellipsis."""
    return {
        "type": "header",
        "text": {"type": "plain_text", "text": clip(text, 150), "emoji": True},
    }


def _change_menu(rec: Recommendation, conversation_id: str, step: int) -> dict:
    """*Change an answer*: a menu of the answered questions; choosing one asks it again."""
    options = [
        {
            "text": {"type": "plain_text", "text": f"{i}. {a.question.title}"[:75], "emoji": True},
            "value": button_value(conversation_id, step, i),
        }
        for i, a in enumerate(rec.answers[:100], start=1)
    ]
    return {
        "type": "static_select",
        "action_id": CHANGE_ACTION,
        "placeholder": {"type": "plain_text", "text": "Change an answer", "emoji": True},
        "options": options,
    }


def _answer_lines(rec: Recommendation) -> Iterable[str]:
    for answered in rec.answers:
        line = f"• {escape(answered.question.title)} → *{escape(answered.answer.option)}*"
        if answered.answer.note:
            line += f" _({escape(answered.answer.note)})_"
        yield line
