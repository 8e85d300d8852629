"""Benchmark of the dashboards' data requests on a store holding months of history.

1. Seed: ``--days`` days at ``--jobs-per-day`` jobs (default 90 days at 10,000, the issue's volume) with
   ``tests.seed_store`` -- job_runs, cpu_metrics, error_events, the job and API metrics in metric_points
   and metric_rollups -- then one maintenance pass (views refreshed, retention applied), timed; then
   ``VACUUM (ANALYZE)``, which autovacuum would do to these insert-only tables soon after.
2. For each dashboard and each time range it offers: ``run_dashboard(conn, name, range)`` -- every panel's
   query, the whole data of one page load, in its read-only transaction -- timed end to end from Python:
   *cold* is the first request on a new connection right after PostgreSQL restarted (empty shared buffers;
   the OS page cache is not dropped), *warm* is ``--rounds`` more on that connection (median, p95).
3. Side by side, the floor: a ``SELECT 1`` round trip on the same connection.
4. Per panel (warm median), so a dashboard over the 300 ms target names its slow query.

Postgres is ``DATABASE_URL`` when set (a database is created and dropped on it; no restart, so no cold
column), else an embedded server in a temporary directory (default settings). Run::

    .venv/bin/python bench/bench_dashboards.py --days 90 --jobs-per-day 10000 --rounds 20
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench_sink import postgres  # noqa: E402

from rythmiq_otel.console.dashboards import (  # noqa: E402
    DASHBOARDS,
    Panel,
    TimeRange,
    dashboard_names,
    run_dashboard,
    time_range,
)
from rythmiq_otel.console.dashboards._run import read_only, run_panel  # noqa: E402
from rythmiq_otel.store import _embedded  # noqa: E402
from tests.seed_store import seed  # noqa: E402

TARGET_MS = 300.0
EXPLAIN_MS = 100.0  # a panel slower than this gets its plan printed
EXPLAIN_LINES = 40


def _ms(seconds: float) -> float:
    return seconds * 1000


def _timed(action: Callable[..., Any], *args: Any) -> float:
    began = time.perf_counter()
    action(*args)
    return _ms(time.perf_counter() - began)


def _one_panel(conn: psycopg.Connection, panel: Panel, chosen: TimeRange) -> None:
    with read_only(conn):
        run_panel(conn, panel, chosen)


def _measure(url: str, pgdata: Path | None, name: str, key: str,
             rounds: int) -> tuple[float | None, list[float], list[tuple[str, float]]]:
    """Cold (after a restart) and warm times of one page's data, and each panel's warm median."""
    _restart(pgdata)
    with _connection(url) as conn:
        cold = _timed(run_dashboard, conn, name, key) if pgdata else None
        warm = [_timed(run_dashboard, conn, name, key) for _ in range(rounds)]
        chosen = time_range(key)
        per_panel = [
            (panel.name, statistics.median(_timed(_one_panel, conn, panel, chosen) for _ in range(5)))
            for panel in DASHBOARDS[name].panels
        ]
    return cold, warm, per_panel


def _p95(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def _ranges(name: str) -> list[str]:
    dashboard = DASHBOARDS[name]
    return list(dashboard.ranges) or [dashboard.default_range]


@contextmanager
def _connection(url: str) -> Iterator[psycopg.Connection]:
    with psycopg.connect(url, autocommit=True) as conn:
        yield conn


def _restart(pgdata: Path | None) -> None:
    """Restart the embedded server (empties shared buffers); a no-op on ``DATABASE_URL``."""
    if pgdata is not None:
        _embedded.stop(pgdata)
        _embedded.start(pgdata)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=float, default=90)
    parser.add_argument("--jobs-per-day", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()

    with postgres() as (url, pid):
        # The embedded server's data directory is its postmaster's working directory.
        pgdata = Path(os.readlink(f"/proc/{pid}/cwd")) if pid is not None else None
        with _connection(url) as conn:
            summary = seed(conn, days=args.days, jobs_per_day=args.jobs_per_day, trace_jobs=20,
                           progress=lambda line: print(f"  {line}", flush=True))
            # What autovacuum does to an insert-only table soon after (PostgreSQL 13+): statistics, and the
            # visibility map that lets the covering indexes answer without reading the table.
            began = time.perf_counter()
            conn.execute("VACUUM (ANALYZE) job_runs, cpu_metrics, error_events, metric_points, "
                         "metric_rollups")
            print(f"VACUUM (ANALYZE) of the seeded tables: {time.perf_counter() - began:.0f} s", flush=True)
            sizes = conn.execute("""
                SELECT (SELECT count(*) FROM metric_points), (SELECT count(*) FROM metric_rollups),
                       pg_size_pretty(pg_database_size(current_database()))""").fetchone()
        print(f"seeded {summary.jobs:,} jobs ({summary.failed:,} failed) over {args.days:g} days in "
              f"{summary.seconds:.0f} s; metric_points {sizes[0]:,}, metric_rollups {sizes[1]:,}, "
              f"database {sizes[2]}", flush=True)

        print(f"\n| dashboard | range | cold ms | warm median ms | warm p95 ms | vs {TARGET_MS:.0f} ms |")
        print("| --- | --- | ---: | ---: | ---: | ---: |")
        panel_times: dict[tuple[str, str], list[tuple[str, float]]] = {}
        for name in dashboard_names():
            for key in _ranges(name):
                cold, warm, panel_times[name, key] = _measure(url, pgdata, name, key, args.rounds)
                median = statistics.median(warm)
                cold_text = f"{cold:.0f}" if cold is not None else "-"
                print(f"| {name} | {key} | {cold_text} | {median:.0f} | {_p95(warm):.0f} | "
                      f"{median / TARGET_MS:.2f}x |", flush=True)

        with _connection(url) as conn:
            floor = [_timed(conn.execute, "SELECT 1") for _ in range(args.rounds)]
        print(f"\nfloor: SELECT 1 round trip, median {statistics.median(floor):.2f} ms")

        print("\nslowest panels (warm median ms, 5 runs each):")
        for (name, key), per_panel in panel_times.items():
            slow = sorted(per_panel, key=lambda item: -item[1])[:3]
            print(f"  {name} {key}: " + ", ".join(f"{panel} {ms:.0f}" for panel, ms in slow))

        print(f"\nplans of the panels over {EXPLAIN_MS:.0f} ms (EXPLAIN ANALYZE, warm):")
        with _connection(url) as conn:
            for (name, key), per_panel in panel_times.items():
                for panel_name, ms in per_panel:
                    if ms > EXPLAIN_MS:
                        _explain(conn, DASHBOARDS[name].panel(panel_name), time_range(key), f"{name} {key}")


def _explain(conn: psycopg.Connection, panel: Panel, chosen: TimeRange, where: str) -> None:
    """The panel's plan with its timings, the lines that cost the most first (the top of the tree)."""
    with read_only(conn):
        rows = conn.execute("EXPLAIN (ANALYZE, BUFFERS) " + panel.sql, chosen.params()).fetchall()
    print(f"\n--- {where}: {panel.name}")
    for (line,) in rows[:EXPLAIN_LINES]:
        print(f"    {line}")


if __name__ == "__main__":
    main()
