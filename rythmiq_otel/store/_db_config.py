"""Settings that live in the database (``rythmiq_config``) because SQL functions read them."""

from __future__ import annotations

from typing import TYPE_CHECKING

import psycopg

if TYPE_CHECKING:
    from ._settings import StoreSettings


def write_configured_settings(conn: psycopg.Connection, settings: StoreSettings) -> None:
    """Store the settings SQL reads that were configured; defaulted ones leave the stored value alone.

    Called after migrating, by ``rythmiq-otel migrate`` and ``rythmiq-otel up``.
    """
    if settings.cpu_budget_from_env:
        write_cpu_budget(conn, settings.cpu_budget_hours)


def write_cpu_budget(conn: psycopg.Connection, hours: float) -> None:
    """Store the monthly CPU budget that ``get_monthly_cpu_usage()`` uses when called without one."""
    with conn.transaction():
        conn.execute(
            "INSERT INTO rythmiq_config (key, value) VALUES ('cpu_budget_hours', %s)"
            " ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, updated_at = now()",
            (repr(float(hours)),),
        )
