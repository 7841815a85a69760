"""The application layer: what a step does, whatever carries it (Slack or a terminal).

Given a restored `Conversation` and what a person did (a start, a click, a typed
reply, an ending), a step makes the pure move and returns a `Step`: the semantic
messages to show (`bot.steps.messages`) and what to commit. It knows no Slack and no
SQL: `bot.slack.render` turns a step into Block Kit and outbox rows and
`bot.slack.moves` commits it; `bot.cli.terminal` prints it. The words it uses are in
`bot.steps.wording`.
"""

from bot.steps.answering import Action, click, start, typed
from bot.steps.ending import end, expire
from bot.steps.messages import Commit, ResultEffect, Scene, Step

__all__ = [
    "Action",
    "Commit",
    "ResultEffect",
    "Scene",
    "Step",
    "click",
    "end",
    "expire",
    "start",
    "typed",
]
