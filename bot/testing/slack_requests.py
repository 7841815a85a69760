"""Realistic Slack request bodies, and (from slack_client.py, re-exported here) their
signing and a cheap keep-alive sender.

Bodies are ``bytes`` exactly as Slack sends them: slash commands and
interactivity as ``application/x-www-form-urlencoded`` (interactivity as a
single ``payload=<json>`` field), events as JSON. ``sign`` adds the
``X-Slack-Request-Timestamp`` / ``X-Slack-Signature`` headers
(``v0=`` + HMAC-SHA256 of ``v0:{ts}:{body}``) and the Content-Type.

Default ``response_url``s point at ``http://127.0.0.1:9/...`` (the discard
port: connection refused at once) so nothing ever reaches the internet; pass
``FakeSlack.response_url(token)`` to record them.
"""

from __future__ import annotations

import itertools
import json
import secrets
import time
import uuid
from typing import Any
from urllib.parse import urlencode

from bot.testing.slack_client import SlackClientSim, sign

__all__ = [
    "SlackClientSim",
    "app_home_opened_body",
    "block_actions_body",
    "global_shortcut_body",
    "home_actions_body",
    "message_event_body",
    "sign",
    "slack_escape",
    "slash_command_body",
    "url_verification_body",
]

VERIFICATION_TOKEN = "fake-verification-token"
BOT_USER_ID = "U0BOT"
BOT_ID = "B0BOT"
_UNROUTED = "http://127.0.0.1:9/response"
_event_counter = itertools.count(1)


def slack_escape(typed: str) -> str:
    """Text as Slack delivers what a person typed: `&`, `<` and `>` HTML-escaped."""
    return typed.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _compact(obj: Any) -> str:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


def _trigger_id() -> str:
    return f"{secrets.randbelow(10**13)}.{secrets.randbelow(10**12)}.{secrets.token_hex(16)}"


def _default_response_url(team_id: str) -> str:
    return f"{_UNROUTED}/{team_id}-{secrets.randbelow(10**13)}-{secrets.token_urlsafe(18)}"


def slash_command_body(
    command: str = "/llm-cost",
    text: str = "",
    *,
    team_id: str = "T0001",
    team_domain: str = "acme",
    channel_id: str = "C0001",
    channel_name: str = "general",
    user_id: str = "U0001",
    user_name: str = "ada",
    response_url: str | None = None,
    trigger_id: str | None = None,
    api_app_id: str = "A0001",
    enterprise_id: str | None = None,
    enterprise_name: str = "Acme Grid",
    token: str = VERIFICATION_TOKEN,
) -> bytes:
    """The form body of a slash command invocation, fields in Slack's order; ``text`` is
    what the person typed (escaped here as Slack escapes it)."""
    fields: list[tuple[str, str]] = [
        ("token", token),
        ("team_id", team_id),
        ("team_domain", team_domain),
    ]
    if enterprise_id:
        fields += [("enterprise_id", enterprise_id), ("enterprise_name", enterprise_name)]
    fields += [
        ("channel_id", channel_id),
        ("channel_name", channel_name),
        ("user_id", user_id),
        ("user_name", user_name),
        ("command", command),
        ("text", slack_escape(text)),
        ("api_app_id", api_app_id),
        ("is_enterprise_install", "false"),
        ("response_url", response_url or _default_response_url(team_id)),
        ("trigger_id", trigger_id or _trigger_id()),
    ]
    return urlencode(fields).encode()


