"""The App Home tab and the global shortcut: show Home, start a plan in a direct
message (*New plan*, "Plan an LLM workload"), cancel from Home.

Nothing here calls Slack: Home views and the direct message go through the person's
own outbox queue, after the ack."""

from __future__ import annotations

import logging
import re

from slack_bolt import Ack, App

from bot.slack.errors import UNAVAILABLE
from bot.slack.home import CANCEL_ACTION, NEW_PLAN_ACTION, RESUME_ACTION, SHORTCUT_CALLBACK
from bot.slack.inputs import slack_id, trigger_id
from bot.slack.moves import Moves
from bot.slack.people import People

log = logging.getLogger(__name__)
_CONVERSATION_ID = re.compile(r"[0-9a-f]{1,32}")


def register(app: App, moves: Moves, people: People) -> None:
    @app.event("app_home_opened")
    def on_home_opened(body: dict, event: dict) -> None:
        if event.get("tab") != "home":
            return  # the Messages tab: nothing to show
        team = slack_id(body.get("team_id"))
        user = slack_id(event.get("user"))
        key = body.get("event_id")
        if not (team and user and isinstance(key, str) and 0 < len(key) <= 200):
            return
        try:
            people.show_home(team=team, user=user, seen=f"event:{key}")
        except UNAVAILABLE:
            # Not acknowledged as handled: Slack retries the event.
            log.warning("app_home_opened: database unavailable; Slack will retry the event")
            raise

    @app.action(NEW_PLAN_ACTION)
    def on_new_plan(ack: Ack, body: dict) -> None:
        _plan(moves, body, "home")
        ack()

    @app.shortcut(SHORTCUT_CALLBACK)
    def on_shortcut(ack: Ack, body: dict) -> None:
        _plan(moves, body, "shortcut")
        ack()

    @app.action(CANCEL_ACTION)
    def on_cancel(ack: Ack, body: dict, action: dict) -> None:
        team, user = _who(body)
        conversation_id = action.get("value")
        well_formed = isinstance(conversation_id, str) and _CONVERSATION_ID.fullmatch(
            conversation_id
        )
        if team and user and well_formed:
            try:
                people.cancel_from_home(
                    team=team,
                    user=user,
                    conversation_id=conversation_id,
                )
            except UNAVAILABLE:
                log.warning("home cancel: database unavailable", exc_info=True)
        ack()

    @app.action(RESUME_ACTION)
    def on_resume(ack: Ack) -> None:
        ack()  # a link button: Slack opens the thread, the app has nothing to do


def _who(body: dict) -> tuple[str | None, str | None]:
    user = body.get("user")
    team = body.get("team")
    user_id = user.get("id") if isinstance(user, dict) else None
    team_id = team.get("id") if isinstance(team, dict) else None
    if team_id is None and isinstance(user, dict):
        team_id = user.get("team_id")
    return slack_id(team_id), slack_id(user_id)


def _plan(moves: Moves, body: dict, source: str) -> None:
    """Start a plan in the person's direct message with the app, once per trigger."""
    team, user = _who(body)
    trigger = trigger_id(body.get("trigger_id"))
    if not (team and user and trigger):
        log.warning("ignoring a %s request without a well-formed team, user and trigger", source)
        return
    try:
        moves.plan_in_dm(team=team, user=user, key=f"{source}:{trigger}")
    except UNAVAILABLE:
        log.warning("new plan (%s): database unavailable", source, exc_info=True)
