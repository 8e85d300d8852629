"""Run a dashboard's queries: the data of a page, which is also its JSON twin.

``run_dashboard(conn, "operations", "24h")`` is the whole contract the pages, the JSON endpoints, the
tests and the benchmark share: every panel's rows plus what is needed to draw and judge them. It runs in
one read-only transaction with the session in UTC, so a dashboard is one consistent snapshot and can
never write, whatever the role it connects as.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

import psycopg

from ._definitions import DASHBOARDS
from ._model import Dashboard, Panel
from ._ranges import TimeRange, time_range

__all__ = ["dashboard_names", "jsonable", "read_only", "run_dashboard", "run_panel"]


def dashboard_names() -> list[str]:
    """The dashboards' names, in menu order: ``["operations", "cost", "product"]``."""
    return list(DASHBOARDS)


def _dashboard(name: str) -> Dashboard:
    try:
        return DASHBOARDS[name]
    except KeyError:
        raise ValueError(f"no dashboard called {name[:40]!r}; there are {', '.join(DASHBOARDS)}") from None


def _resolve(dashboard: Dashboard, key: str | None, now: datetime | None) -> TimeRange:
    key = key or dashboard.default_range
    if dashboard.ranges and key not in dashboard.ranges:
        raise ValueError(
            f"the {dashboard.name} dashboard shows {', '.join(dashboard.ranges)}, got {key[:40]!r}"
        )
    chosen = time_range(key, now=now)
    if not dashboard.ranges and chosen.key in ("24h", "7d", "30d"):
        raise ValueError(f"the {dashboard.name} dashboard shows a month (month or YYYY-MM), got {key!r}")
    return chosen


@contextmanager
def read_only(conn: psycopg.Connection) -> Iterator[psycopg.Connection]:
    """``with read_only(conn):`` -- a read-only transaction in UTC (a savepoint if one is open), with a
    statement timeout far above the spec's 5 s page budget so a runaway query cannot pin the store."""
    with conn.transaction():
        conn.execute("SET LOCAL transaction_read_only = on")
        conn.execute("SET LOCAL TimeZone = 'UTC'")
        conn.execute("SET LOCAL statement_timeout = '30s'")
        yield conn


def jsonable(value: Any) -> Any:
    """A value from a row as JSON: times ISO 8601, UUIDs as text, NaN as null, numbers as numbers."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, Decimal):
        value = float(value)
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _exists(conn: psycopg.Connection, relation: str) -> bool:
    row = conn.execute("SELECT to_regclass(%s) IS NOT NULL", (relation,)).fetchone()
    return bool(row and row[0])


def run_panel(conn: psycopg.Connection, panel: Panel, chosen: TimeRange) -> dict[str, Any]:
    """One panel's definition and rows (``rows`` is ``None`` with a ``missing`` sentence when it cannot
    run, e.g. alerts before they are configured)."""
    meta: dict[str, Any] = {
        "title": panel.title,
        "visualisation": panel.visualisation,
        "unit": panel.unit,
        "counts": panel.counts,
        "empty": panel.empty,
        "target": asdict(panel.target) if panel.target else None,
        "compare": panel.compare,
        "of": panel.of,
        "series": list(panel.series),
        "links": panel.links,
        "width": panel.width,
    }
    if panel.requires and not _exists(conn, panel.requires):
        return {**meta, "columns": [], "rows": None,
                "missing": f"{panel.title.lower()} not configured (no {panel.requires} in the store yet)"}
    with conn.cursor() as cur:
        cur.execute(panel.sql, chosen.params())
        columns = [c.name for c in cur.description or ()]
        rows = [{c: jsonable(v) for c, v in zip(columns, row, strict=True)} for row in cur.fetchall()]
    return {**meta, "columns": columns, "rows": rows, "missing": None}


def run_dashboard(
    conn: psycopg.Connection, name: str, time_range: str | None = None, *, now: datetime | None = None
) -> dict[str, Any]:
    """Every panel of dashboard ``name`` over ``time_range``, as JSON-ready data.

    Args:
        conn: a connection to the store (any role that may SELECT; nothing is written).
        name: one of :func:`dashboard_names`.
        time_range: ``24h``, ``7d``, ``30d``, ``month`` or ``YYYY-MM`` as the dashboard allows; ``None``
            for its default.
        now: the clock (tests); default the current time.

    Returns:
        ``{"dashboard", "title", "answers", "refresh_seconds", "ranges", "range": {"key", "label",
        "start", "end", "bucket_seconds"}, "panels": {panel name: {"title", "visualisation", "unit",
        "counts", "target", "columns", "rows", "missing", ...}}}``.

    Raises:
        ValueError: unknown dashboard or a range it does not offer (one sentence).
    """
    dashboard = _dashboard(name)
    chosen = _resolve(dashboard, time_range, now)
    with read_only(conn):
        panels = {panel.name: run_panel(conn, panel, chosen) for panel in dashboard.panels}
    return {
        "dashboard": dashboard.name,
        "title": dashboard.title,
        "answers": dashboard.answers,
        "refresh_seconds": dashboard.refresh_seconds,
        "ranges": list(dashboard.ranges),
        "range": {
            "key": chosen.key,
            "label": chosen.label,
            "start": chosen.start.isoformat(),
            "end": chosen.end.isoformat(),
            "bucket_seconds": chosen.bucket.total_seconds(),
        },
        "panels": panels,
    }
