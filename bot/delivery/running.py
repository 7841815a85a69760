"""The deliverer's background thread: claim passes until stopped, woken early by a
commit in this process, with the maintenance job (expiry, retention) between passes.
A mixin of `Deliverer`, which owns the state it reads."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING

from bot.store.models import OutboxRow

if TYPE_CHECKING:
    from bot.store.store import Store

logger = logging.getLogger("bot.delivery.deliverer")


class Background:
    """Start, stop and wake the deliverer's loop (see `Deliverer`)."""

    store: Store
    workers: int
    poll_interval: float
    batch: int
    maintenance_interval: float | None
    _maintenance: Callable[[], object]
    _wake: threading.Event
    _stop: threading.Event
    _thread: threading.Thread | None
    _pool: ThreadPoolExecutor
    _in_flight: dict[Future[int], list[OutboxRow]]
    _polled: set[Future[int]]
    _room: threading.Condition

    def _dispatch(self, limit: int) -> list[Future[int]]:
        raise NotImplementedError

    def start(self) -> None:
        """Run delivery passes in a daemon thread until :meth:`stop`."""
        if self._thread is not None and self._thread.is_alive():
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="outbox-deliverer", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5) -> None:
        """Stop claiming, give back claims not yet started, and wait up to ``timeout``
        seconds for sends under way."""
        self._stop.set()
        self._wake.set()
        with self._room:
            self._room.notify_all()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        # Groups not yet started are cancelled; each gives back its claims as it is
        # (`_finished`). Rows a running send hands on from now are given back too
        # (`_queue`, which sees `_stop`).
        self._pool.shutdown(wait=False, cancel_futures=True)
        deadline = time.monotonic() + timeout
        with self._room:
            while self._in_flight and time.monotonic() < deadline:
                self._room.wait(deadline - time.monotonic())
        self._pool = ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="outbox-send")

    def wake(self) -> None:
        """Deliver now (call after committing a step in this process)."""
        self._wake.set()

    def _run(self) -> None:
        next_maintenance = time.monotonic()
        failures = 0
        # The claim loop's own groups queued for the sender threads at most (rows a
        # sender claims behind its own are queued besides, uncounted: they wait under a
        # lease like any other, and their number is bounded by the conversations held).
        limit = 2 * self.workers
        while not self._stop.is_set():
            self._wake.clear()
            wait = self.poll_interval
            try:
                with self._room:
                    while len(self._polled) >= limit and not self._stop.is_set():
                        self._room.wait(self.poll_interval)
                    room = limit - len(self._polled)
                if self._stop.is_set():
                    break
                if self._dispatch(min(self.batch, room * 4)):
                    wait = 0.0  # there may be more: claim again at once
                failures = 0
            except Exception:
                failures += 1
                wait = min(5.0, self.poll_interval * 2**failures)
                logger.exception("outbox: delivery pass failed; retrying in %.1fs", wait)
            if self.maintenance_interval and time.monotonic() >= next_maintenance:
                next_maintenance = time.monotonic() + self.maintenance_interval
                try:
                    self._maintenance()
                except Exception:
                    logger.exception("outbox: retention pass failed")
            if wait:
                self._wake.wait(wait)
