"""gunicorn settings for the baselines of `bench/e2e.py`: one gthread worker with as
many threads as the app's HTTP server has (`HTTP_THREADS`), on `HOST:PORT`; each
worker builds the baseline named by ``E2E_BASELINE`` before it serves. With
``E2E_CPU`` the master keeps itself (and so the worker it forks) on that CPU."""

from __future__ import annotations

import os

from bot.settings import load_settings

_settings = load_settings()
bind = f"{_settings.host}:{_settings.port}"
workers = 1
worker_class = "gthread"
threads = _settings.http_threads
timeout = 30
graceful_timeout = 10
keepalive = 75
accesslog = None
loglevel = _settings.log_level.lower()


def post_worker_init(worker) -> None:  # gunicorn's Worker
    from bench import e2e_baselines

    name = os.environ.get("E2E_BASELINE", "")
    if name in e2e_baselines.APPS:
        e2e_baselines.APPS[name].warm()


def on_starting(server) -> None:  # gunicorn's Arbiter, before it forks a worker
    cpu = os.environ.get("E2E_CPU", "")
    if cpu:
        os.sched_setaffinity(0, {int(cpu)})
