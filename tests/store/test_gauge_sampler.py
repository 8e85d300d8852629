"""The §3.2 gauges sampled into metric_points each minute (§3.3), and one UTC month everywhere."""

from __future__ import annotations

import uuid

import psycopg

from rythmiq_otel import vocab
from rythmiq_otel.store._gauge_sampler import sample_gauges
from tests.store.sink.sink_helpers import sink_process, wait_until

GAUGES = {vocab.METRIC_CPU_HOURS_MONTH, vocab.METRIC_JOBS_IN_PROGRESS}


def _add_usage(conn: psycopg.Connection, cpu_seconds: float, at: str = "now()") -> None:
    conn.execute(f"INSERT INTO cpu_metrics (job_id, total_cpu_seconds, created_at) VALUES (%s, %s, {at})",
                 (uuid.uuid4(), cpu_seconds))


def test_a_sample_writes_each_gauge_once_a_minute_and_the_rollups_have_it(conn: psycopg.Connection) -> None:
    _add_usage(conn, 7200)
    for _ in range(3):
        conn.execute("INSERT INTO job_runs (job_id, status) VALUES (%s, 'processing')", (uuid.uuid4(),))
    assert sample_gauges(conn) == 2
    assert sample_gauges(conn) == 0  # the same minute again (another replica, a restart): nothing new
    points = dict(conn.execute(
        "SELECT metric_name, value FROM metric_points WHERE kind = 'gauge' AND \"time\" = "
        "date_trunc('minute', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'").fetchall())
    assert points == {vocab.METRIC_CPU_HOURS_MONTH: 2.0, vocab.METRIC_JOBS_IN_PROGRESS: 3.0}
    conn.execute("SELECT rollup_metrics(now() - interval '1 hour', now() + interval '1 minute')")
    rolled = {(name, resolution) for name, resolution in conn.execute(
        "SELECT metric_name, resolution FROM metric_rollups WHERE metric_name = ANY(%s)", (list(GAUGES),))}
    assert rolled == {(name, res) for name in GAUGES for res in ("5 minutes", "1 hour")}


def test_the_month_is_the_utc_month_whatever_the_session_time_zone(conn: psycopg.Connection) -> None:
    # 00:30 UTC on the 1st is still last month in Los Angeles (and the sample would differ from the report).
    utc_month_start = "date_trunc('month', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'"
    _add_usage(conn, 3600, f"{utc_month_start} + interval '30 minutes'")
    utc = conn.execute("SELECT month_start, used_hours FROM get_monthly_cpu_usage()").fetchone()
    conn.execute("SET TIME ZONE 'America/Los_Angeles'")
    local = conn.execute("SELECT month_start, used_hours FROM get_monthly_cpu_usage()").fetchone()
    gauge = conn.execute("SELECT value FROM business_gauges() WHERE metric_name = %s",
                         (vocab.METRIC_CPU_HOURS_MONTH,)).fetchone()
    assert utc == local
    assert utc is not None and utc[1] == 1.0
    assert gauge == (1.0,)


def test_a_sink_with_maintenance_on_samples_the_gauges(database_url: str) -> None:
    def sampled() -> set[str]:
        with psycopg.connect(database_url) as conn:
            rows = conn.execute("SELECT metric_name FROM metric_points WHERE kind = 'gauge'")
            return {row[0] for row in rows}

    with sink_process(database_url, "--maintenance-interval", "3600"):
        wait_until(lambda: sampled() == GAUGES, what="the sink's first gauge sample")
