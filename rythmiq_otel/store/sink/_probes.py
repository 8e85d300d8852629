"""What the sink asks Postgres besides writing: readiness, the §3.2 gauges, and periodic maintenance.

All three use a short-lived connection of their own so they never wait behind a batch being written.
Maintenance (partitions ahead, retention, view refresh) is the store's ``run_maintenance``; with N sink
replicas it must run once, not N times, so each run first takes a session advisory lock and skips the
round when another replica holds it.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable

import psycopg

log = logging.getLogger("rythmiq_otel.sink")
#: Advisory lock key of the sink's maintenance round ("rythmiq.sink.maintenance", fixed).
MAINTENANCE_LOCK_KEY = 0x5259_4D51_4D41_494E


def readiness(database_url: str) -> str | None:
    """``None`` when Postgres is reachable and fully migrated, else why not (one sentence)."""
    from rythmiq_otel.store import MigrationError, pending_migrations

    try:
        with psycopg.connect(database_url, connect_timeout=2, autocommit=True) as conn:
            pending = pending_migrations(conn)
    except psycopg.Error as err:
        return f"Postgres is unreachable ({type(err).__name__})"
    except MigrationError as err:
        return str(err)
    if pending:
        return f"{len(pending)} migration(s) not applied; run `rythmiq-otel migrate`"
    return None


class CachedProbe:
    """A probe answered from its last result for ``ttl`` seconds, and run by one caller at a time.

    ``/readyz`` needs no token (orchestrators call it), so without this a flood of it opened one Postgres
    connection per call and cut authenticated ingest by 84 %; now it costs at most one connection a second.
    """

    def __init__(self, probe: Callable[[], str | None], ttl: float = 1.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._probe = probe
        self._ttl = ttl
        self._clock = clock
        self._lock = threading.Lock()
        self._at = -math.inf
        self._value: str | None = None

    def fresh(self) -> bool:
        """Whether the cached answer may be given without probing (cheap: for the event loop)."""
        return self._clock() - self._at < self._ttl

    @property
    def value(self) -> str | None:
        """The last answer."""
        return self._value

    def __call__(self) -> str | None:
        with self._lock:
            if not self.fresh():
                self._value = self._probe()
                self._at = self._clock()
            return self._value


def business_gauges(database_url: str) -> dict[str, float]:
    """The §3.2 gauges computed from Postgres (empty when Postgres is unreachable)."""
    try:
        with psycopg.connect(database_url, connect_timeout=2, autocommit=True) as conn:
            rows = conn.execute("SELECT metric_name, value FROM business_gauges()").fetchall()
    except psycopg.Error:
        return {}
    return {name: float(value) for name, value in rows}


def maintain_once(database_url: str, run: Callable[[psycopg.Connection], object] | None = None) -> bool:
    """Run one maintenance round unless another replica is running one; returns whether it ran."""
    if run is None:
        from rythmiq_otel.store import run_maintenance as run
    with psycopg.connect(database_url, connect_timeout=5, autocommit=True) as conn:
        got = conn.execute("SELECT pg_try_advisory_lock(%s)", (MAINTENANCE_LOCK_KEY,)).fetchone()
        if not got or not got[0]:
            return False
        try:
            run(conn)
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (MAINTENANCE_LOCK_KEY,))
    return True


class MaintenanceThread(threading.Thread):
    """Calls ``maintain_once`` every ``interval`` seconds until stopped; failures are logged, not raised."""

    def __init__(self, database_url: str, interval: float) -> None:
        super().__init__(name="rythmiq-sink-maintenance", daemon=True)
        self._url = database_url
        self._interval = interval
        self._stop_event = threading.Event()

    def run(self) -> None:
        while not self._stop_event.wait(self._interval):
            try:
                maintain_once(self._url)
            except Exception as err:  # maintenance must never take the sink down
                log.warning("maintenance round failed: %s", err)

    def stop(self) -> None:
        """Ask the thread to finish after the current round."""
        self._stop_event.set()
