"""Sample the §3.2 gauges into ``metric_points`` once a minute (§3.3), so rollups and dashboards have them.

The gauges are computed from the store itself (``business_gauges()``, migration 0016), so no service
exports them; the sink used to publish them only on ``/metrics``. A sink that runs the store's periodic
work (maintenance on) also runs this thread: each minute it calls ``sample_business_gauges()``, which
writes one point per gauge for the current UTC minute -- a second replica sampling the same minute adds
nothing. A failed sample is logged and the next minute tries again; it never takes the sink down.
"""

from __future__ import annotations

import logging
import threading
import time

import psycopg

__all__ = ["GaugeSampler", "sample_gauges"]

log = logging.getLogger("rythmiq_otel.store")
INTERVAL_S = 60.0


def sample_gauges(conn: psycopg.Connection) -> int:
    """Write this minute's gauge points; returns how many were new (0 when the minute was sampled)."""
    row = conn.execute("SELECT sample_business_gauges()").fetchone()
    return int(row[0]) if row else 0


class GaugeSampler(threading.Thread):
    """Samples at start, then just after every minute boundary, until ``stop()``."""

    def __init__(self, database_url: str, interval: float = INTERVAL_S) -> None:
        super().__init__(name="rythmiq-gauge-sampler", daemon=True)
        self._url = database_url
        self._interval = interval
        self._stop_event = threading.Event()

    def run(self) -> None:
        while True:
            try:
                with psycopg.connect(self._url, connect_timeout=5, autocommit=True) as conn:
                    sample_gauges(conn)
            except psycopg.Error as err:  # the next minute tries again
                log.warning("sampling the business gauges failed: %s", err)
            if self._stop_event.wait(self._interval - time.time() % self._interval + 0.5):
                return

    def stop(self) -> None:
        self._stop_event.set()
        self.join(timeout=5)
