"""`python -m bot run` and `python -m bot retention`: configuration, logging, serving."""

from __future__ import annotations

import logging
import sys

from bot.settings import ConfigError, Settings, load_settings

log = logging.getLogger("bot")


def _settings_or_exit() -> Settings:
    try:
        return load_settings()
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        raise SystemExit(2) from None


def build_runtime():  # -> Runtime (imported lazily: Slack and the store load only here)
    """Settings from the environment, then the runtime; exit 2 with a clear message."""
    from slack_sdk.errors import SlackApiError

    from bot.flow.errors import FlowError
    from bot.slack.runtime import Runtime
    from bot.store import StoreConfigError

    settings = _settings_or_exit()
    logging.basicConfig(
        level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    try:
        return Runtime.create(settings)
    except SlackApiError as exc:
        print(
            f"SLACK_BOT_TOKEN was refused by Slack ({exc.response.get('error')}); "
            "check the token in your app's OAuth & Permissions page",
            file=sys.stderr,
        )
    except (StoreConfigError, FlowError) as exc:
        print(exc, file=sys.stderr)
    except OSError as exc:
        print(
            f"cannot reach the Slack API at {settings.slack_api_url or 'https://slack.com/api/'}"
            f": {exc}",
            file=sys.stderr,
        )
    raise SystemExit(2)


def run_command(name: str) -> int:
    if name == "retention":
        from bot.store import Store, run_retention

        settings = _settings_or_exit()
        counts = run_retention(Store.from_url(settings.database_url, settings.data_dir))
        print(
            f"expired {counts.expired} conversations; removed {counts.seen_events} seen events "
            f"and {counts.outbox} delivered outbox rows"
        )
        return 0
    settings = _settings_or_exit()
    if settings.socket_mode:
        from slack_bolt.adapter.socket_mode import SocketModeHandler

        runtime = build_runtime().start().settle()
        log.info("running in Socket Mode")
        SocketModeHandler(runtime.app, settings.slack_app_token.get_secret_value()).start()
        return 0
    return serve_http(settings)


def serve_http(settings: Settings) -> int:
    """gunicorn in this process, with the same settings as the Procfile's web process."""
    from gunicorn.app.wsgiapp import WSGIApplication

    sys.argv = [
        "gunicorn",
        "-c",
        "python:bot.slack.gunicorn_conf",
        "--bind",
        f"{settings.host}:{settings.port}",
        "bot.slack.wsgi:application",
    ]
    WSGIApplication("%(prog)s [OPTIONS] [APP_MODULE]").run()
    return 0
