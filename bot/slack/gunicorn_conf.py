"""gunicorn settings for the web process, shared by the Procfile and `python -m bot run`.

The master checks the configuration once before forking (exit 2 with one clear
message when it cannot work); each worker then builds its own runtime (store,
client, outbox deliverer thread) before it serves.
"""

from __future__ import annotations

import os

from bot.settings import ConfigError, load_settings

try:
    _settings = load_settings()
    _host, _port, _level = _settings.host, _settings.port, _settings.log_level
except ConfigError:  # on_starting reports it and exits 2
    _host, _port, _level = "0.0.0.0", 3000, "INFO"

bind = f"{_host}:{_port}"
workers = int(os.environ.get("WEB_CONCURRENCY", "1"))
worker_class = "gthread"
threads = int(os.environ.get("GUNICORN_THREADS", "8"))
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
