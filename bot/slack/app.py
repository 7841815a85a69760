"""The Bolt app: one factory, one `register(app, moves)` per listener module."""

from __future__ import annotations

import logging

from slack_bolt import App, BoltResponse
from slack_sdk import WebClient

from bot.slack import log_throttle
from bot.slack.installations import NOT_INSTALLED_TEXT, Installations, enterprise_recorder
from bot.slack.listeners import actions, commands, home, lifecycle, messages
from bot.slack.moves import Moves
from bot.slack.people import People
from bot.slack.shapes import ShapeCheckingApp
from bot.slack.start_limit import StartLimit
from bot.slack.token_health import TokenHealth

log = logging.getLogger(__name__)


def create_app(
    *,
    client: WebClient,
    signing_secret: str,
    moves: Moves,
    people: People,
    token: TokenHealth,
    installations: Installations | None = None,
    scopes: list[str] | None = None,
    redirect_uri: str | None = None,
    starts: StartLimit | None = None,
) -> App:
    """A Bolt app that acks after one commit (`process_before_response=True`).

    Bolt's signature check is off: `bot.slack.wsgi` checks every HTTP request before
    Bolt parses it (and without logging its body); Socket Mode needs none.

    With ``installations`` (OAuth mode) Bolt's OAuth flow serves the install pages and
    each request is authorized with its own workspace's installation; a workspace with
    none gets `NOT_INSTALLED_TEXT` (a slash command shows it; events get a plain 200)."""
    oauth = {}
    if installations is not None:
        oauth = {
            "oauth_settings": installations.oauth_settings(scopes or [], redirect_uri),
            "authorize": installations.authorize(),
            "installation_store_bot_only": True,
            "user_facing_authorize_error_message": NOT_INSTALLED_TEXT,
        }
    app = ShapeCheckingApp(
        client=client,
        signing_secret=signing_secret,
        process_before_response=True,
        ignoring_self_events_enabled=True,
        request_verification_enabled=False,
        logger=_bolt_logger(),
        **oauth,  # type: ignore[arg-type]
    )
    if installations is not None:
        app.middleware(enterprise_recorder(moves.store))
    log_throttle.install()  # refusals of what is not Slack's: one line a minute each
    for module in (actions, messages):
        module.register(app, moves)
    commands.register(app, moves, people, starts)
    home.register(app, moves, people)
    lifecycle.register(app, moves, token, installations)

    @app.error
    def on_error(error: Exception, body: dict) -> BoltResponse:
        """Never a 5xx: an unexpected failure (often a malformed payload) is logged without
        the body (it holds what people typed); a slash command gets a reply people can read."""
        log.error(
            "listener failed: %s (details at DEBUG: they may quote what people typed)",
            type(error).__name__,
        )
        log.debug("listener failure", exc_info=error)
        if isinstance(body, dict) and body.get("command"):
            return BoltResponse(status=200, body={"response_type": "ephemeral", "text": SORRY})
        return BoltResponse(status=400, body={"error": "bad request"})

    return app


def _bolt_logger() -> logging.Logger:
    """Bolt's logger, minus one false alarm: Bolt also reads SLACK_BOT_TOKEN from the
    environment and warns that it goes unused when a client is given, which is how we
    give it the API base URL and keep-alive connections."""
    bolt_log = logging.getLogger("bot.slack.bolt")
    if not any(isinstance(f, _TokenUnusedFilter) for f in bolt_log.filters):
        bolt_log.addFilter(_TokenUnusedFilter())
    return bolt_log


class _TokenUnusedFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return "`token` will be unused" not in record.getMessage()


SORRY = (
    "Something went wrong on my side and nothing was changed. Please try again; "
    "if it keeps happening, tell whoever runs this app (the error is in its log)."
)
