"""`python -m bot run` and `python -m bot retention`: configuration, logging, serving."""

from __future__ import annotations

import gc
import logging
import sys
from typing import TYPE_CHECKING

from bot.settings import (
    ConfigError,
    DatabaseSettings,
    Settings,
    load_database_settings,
    load_expiry_settings,
    load_settings,
)

if TYPE_CHECKING:
    from bot.cli.cpu import CpuDecision

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
    from bot.store.errors import UNAVAILABLE

    settings = _settings_or_exit()
    configure_logging(settings.log_level)
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
    except UNAVAILABLE as exc:
        print(database_problem(settings, exc), file=sys.stderr)
    except OSError as exc:
        print(
            f"cannot reach the Slack API at {settings.slack_api_url or 'https://slack.com/api/'}"
            f": {exc}",
            file=sys.stderr,
        )
    raise SystemExit(2)


SWITCH_INTERVAL = 0.005  # seconds; see tune_long_running_process


def tune_long_running_process() -> None:
    """Process-wide settings for a server, once its runtime has started.

    Request threads and sender threads hand the GIL back and forth at every socket
    and SQLite call. 1 ms between forced switches once measured ~25% more steps per
    second, while waitress's loop spun on every response being written; with that
    fixed (`bot.slack.http_guard`), 5 ms (CPython's default, set here so that nothing
    else in the process changes it) gives more steps per second and a shorter
    click-to-next tail than 1 ms (bench/README.md).

    What is built by now (flows, Bolt, SQLAlchemy, pydantic: nearly the whole heap)
    lives as long as the process. Left to the cyclic collector, each full collection
    walks all of it again while every thread waits (69 ms at a time, measured under
    load); frozen, collections see only what requests create.
    """
    sys.setswitchinterval(SWITCH_INTERVAL)
    gc.freeze()


def keep_on_one_cpu(settings: Settings) -> CpuDecision:
    """``SERVER_CPU`` (`bot.cli.cpu`), before the runtime starts its threads (they
    inherit the CPU). Exits 2, saying why, when it names a CPU this process cannot use."""
    from bot.cli.cpu import CpuChoiceError, keep_server_on_one_cpu

    try:
        return keep_server_on_one_cpu(settings.server_cpu)
    except CpuChoiceError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None


def log_cpu(decision: CpuDecision) -> None:
    """Said once the server is serving (a start that fails says only why)."""
    if decision.cpu is not None:
        say = log.warning if decision.warning else log.info
        say(
            "server threads kept on CPU %s (%s; SERVER_CPU=off lets them spread)",
            decision.cpu,
            decision.reason,
        )
    elif decision.warning:
        log.warning(
            "server threads left to the kernel: %s; set SERVER_CPU to a CPU this process "
            "may use, or SERVER_CPU=off to leave them spread",
            decision.reason,
        )
    else:
        log.info("server threads left to the kernel: %s", decision.reason)


def configure_logging(level: str) -> None:
    """One format for everything; libraries that talk too much at INFO are held back."""
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    quieter = max(logging.WARNING, logging.getLevelName(level))
    # transitions logs two INFO lines for every step of every conversation.
    logging.getLogger("transitions").setLevel(quieter)
    # waitress warns at every request that waits for a free thread: under load, a line a
    # request. Latency shows saturation better; its errors still come through.
    logging.getLogger("waitress.queue").setLevel(max(logging.ERROR, quieter))


def database_problem(settings: DatabaseSettings, exc: BaseException) -> str:
    """One line for a database that cannot be used at start (no traceback, no password)."""
    from sqlalchemy.engine import make_url

    from bot.store.engine import normalise_url

    where = f"SQLite in {settings.data_dir}"
    if settings.database_url:
        try:
            where = make_url(normalise_url(settings.database_url)).render_as_string(
                hide_password=True
            )
        except Exception:
            where = "DATABASE_URL"
    cause = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    reason = cause[-1] if cause else type(exc).__name__
    return (
        f"cannot use the database {where}: {reason}; check DATABASE_URL "
        "(host, port, user, password, database name) and that the server is running"
    )


def _store_or_exit(settings: DatabaseSettings | None = None):  # -> Store (imported lazily)
    """The database the environment names, upgraded; exit 2 with one line if it cannot be."""
    from bot.store import Store, StoreConfigError
    from bot.store.errors import UNAVAILABLE

    try:
        settings = settings or load_database_settings()
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        raise SystemExit(2) from None
    configure_logging("WARNING")
    try:
        return Store.from_url(
            settings.database_url, settings.data_dir, limits=settings.database_limits
        )
    except StoreConfigError as exc:
        print(exc, file=sys.stderr)
    except UNAVAILABLE as exc:
        print(database_problem(settings, exc), file=sys.stderr)
    raise SystemExit(2)


