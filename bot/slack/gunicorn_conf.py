"""gunicorn settings for the web process, shared by the Procfile and `python -m bot run`.

The master checks the configuration once before forking (exit 2 with one clear
message when it cannot work); each worker then builds its own runtime (store,
client, outbox deliverer thread) before it serves.
"""

from __future__ import annotations

from bot.settings import ConfigError, load_settings

try:
    _settings = load_settings()
    _host, _port, _level = _settings.host, _settings.port, _settings.log_level
    # WEB_CONCURRENCY (default 1) x GUNICORN_THREADS; see Settings.web_concurrency.
    _workers, _threads = _settings.web_concurrency, _settings.gunicorn_threads
except ConfigError:  # on_starting reports it and exits 2
    _host, _port, _level, _workers, _threads = "0.0.0.0", 3000, "INFO", 1, 1

bind = f"{_host}:{_port}"
workers = _workers
worker_class = "gthread"
threads = _threads
timeout = 30
graceful_timeout = 10
keepalive = 75
accesslog = None
loglevel = _level.lower()


def on_starting(server) -> None:  # gunicorn's Arbiter
    """Fail fast: settings, flow, database and token are checked before any worker starts."""
    from bot.cli_app import build_runtime

    build_runtime().stop()


def post_worker_init(worker) -> None:  # gunicorn's Worker
    from bot.slack import wsgi

    wsgi.warm()