def block_actions_payload(
    *,
    action_id: str,
    value: str,
    block_id: str,
    message_ts: str,
    channel_id: str = "C0001",
    user_id: str = "U0001",
    team_id: str = "T0001",
    thread_ts: str | None = None,
    message_blocks: list[dict[str, Any]] | None = None,
    message_text: str = "",
    response_url: str | None = None,
    button_text: str = "Choose",
    user_name: str = "ada",
    team_domain: str = "acme",
    channel_name: str = "general",
    api_app_id: str = "A0001",
    trigger_id: str | None = None,
    action_ts: str | None = None,
    bot_id: str = BOT_ID,
    bot_user_id: str = BOT_USER_ID,
    token: str = VERIFICATION_TOKEN,
    selected_option: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The decoded ``payload`` of a button click on a bot message (block_actions); with
    ``selected_option``, a choice in a static_select menu instead (``value`` unused)."""
    container: dict[str, Any] = {
        "type": "message",
        "message_ts": message_ts,
        "channel_id": channel_id,
        "is_ephemeral": False,
    }
    message: dict[str, Any] = {
        "user": bot_user_id,
        "type": "message",
        "ts": message_ts,
        "bot_id": bot_id,
        "app_id": api_app_id,
        "text": message_text,
        "team": team_id,
        "blocks": message_blocks if message_blocks is not None else [],
    }
    if thread_ts:
        container["thread_ts"] = thread_ts
        message["thread_ts"] = thread_ts
        if thread_ts != message_ts:
            message["parent_user_id"] = bot_user_id
    return {
        "type": "block_actions",
        "user": {"id": user_id, "username": user_name, "name": user_name, "team_id": team_id},
        "api_app_id": api_app_id,
        "token": token,
        "container": container,
        "trigger_id": trigger_id or _trigger_id(),
        "team": {"id": team_id, "domain": team_domain},
        "enterprise": None,
        "is_enterprise_install": False,
        "channel": {"id": channel_id, "name": channel_name},
        "message": message,
        "state": {"values": {}},
        "response_url": response_url or _default_response_url(team_id),
        "actions": [_action(action_id, block_id, button_text, value, action_ts, selected_option)],
    }


def _action(
    action_id: str,
    block_id: str,
    button_text: str,
    value: str,
    action_ts: str | None,
    selected_option: dict[str, Any] | None,
) -> dict[str, Any]:
    """One element of a block_actions payload's ``actions``, as Slack sends it."""
    stamp = action_ts or f"{time.time():.6f}"
    if selected_option is not None:
        return {
            "type": "static_select",
            "action_id": action_id,
            "block_id": block_id,
            "selected_option": selected_option,
            "placeholder": {"type": "plain_text", "text": button_text, "emoji": True},
            "action_ts": stamp,
        }
    return {
        "action_id": action_id,
        "block_id": block_id,
        "text": {"type": "plain_text", "text": button_text, "emoji": True},
        "value": value,
        "type": "button",
        "action_ts": stamp,
    }


def block_actions_body(**kwargs: Any) -> bytes:
    """``payload=<json>`` form body; keyword arguments as ``block_actions_payload``."""
    return urlencode({"payload": _compact(block_actions_payload(**kwargs))}).encode()


def new_event_id() -> str:
    return f"Ev{next(_event_counter):04d}{secrets.token_hex(4).upper()}"


def message_event(
    *,
    text: str,
    user_id: str,
    channel_id: str,
    ts: str,
    thread_ts: str | None = None,
    team_id: str = "T0001",
    event_id: str | None = None,
    bot_id: str | None = None,
    subtype: str | None = None,
    channel_type: str = "channel",
    client_msg_id: str | None = None,
    parent_user_id: str | None = None,
    blocks: list[dict[str, Any]] | None = None,
    api_app_id: str = "A0001",
    bot_user_id: str = BOT_USER_ID,
    event_time: int | None = None,
    token: str = VERIFICATION_TOKEN,
) -> dict[str, Any]:
    """The decoded event_callback envelope of a ``message`` event; ``text`` is what the
    person typed (escaped here as Slack escapes it).

    A user message gets a ``client_msg_id`` (generated unless given); a message
    with ``bot_id`` gets none. In a thread, ``parent_user_id`` defaults to the bot
    (the app's threads start with its own message).
    """
    event: dict[str, Any] = {"type": "message"}
    if subtype:
        event["subtype"] = subtype
    if bot_id is None:
        event["client_msg_id"] = client_msg_id or str(uuid.uuid4())
    elif client_msg_id:
        event["client_msg_id"] = client_msg_id
    event.update({"text": slack_escape(text), "user": user_id, "ts": ts, "team": team_id})
    if bot_id is not None:
        event["bot_id"] = bot_id
    if blocks is not None:
        event["blocks"] = blocks
    if thread_ts:
        event["thread_ts"] = thread_ts
        if thread_ts != ts:
            event["parent_user_id"] = parent_user_id or bot_user_id
    event.update({"channel": channel_id, "event_ts": ts, "channel_type": channel_type})
    return _envelope(event, team_id, event_id, api_app_id, bot_user_id, event_time, token)


def _envelope(
    event: dict[str, Any],
    team_id: str,
    event_id: str | None,
    api_app_id: str,
    bot_user_id: str,
    event_time: int | None,
    token: str,
) -> dict[str, Any]:
    """The event_callback envelope Slack wraps every Events API event in."""
    return {
        "token": token,
        "team_id": team_id,
        "context_team_id": team_id,
        "context_enterprise_id": None,
        "api_app_id": api_app_id,
        "event": event,
        "type": "event_callback",
        "event_id": event_id or new_event_id(),
        "event_time": int(time.time()) if event_time is None else event_time,
        "authorizations": [
            {
                "enterprise_id": None,
                "team_id": team_id,
                "user_id": bot_user_id,
                "is_bot": True,
                "is_enterprise_install": False,
            }
        ],
        "is_ext_shared_channel": False,
        "event_context": f"4-{secrets.token_urlsafe(24)}",
    }


def message_event_body(**kwargs: Any) -> bytes:
    """JSON body; keyword arguments as ``message_event``."""
    return _compact(message_event(**kwargs)).encode()


def app_home_opened_body(
    *,
    user_id: str,
    channel_id: str,
    team_id: str = "T0001",
    tab: str = "home",
    event_id: str | None = None,
    api_app_id: str = "A0001",
    bot_user_id: str = BOT_USER_ID,
    token: str = VERIFICATION_TOKEN,
) -> bytes:
    """JSON body of an ``app_home_opened`` event: ``channel_id`` is the person's direct
    message with the app; ``tab`` "home" or "messages"."""
    event = {
        "type": "app_home_opened",
        "user": user_id,
        "channel": channel_id,
        "tab": tab,
        "event_ts": f"{time.time():.6f}",
    }
    envelope = _envelope(event, team_id, event_id, api_app_id, bot_user_id, None, token)
    return _compact(envelope).encode()


def home_view_state(user_id: str, team_id: str, view: dict[str, Any] | None) -> dict[str, Any]:
    """The ``view`` of an interaction on the Home tab, as Slack sends it back."""
    return {
        "id": f"V{user_id}",
        "team_id": team_id,
        "type": "home",
        "blocks": (view or {}).get("blocks", []),
        "private_metadata": "",
        "callback_id": "",
        "state": {"values": {}},
        "hash": "1700000000.abcdef",
        "app_id": "A0001",
        "bot_id": BOT_ID,
    }


def home_actions_body(
    *,
    action_id: str,
    value: str,
    block_id: str,
    user_id: str,
    team_id: str = "T0001",
    view: dict[str, Any] | None = None,
    button_text: str = "Choose",
    trigger_id: str | None = None,
    user_name: str = "ada",
    api_app_id: str = "A0001",
    token: str = VERIFICATION_TOKEN,
) -> bytes:
    """``payload=<json>`` form body of a button click on the App Home: a view container,
    no channel, no message, no response_url."""
    payload = {
        "type": "block_actions",
        "user": {"id": user_id, "username": user_name, "name": user_name, "team_id": team_id},
        "api_app_id": api_app_id,
        "token": token,
        "container": {"type": "view", "view_id": f"V{user_id}"},
        "trigger_id": trigger_id or _trigger_id(),
        "team": {"id": team_id, "domain": "acme"},
        "enterprise": None,
        "is_enterprise_install": False,
        "view": home_view_state(user_id, team_id, view),
        "actions": [_action(action_id, block_id, button_text, value, None, None)],
    }
    return urlencode({"payload": _compact(payload)}).encode()


def global_shortcut_body(
    *,
    callback_id: str,
    user_id: str,
    team_id: str = "T0001",
    trigger_id: str | None = None,
    user_name: str = "ada",
    token: str = VERIFICATION_TOKEN,
) -> bytes:
    """``payload=<json>`` form body of a global shortcut (no channel, a trigger_id)."""
    payload = {
        "type": "shortcut",
        "token": token,
        "action_ts": f"{time.time():.6f}",
        "team": {"id": team_id, "domain": "acme"},
        "user": {"id": user_id, "username": user_name, "team_id": team_id},
        "is_enterprise_install": False,
        "enterprise": None,
        "callback_id": callback_id,
        "trigger_id": trigger_id or _trigger_id(),
    }
    return urlencode({"payload": _compact(payload)}).encode()


def url_verification_body(challenge: str, token: str = VERIFICATION_TOKEN) -> bytes:
    return _compact({"token": token, "challenge": challenge, "type": "url_verification"}).encode()
