"""manifest.json declares what the app uses: command, interactivity, events, scopes."""

from __future__ import annotations

import json
from pathlib import Path

from bot.settings import Settings

MANIFEST = json.loads((Path(__file__).resolve().parents[1] / "manifest.json").read_text())


def test_command_matches_the_default_setting() -> None:
    commands = [c["command"] for c in MANIFEST["features"]["slash_commands"]]
    assert commands == [Settings.model_fields["slack_command"].default]
    assert all(c["description"] and c["usage_hint"] for c in MANIFEST["features"]["slash_commands"])


def test_bot_user_interactivity_events_and_socket_mode() -> None:
    assert MANIFEST["features"]["bot_user"]["display_name"]
    settings = MANIFEST["settings"]
    assert settings["interactivity"]["is_enabled"] is True
    assert settings["socket_mode_enabled"] is True
    assert set(settings["event_subscriptions"]["bot_events"]) == {
        "message.channels",
        "message.groups",
        "message.im",
        "message.mpim",
        "app_uninstalled",  # bot.slack.listeners.lifecycle
        "tokens_revoked",
    }


def test_scopes_are_exactly_what_the_app_calls() -> None:
    assert set(MANIFEST["oauth_config"]["scopes"]["bot"]) == {
        "commands",
        "chat:write",
        "pins:write",
        "channels:history",
        "groups:history",
        "im:history",
        "mpim:history",
        "im:write",  # conversations.open: telling a person privately when a channel refuses
        "files:write",  # files_upload_v2: the estimate's chart
    }
