"""Configuration: every variable, clear errors, and `run` exiting 2 when it cannot start."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.settings import ConfigError, load_settings

ROOT = Path(__file__).resolve().parents[1]
REQUIRED = {"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": "s3cr3t-value"}


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("SLACK_") or name in (
            "DATABASE_URL",
            "PORT",
            "ANSWER_POLICY",
            "HTTP_THREADS",
            "GUNICORN_THREADS",
            "SERVER_CPU",
        ):
            monkeypatch.delenv(name)


def test_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in REQUIRED.items():
        monkeypatch.setenv(key, value)
    settings = load_settings(_env_file=None)
    assert settings.port == 3000
    assert settings.slack_command == "/llm-cost"
    assert settings.answer_policy == "starter"
    assert settings.conversation_ttl_hours == 24
    assert settings.socket_mode is False
    assert settings.server_cpu == "auto"
    assert "s3cr3t-value" not in repr(settings) and "xoxb-1" not in repr(settings)


def test_http_threads(monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in REQUIRED.items():
        monkeypatch.setenv(key, value)
    assert load_settings(_env_file=None).http_threads == 8
    monkeypatch.setenv("GUNICORN_THREADS", "3")  # the name it had under gunicorn still works
    assert load_settings(_env_file=None).http_threads == 3
    monkeypatch.setenv("HTTP_THREADS", "5")
    assert load_settings(_env_file=None).http_threads == 5


def test_server_cpu(monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in REQUIRED.items():
        monkeypatch.setenv(key, value)
    for given, kept in ((" Off ", "off"), ("AUTO", "auto"), ("007", 7)):
        monkeypatch.setenv("SERVER_CPU", given)
        assert load_settings(_env_file=None).server_cpu == kept


def test_env_file_is_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    env = tmp_path / ".env"
    env.write_text(
        "SLACK_BOT_TOKEN=xoxb-from-file\nSLACK_SIGNING_SECRET=s\nPORT=4000\n"
        "SLACK_APP_TOKEN=xapp-1\nSLACK_API_URL=http://127.0.0.1:9/api\n"
    )
    settings = load_settings(_env_file=env)
    assert settings.slack_bot_token.get_secret_value() == "xoxb-from-file"
    assert settings.port == 4000 and settings.socket_mode
    assert settings.slack_api_url == "http://127.0.0.1:9/api/"


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({}, "SLACK_BOT_TOKEN is not set"),
        ({"SLACK_BOT_TOKEN": "xoxb-1"}, "SLACK_SIGNING_SECRET is not set"),
        ({**REQUIRED, "SLACK_BOT_TOKEN": "xoxp-user"}, "SLACK_BOT_TOKEN must be a bot token"),
        ({**REQUIRED, "SLACK_APP_TOKEN": "nope"}, "SLACK_APP_TOKEN must be an app-level token"),
        ({**REQUIRED, "PORT": "http"}, "PORT"),
        ({**REQUIRED, "ANSWER_POLICY": "everyone"}, "ANSWER_POLICY"),
        ({**REQUIRED, "SLACK_COMMAND": "llm cost"}, "SLACK_COMMAND must be a slash command"),
        ({**REQUIRED, "SLACK_API_URL": "slack.com"}, "SLACK_API_URL must be an http(s) URL"),
        ({**REQUIRED, "HTTP_THREADS": "0"}, "HTTP_THREADS"),
        ({**REQUIRED, "HTTP_THREADS": "many"}, "HTTP_THREADS"),
        ({**REQUIRED, "SERVER_CPU": "fast"}, "SERVER_CPU must be auto, off or a CPU number"),
        ({**REQUIRED, "SERVER_CPU": "-1"}, "SERVER_CPU must be auto, off or a CPU number"),
        ({**REQUIRED, "SERVER_CPU": "\u00b2"}, "SERVER_CPU must be auto, off or a CPU number"),
    ],
)
def test_bad_configuration_names_the_variable(
    env: dict[str, str], message: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    with pytest.raises(ConfigError) as caught:
        load_settings(_env_file=None)
    assert message in str(caught.value)


def run_bot(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("SLACK_")}
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        cwd=ROOT,
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_run_without_configuration_exits_2_with_one_clear_message(tmp_path: Path) -> None:
    done = run_bot({"DATA_DIR": str(tmp_path)}, "run")
    assert done.returncode == 2
    assert "SLACK_BOT_TOKEN is not set" in done.stderr
    assert "Traceback" not in done.stderr


def test_run_with_an_unwritable_data_dir_exits_2(tmp_path: Path) -> None:
    blocked = tmp_path / "file"
    blocked.write_text("not a directory")
    done = run_bot(
        {**REQUIRED, "DATA_DIR": str(blocked / "data"), "SLACK_API_URL": "http://127.0.0.1:9/api/"},
        "run",
    )
    assert done.returncode == 2
    assert str(blocked) in done.stderr
    assert "Traceback" not in done.stderr


def test_run_on_a_cpu_it_may_not_use_exits_2_before_starting(tmp_path: Path) -> None:
    done = run_bot(
        {
            **REQUIRED,
            "DATA_DIR": str(tmp_path),
            "SERVER_CPU": "9999",
            "SLACK_API_URL": "http://127.0.0.1:9/api/",
        },
        "run",
    )
    assert done.returncode == 2
    assert "SERVER_CPU=9999" in done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "llm-cost-bot.sqlite3").exists()  # nothing was started


def test_env_example_lists_every_setting() -> None:
    from bot.settings import Settings

    listed = (ROOT / ".env.example").read_text()
    for name in Settings.model_fields:
        assert f"\n{name.upper()}=" in listed, name
