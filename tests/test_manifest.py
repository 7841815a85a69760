"""manifest.json declares what the app uses: command, interactivity, events, scopes."""

from __future__ import annotations

import json
from pathlib import Path

from bot.settings import Settings
from bot.slack.home import SHORTCUT_CALLBACK

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
        "app_home_opened",  # bot.slack.listeners.home
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
        # conversations.open: telling a person privately when a channel refuses, and
        # New plan / the shortcut starting a conversation in a direct message.
        # chat.getPermalink and views.publish need no scope.
        "im:write",
        "files:write",  # files_upload_v2: the estimate's chart
    }


def test_home_tab_and_messages_tab() -> None:
    app_home = MANIFEST["features"]["app_home"]
    assert app_home["home_tab_enabled"] is True  # app_home_opened -> views.publish
    assert app_home["messages_tab_enabled"] is True  # New plan runs in the DM
    assert app_home["messages_tab_read_only_enabled"] is False  # people type answers there


def test_global_shortcut_matches_the_listener() -> None:
    shortcuts = MANIFEST["features"]["shortcuts"]
    assert shortcuts == [
        {
            "name": "Plan an LLM workload",
            "type": "global",
            "callback_id": SHORTCUT_CALLBACK,
            "description": shortcuts[0]["description"],
        }
    ]
    assert 0 < len(shortcuts[0]["description"]) <= 150
    assert len(shortcuts[0]["name"]) <= 24


def test_oauth_redirect_url_and_distribution() -> None:
    """Many workspaces (issue 20): the redirect URL Bolt's flow answers, org-wide installs
    on Enterprise Grid, and the scopes OAuth asks for by default are these very ones."""
    from bot.slack.installations import DEFAULT_SCOPES

    urls = MANIFEST["oauth_config"]["redirect_urls"]
    assert urls and all(u.startswith("https://") for u in urls)
    assert all(u.endswith("/slack/oauth_redirect") for u in urls)
    assert MANIFEST["settings"]["org_deploy_enabled"] is True
    assert list(DEFAULT_SCOPES) == MANIFEST["oauth_config"]["scopes"]["bot"]
