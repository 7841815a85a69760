"""gunicorn settings for the baselines of `bench/e2e.py`: the app's own settings
(`bot.slack.gunicorn_conf`: bind, worker class, workers, threads, keep-alive,
timeouts), without its hooks that build the app's runtime; instead each worker
builds the baseline named by ``E2E_BASELINE`` before it serves."""

from __future__ import annotations

import os

from bot.slack.gunicorn_conf import (  # noqa: F401  (gunicorn reads these names)
    accesslog,
    bind,
    graceful_timeout,
    keepalive,
    loglevel,
    threads,
    timeout,
    worker_class,
    workers,
)


def post_worker_init(worker) -> None:  # gunicorn's Worker
    from bench import e2e_baselines

    name = os.environ.get("E2E_BASELINE", "")
    if name in e2e_baselines.APPS:
        e2e_baselines.APPS[name].warm()
