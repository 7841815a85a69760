"""OAuth mode's configuration (issue 20): one mode at a time, each mistake one line."""

from __future__ import annotations

import pytest

from bot.settings import ConfigError, load_settings
from tests.test_settings import run_bot

SECRET = {"SLACK_SIGNING_SECRET": "s3cr3t-value"}
OAUTH = {**SECRET, "SLACK_CLIENT_ID": "1111.2222", "SLACK_CLIENT_SECRET": "shh"}


def test_client_id_and_secret_turn_oauth_on(monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in {
        **OAUTH,
        "SLACK_REDIRECT_URI": "https://bot.example.com/slack/oauth_redirect",
    }.items():
        monkeypatch.setenv(key, value)
    settings = load_settings(_env_file=None)
    assert settings.oauth and settings.slack_bot_token is None
    assert settings.slack_redirect_uri == "https://bot.example.com/slack/oauth_redirect"


def test_the_bot_token_is_single_workspace_mode(monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in {**SECRET, "SLACK_BOT_TOKEN": "xoxb-1", "SLACK_CLIENT_ID": ""}.items():
        monkeypatch.setenv(key, value)
    assert not load_settings(_env_file=None).oauth


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({**OAUTH, "SLACK_BOT_TOKEN": "xoxb-1"}, "both set"),
        ({**SECRET, "SLACK_CLIENT_ID": "1111.2222"}, "SLACK_CLIENT_SECRET is not set"),
        ({**SECRET, "SLACK_CLIENT_SECRET": "shh"}, "SLACK_CLIENT_ID is not set"),
        (SECRET, "SLACK_BOT_TOKEN is not set (one workspace), nor SLACK_CLIENT_ID"),
        ({**OAUTH, "SLACK_REDIRECT_URI": "http://bot.example.com/slack/oauth_redirect"}, "https"),
        ({**OAUTH, "SLACK_REDIRECT_URI": "https://bot.example.com/callback"}, "oauth_redirect"),
        ({**OAUTH, "SLACK_TOKEN_ROTATION_MINUTES": "0"}, "SLACK_TOKEN_ROTATION_MINUTES"),
    ],
)
def test_mistakes_are_named(
    env: dict[str, str], message: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("SLACK_BOT_TOKEN", "SLACK_CLIENT_ID", "SLACK_CLIENT_SECRET", "SLACK_REDIRECT_URI"):
        monkeypatch.delenv(name, raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    with pytest.raises(ConfigError) as caught:
        load_settings(_env_file=None)
    assert message in str(caught.value) and "\n" not in str(caught.value)


def test_both_modes_at_once_exit_2_with_one_line(tmp_path) -> None:
    done = run_bot({**OAUTH, "SLACK_BOT_TOKEN": "xoxb-1", "DATA_DIR": str(tmp_path)}, "run")
    assert done.returncode == 2
    assert len(done.stderr.strip().splitlines()) == 1 and "both set" in done.stderr
    assert "shh" not in done.stderr  # the client secret is never printed
