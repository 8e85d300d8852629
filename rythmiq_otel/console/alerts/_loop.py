"""The alert loop ``rythmiq-otel up`` runs beside the sink: record an evaluation every interval, post
what is due in between.

Each round uses a short-lived connection of its own (like the sink's maintenance), so a database restart
costs one failed round, logged, not the loop. With several ``up`` processes on one database each runs
the loop; the advisory lock in ``record`` and the ``SKIP LOCKED`` claim in ``deliver_due`` make one of
them do each round and each post.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

import psycopg

from .._errors import first_line
from ._settings import AlertSettings
from ._state import record
from ._webhook import deliver_due, next_due_in

log = logging.getLogger("rythmiq_otel.alerts")

#: Never wake more often than this to look for due posts (a busy receiver's backoff is 10 s or more).
MIN_WAKE_SECONDS = 1.0


def alert_round(database_url: str, settings: AlertSettings, *, evaluate: bool = True) -> float | None:
    """One round: record an evaluation (unless ``evaluate`` is false), then post what is due.

    Returns the seconds until the next post is due, ``None`` when nothing waits.
    """
    with psycopg.connect(database_url, autocommit=True, connect_timeout=5) as conn:
        if evaluate:
            record(conn, settings)
        deliver_due(conn, settings)
        return next_due_in(conn) if settings.webhook_url else None


class AlertLoop(threading.Thread):
    """Runs ``alert_round`` every ``settings.interval_seconds`` until stopped; failures are logged."""

    def __init__(self, database_url: str, settings: AlertSettings) -> None:
        super().__init__(name="rythmiq-alerts", daemon=True)
        self._url = database_url
        self._settings = settings
        self._stop_event = threading.Event()

    def run(self) -> None:
        interval = self._settings.interval_seconds
        next_evaluation = time.monotonic()
        while not self._stop_event.is_set():
            evaluate = time.monotonic() >= next_evaluation
            if evaluate:
                next_evaluation = time.monotonic() + interval
            due_in = None
            try:
                due_in = alert_round(self._url, self._settings, evaluate=evaluate)
            except Exception as err:  # the alerts must never take `up` down; the next round retries
                log.warning("alert round failed: %s", first_line(err))
            wait = next_evaluation - time.monotonic()
            if due_in is not None:
                wait = min(wait, due_in)
            self._stop_event.wait(max(wait, MIN_WAKE_SECONDS))

    def stop(self, timeout: float = 15.0) -> None:
        """Ask the loop to finish after its current round and wait for it."""
        self._stop_event.set()
        if self.is_alive():
            self.join(timeout)


def start_alert_loop(
    database_url: str, settings: AlertSettings, say: Callable[[str], None] = print
) -> Callable[[], None]:
    """Start the loop (unless ``RYTHMIQ_ALERT_INTERVAL_SECONDS`` is 0) and return how to stop it."""
    if settings.interval_seconds <= 0:
        say("alerts: off (RYTHMIQ_ALERT_INTERVAL_SECONDS=0)")
        return lambda: None
    loop = AlertLoop(database_url, settings)
    loop.start()
    target = "posting incidents to the webhook" if settings.webhook_url else "no webhook configured"
    say(f"alerts: evaluating {sum(r.enabled for r in settings.rules)} rules every "
        f"{settings.interval_seconds:g} s, {target}")
    return loop.stop
