"""Payload shapes checked before Bolt routes a request: a 400, never an ERROR line.

Bolt indexes into what Slack sends (``body["actions"][0]["action_id"]``,
``body["event"]["type"]``) to find a listener. A signed body of another shape
(``actions=[null]``, ``event="x"``, a number where an id goes) made it raise inside
its matchers, and the app's error handler logged an ERROR for what is only a bad
request. :class:`ShapeCheckingApp` refuses such bodies before Bolt's own middleware
(its authorization step reads ``body["event"]`` too) with a 400, one WARNING line
(rate limited, see `bot.slack.log_throttle`) and no body in the log.

Only the shapes Bolt and the listeners rely on are checked; the values themselves
(ids, timestamps, button values) are checked where they are used
(`bot.slack.inputs`).
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import App, BoltRequest, BoltResponse

log = logging.getLogger(__name__)

#: The events whose fields the listeners read as strings.
HANDLED_EVENTS = frozenset({"message", "app_mention", "app_home_opened"})
#: The message of the refusal line (the throttle knows refusals by it).
REFUSED = "refused a malformed %s request: %s"


def _is(value: Any, kind: type | tuple[type, ...]) -> bool:
    return isinstance(value, kind)


def _optional(body: dict, key: str, kind: type | tuple[type, ...]) -> bool:
    return key not in body or body[key] is None or isinstance(body[key], kind)


def problem(body: Any) -> str | None:
    """What is wrong with the shape of ``body``, or None when Bolt may route it."""
    if not isinstance(body, dict):
        return "the body is not an object"
    for key in ("team", "user", "channel", "container", "enterprise", "view", "message"):
        if not _optional(body, key, dict):
            return f"{key} is not an object"
    for key in ("type", "team_id", "api_app_id", "trigger_id", "callback_id", "response_url"):
        if not _optional(body, key, str):
            return f"{key} is not a string"
    kind = body.get("type")
    if kind == "block_actions":
        actions = body.get("actions")
        if not (_is(actions, list) and actions):
            return "actions is not a non-empty list"
        for action in actions:
            if not (_is(action, dict) and _is(action.get("action_id"), str)):
                return "an action is not an object with a string action_id"
            for key in ("value", "block_id", "type"):
                if not _optional(action, key, str):
                    return f"an action's {key} is not a string"
            if not _optional(action, "selected_option", dict):
                return "an action's selected_option is not an object"
    elif kind == "event_callback":
        event = body.get("event")
        if not (_is(event, dict) and _is(event.get("type"), str)):
            return "event is not an object with a string type"
        if event["type"] in HANDLED_EVENTS:  # others may well carry objects there
            for key in ("user", "channel", "text", "ts", "thread_ts", "subtype", "tab", "bot_id"):
                if not _optional(event, key, str):
                    return f"event.{key} is not a string"
        if not _optional(body, "event_id", str):
            return "event_id is not a string"
    elif kind in ("shortcut", "message_action") and not _is(body.get("callback_id"), str):
        return "callback_id is missing"
    return None


class ShapeCheckingApp(App):
    """A Bolt `App` whose dispatch (HTTP and Socket Mode alike) refuses a body Bolt
    could not route safely."""

    def dispatch(self, req: BoltRequest) -> BoltResponse:
        found = problem(req.body)
        if found is not None:
            kind = req.body.get("type") if isinstance(req.body, dict) else None
            log.warning(REFUSED, kind if isinstance(kind, str) else "untyped", found)
            return BoltResponse(status=400, body={"error": "bad request"})
        return super().dispatch(req)
