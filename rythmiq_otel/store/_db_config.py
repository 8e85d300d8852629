"""Settings that live in the database (``rythmiq_config``) because SQL functions read them."""

from __future__ import annotations

import psycopg


def write_cpu_budget(conn: psycopg.Connection, hours: float) -> None:
    """Store the monthly CPU budget that ``get_monthly_cpu_usage()`` uses when called without one."""
    with conn.transaction():
        conn.execute(
            "INSERT INTO rythmiq_config (key, value) VALUES ('cpu_budget_hours', %s)"
            " ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, updated_at = now()",
            (repr(float(hours)),),
        )