def db_upgrade() -> int:
    """`python -m bot db upgrade`: take the database to the newest schema revision."""
    from bot.store.migrate import current

    store = _store_or_exit()  # opening a store upgrades it
    print(f"database schema at revision {current(store.engine)} (the newest)")
    store.dispose()
    return 0


def retention() -> int:
    """`python -m bot retention`: expire every idle conversation, its thread's tidy-up
    queued for the running app to send (`bot.slack.expiry`), then purge old rows."""
    from bot.flow.errors import FlowError
    from bot.flow.loader import FlowRegistry, load_flow
    from bot.pricing.live import LivePrices
    from bot.pricing.source import read_api_prices
    from bot.slack.moves import Moves
    from bot.store import run_retention

    try:
        settings = load_expiry_settings()
        flows = FlowRegistry([load_flow(settings.flow_name, settings.flows_dir)])
    except (ConfigError, FlowError) as exc:
        print(exc, file=sys.stderr)
        return 2
    store = _store_or_exit(settings)
    try:  # a result's tidy-up shows the prices the running app shows
        catalogue = flows.current(settings.flow_name).catalogue
        api = read_api_prices(settings.flows_dir)
        flows.attach_prices(LivePrices(store.engine, catalogue, settings.aws_region, api))
        moves = Moves(store, flows, flow_name=settings.flow_name, command=settings.slack_command)
        expired = moves.expire_idle()
        counts = run_retention(store)
    finally:
        store.dispose()
    print(
        f"expired {expired} idle conversations (their threads' tidy-up is queued; the running "
        f"app sends it); removed {counts.seen_events} seen events and {counts.outbox} "
        "delivered outbox rows"
    )
    return 0


def run_command(name: str, mode: str = "auto") -> int:
    if name == "retention":
        return retention()
    settings = _settings_or_exit()
    socket_mode = settings.socket_mode if mode == "auto" else mode == "socket"
    if socket_mode and not settings.socket_mode:
        print(
            "configuration error: SLACK_APP_TOKEN is not set; Socket Mode needs an "
            "app-level token (xapp-...)",
            file=sys.stderr,
        )
        return 2
    if socket_mode:
        from bot.slack.claims import ClaimingSocketModeHandler

        cpu = keep_on_one_cpu(settings)
        runtime = build_runtime().start()
        tune_long_running_process()
        if settings.oauth:
            serve_install_pages(runtime, settings)
        log_cpu(cpu)
        log.info("running in Socket Mode")
        app_token = settings.slack_app_token.get_secret_value()  # type: ignore[union-attr]
        ClaimingSocketModeHandler(
            runtime.app, app_token, runtime.deliverer, settings.db_request_timeout
        ).start()
        return 0
    return serve_http(settings)


def serve_install_pages(runtime, settings: Settings) -> None:
    """OAuth in Socket Mode: installs still come over HTTP (GET /slack/install and
    /slack/oauth_redirect), so the HTTP server runs beside the socket, in a thread."""
    import threading

    from bot.slack.http_server import HttpLimits, make_server
    from bot.slack.wsgi import make_wsgi

    try:
        limits = HttpLimits.from_settings(settings)
        server = make_server(make_wsgi(runtime), settings.host, settings.port, limits)
    except OSError as exc:
        runtime.stop()
        print(f"cannot listen on {settings.host}:{settings.port}: {exc.strerror}", file=sys.stderr)
        raise SystemExit(2) from None
    threading.Thread(target=server.run, name="install-pages", daemon=True).start()
    log.info("serving the install pages on %s:%s", settings.host, settings.port)


def serve_http(settings: Settings) -> int:
    """waitress on HOST:PORT (see `bot.slack.http_server`), until SIGTERM or Ctrl-C."""
    from bot.slack.http_server import (
        HttpLimits,
        make_server,
        raise_descriptor_limit,
        serve_forever,
    )
    from bot.slack.wsgi import make_wsgi

    cpu = keep_on_one_cpu(settings)
    runtime = build_runtime().start()
    tune_long_running_process()
    try:
        raise_descriptor_limit()  # before the connection limit is sized to it
        server = make_server(
            make_wsgi(runtime), settings.host, settings.port, HttpLimits.from_settings(settings)
        )
    except OSError as exc:
        runtime.stop()
        print(f"cannot listen on {settings.host}:{settings.port}: {exc.strerror}", file=sys.stderr)
        return 2
    log_cpu(cpu)
    try:
        serve_forever(server)
    finally:
        runtime.stop()
    return 0
