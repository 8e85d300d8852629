"""One maintenance pass (migration 0007 via ``run_maintenance``): §4.5 retention, the year-long daily CPU
history, view refresh, and safe concurrency."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

import psycopg

from rythmiq_otel.store import MaintenanceStep, run_maintenance


def _now(conn: psycopg.Connection) -> datetime:
    (now,) = conn.execute("SELECT now()").fetchone() or ()
    return now


def _add_job(conn: psycopg.Connection, at: datetime, cpu_seconds: float) -> uuid.UUID:
    job_id = uuid.uuid4()
    conn.execute(
        "INSERT INTO job_runs (job_id, status, created_at) VALUES (%s, 'failed', %s);",
        (job_id, at),
    )
    conn.execute(
        "INSERT INTO cpu_metrics (job_id, total_cpu_seconds, processing_path, created_at)"
        " VALUES (%s, %s, 'standard', %s)", (job_id, cpu_seconds, at),
    )
    conn.execute(
        "INSERT INTO error_events (job_id, error_code, error_stage, created_at)"
        " VALUES (%s, 'OCR_FAILURE', 'ocr', %s)", (job_id, at),
    )
    return job_id


def _count(conn: psycopg.Connection, table: str) -> int:
    (n,) = conn.execute(f"SELECT count(*) FROM {table}".encode()).fetchone() or ()
    return n


def test_retention_keeps_90_days_of_metrics_and_errors_and_every_job(conn: psycopg.Connection) -> None:
    now = _now(conn)
    for age in (1, 89, 92, 200):
        _add_job(conn, now - timedelta(days=age), cpu_seconds=3600.0)
    steps = run_maintenance(conn)
    assert MaintenanceStep("rows deleted", "cpu_metrics", 2) in steps
    assert MaintenanceStep("rows deleted", "error_events", 2) in steps
    assert (_count(conn, "cpu_metrics"), _count(conn, "error_events"), _count(conn, "job_runs")) == (2, 2, 4)


def test_daily_cpu_history_outlives_the_raw_rows_for_a_year(conn: psycopg.Connection) -> None:
    now = _now(conn)
    ages = (1, 120, 300, 400)
    for age in ages:
        _add_job(conn, now - timedelta(days=age), cpu_seconds=7200.0)
    run_maintenance(conn)
    days = conn.execute("SELECT day, jobs, total_cpu_hours FROM cpu_metrics_daily ORDER BY day").fetchall()
    expected_days = [(now - timedelta(days=age)).replace(hour=0, minute=0, second=0, microsecond=0)
                     for age in sorted(ages[:3], reverse=True)]
    assert days == [(d, 1, 2.0) for d in expected_days]  # the 400-day-old day is past the 1-year archive
    assert _count(conn, "cpu_metrics") == 1
    assert _count(conn, "cpu_metrics_hourly") == 1  # hourly follows the 90-day raw table


def test_views_show_new_rows_after_a_pass(conn: psycopg.Connection) -> None:
    now = _now(conn)
    run_maintenance(conn)
    assert _count(conn, "error_events_daily") == 0
    _add_job(conn, now - timedelta(minutes=5), cpu_seconds=1.5)
    assert _count(conn, "cpu_metrics_daily") == 0  # materialized: stale until refreshed
    run_maintenance(conn)
    assert conn.execute("SELECT error_code, count FROM error_events_daily").fetchall() == [("OCR_FAILURE", 1)]
    assert conn.execute("SELECT jobs, total_cpu_seconds FROM cpu_metrics_hourly").fetchall() == [(1, 1.5)]


def test_second_pass_has_nothing_left_to_do(conn: psycopg.Connection) -> None:
    now = _now(conn)
    _add_job(conn, now - timedelta(days=100), cpu_seconds=10.0)
    run_maintenance(conn)
    steps = run_maintenance(conn)
    assert [s for s in steps if s.step != "views refreshed" and s.affected] == []


def test_a_pass_skips_while_another_is_running(conn: psycopg.Connection, database_url: str) -> None:
    with psycopg.connect(database_url) as other:
        other.execute("SELECT pg_advisory_xact_lock(hashtext('rythmiq.maintenance'))")
        steps = run_maintenance(conn)
    assert steps == [MaintenanceStep("skipped", "another maintenance run is in progress", 0)]


def test_pass_creates_partitions_for_data_that_arrived_early(conn: psycopg.Connection) -> None:
    (later,) = conn.execute("SELECT now() + interval '30 days'").fetchone() or ()
    conn.execute(
        "INSERT INTO spans (trace_id, span_id, name, start_time) VALUES ('t', 's', 'n', %s)", (later,)
    )
    steps = run_maintenance(conn)
    assert MaintenanceStep("partitions created", "spans", 1) in steps
    (where,) = conn.execute("SELECT tableoid::regclass::text FROM spans").fetchone() or ()
    assert where == f"spans_p{later:%Y%m%d}"
