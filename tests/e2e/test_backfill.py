"""The demo's history backfill through a real sink process into a real Postgres: what lands in the tables
the dashboards read has the history's shape, spread over the days asked for, and the views show it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from examples._backfill import BackfillError, backfill, history_end
from rythmiq_otel import vocab
from tests.store.sink.sink_helpers import TOKEN, sink_process

pytestmark = pytest.mark.slow

DAYS, PER_DAY = 3, 1200


@pytest.fixture(scope="module")
def filled(migrated_database_factory) -> Iterator[tuple[psycopg.Connection, object, list[str]]]:
    url = migrated_database_factory()
    lines: list[str] = []
    with sink_process(url) as sink:
        result = backfill(sink, TOKEN, url, days=DAYS, jobs_per_day=PER_DAY, seed=7, progress=lines.append)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SET TimeZone = 'UTC'")
        yield conn, result, lines


def _one(conn: psycopg.Connection, query: str) -> object:
    return conn.execute(query).fetchone()[0]


def test_every_job_lands_in_the_derived_tables(filled) -> None:
    conn, result, lines = filled
    assert 0.85 * DAYS * PER_DAY < result.jobs < 1.15 * DAYS * PER_DAY
    assert _one(conn, "SELECT count(*) FROM job_runs") == result.jobs
    assert _one(conn, "SELECT count(*) FROM job_runs WHERE status NOT IN ('completed', 'failed')") == 0
    assert _one(conn, "SELECT count(*) FROM cpu_metrics") == result.jobs
    failed = _one(conn, "SELECT count(*) FROM job_runs WHERE status = 'failed'")
    assert _one(conn, "SELECT count(*) FROM error_events") == failed
    assert 0.003 < failed / result.jobs < 0.02
    assert _one(conn, "SELECT count(*) FROM logs") == result.log_records
    assert _one(conn, "SELECT count(*) FROM spans") == result.spans
    assert len(lines) >= DAYS and "jobs so far" in lines[-2] and "rolling up" in lines[-1]


def test_shape_path_split_codes_and_temperatures(filled) -> None:
    conn, _, _ = filled
    fast = _one(conn, "SELECT avg((processing_path = 'fast')::int) FROM cpu_metrics "
                      "WHERE processing_path IS NOT NULL")
    assert 0.2 < fast < 0.28
    cold = _one(conn, "SELECT avg((execution_temperature = 'cold')::int) FROM job_runs")
    assert 0.015 < cold < 0.05
    codes = dict(conn.execute("SELECT error_code, count(*) FROM error_events GROUP BY 1").fetchall())
    assert set(codes) <= set(vocab.ERROR_CODES) and max(codes, key=codes.get) == "OCR_FAILURE"
    assert _one(conn, "SELECT count(*) FROM error_events e JOIN job_runs j USING (job_id) "
                      "WHERE j.error_code IS DISTINCT FROM e.error_code") == 0
    median = _one(conn, "SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY quality_score) FROM cpu_metrics")
    assert 0.68 < median < 0.78


def test_spread_over_the_days_with_a_daily_rhythm(filled) -> None:
    conn, _, _ = filled
    first, last = conn.execute("SELECT min(created_at), max(created_at) FROM job_runs").fetchone()
    now = datetime.now(UTC)
    assert now - timedelta(days=DAYS, hours=1) < first < now - timedelta(days=DAYS) + timedelta(hours=2)
    assert now - timedelta(hours=2) < last < now
    hours = [n for (n,) in conn.execute("SELECT count(*) FROM job_runs "
                                        "GROUP BY extract(hour FROM created_at)")]
    assert len(hours) == 24 and max(hours) > 3 * min(hours)
    # Past days have their own partitions (nothing waits in DEFAULT).
    assert _one(conn, "SELECT count(*) FROM logs_default") == 0
    assert _one(conn, "SELECT count(*) FROM metric_points_default") == 0


def test_metrics_rolled_up_and_views_refreshed(filled) -> None:
    conn, result, _ = filled
    assert _one(conn, "SELECT count(*) FROM metric_points") == result.metric_points
    finished = _one(conn, "SELECT sum(value_sum) FROM metric_rollups WHERE resolution = '1 hour' "
                          f"AND metric_name = '{vocab.METRIC_JOBS_TOTAL}'")
    assert finished == result.jobs
    api = _one(conn, "SELECT sum(value_sum) FROM metric_rollups WHERE resolution = '1 hour' "
                     f"AND metric_name = '{vocab.METRIC_API_REQUESTS}' AND attributes ->> 'path' = '/jobs'")
    assert api == result.jobs
    assert _one(conn, "SELECT sum(jobs) FROM cpu_metrics_daily") == result.jobs
    assert _one(conn, "SELECT count(*) FROM cpu_metrics_daily") >= DAYS
    errors = _one(conn, "SELECT count(*) FROM error_events")
    assert _one(conn, "SELECT sum(count) FROM error_events_daily") == errors


def test_history_end_fills_only_the_days_before_the_store_s_first_job(filled, database_url: str) -> None:
    conn, _, _ = filled
    url = conn.info.dsn
    assert history_end(url, DAYS - 0.5) is None  # the store already goes back that far
    assert history_end(url, DAYS + 5) is not None
    empty_end = history_end(database_url, 1)
    assert empty_end is not None and abs((empty_end - datetime.now(UTC)).total_seconds()) < 60


def test_a_refusing_sink_is_one_sentence(database_url: str) -> None:
    with sink_process(database_url) as sink, pytest.raises(BackfillError, match="HTTP 401"):
        backfill(sink, "wrong-token", database_url, days=0.05, jobs_per_day=500)
