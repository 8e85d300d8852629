"""Periodic upkeep of the store: partitions ahead, metric rollups, retention, materialized-view refresh.

The work itself is one SQL function, ``rythmiq_maintenance()`` (migration 0007), so the sink's scheduler,
``rythmiq-otel maintain`` and pg_cron (where installed) all run exactly the same thing. This module is the
Python door to it.
"""

from __future__ import annotations

from dataclasses import dataclass

import psycopg


@dataclass(frozen=True)
class MaintenanceStep:
    """One line of a maintenance run's report, e.g. ``("partitions dropped", "logs", 3)``."""

    step: str
    target: str
    affected: int

    def __str__(self) -> str:
        return f"{self.step}: {self.target} ({self.affected})"


def run_maintenance(conn: psycopg.Connection) -> list[MaintenanceStep]:
    """Run one maintenance pass in its own transaction and return what it did.

    Safe to call from several processes at once (sink replicas, pg_cron): a pass that finds another one in
    progress returns a single ``skipped`` step instead of waiting.
    """
    with conn.transaction():
        rows = conn.execute("SELECT step, target, affected FROM rythmiq_maintenance()").fetchall()
    return [MaintenanceStep(step, target, int(affected)) for step, target, affected in rows]
