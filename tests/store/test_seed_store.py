"""``tests.seed_store`` against a real migrated store: what it writes has the history's shape, adds up
across tables and rollups, and is what the dashboards read (views refreshed, traces for the latest jobs)."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from examples import _history_shape as shape
from rythmiq_otel import vocab
from tests.seed_store import SeedSummary, seed

END = datetime(2026, 11, 18, 15, 30, tzinfo=UTC)  # a Wednesday afternoon
DAYS, PER_DAY = 4, 2500


@pytest.fixture(scope="module")
def seeded(migrated_database_factory: Callable[[], str]) -> Iterator[tuple[psycopg.Connection, SeedSummary]]:
    """One seeded store for the read-only tests of this module."""
    with psycopg.connect(migrated_database_factory(), autocommit=True) as conn:
        conn.execute("SET TimeZone = 'UTC'")
        yield conn, seed(conn, days=DAYS, jobs_per_day=PER_DAY, end=END, trace_jobs=5)


def _rows(conn: psycopg.Connection, query: str, *params: object) -> list[tuple]:
    return conn.execute(query, params or None).fetchall()


def test_volume_status_and_date_spread(seeded: tuple[psycopg.Connection, SeedSummary]) -> None:
    conn, summary = seeded
    assert summary.start == END - timedelta(days=DAYS) and summary.end == END
    assert 0.85 * DAYS * PER_DAY < summary.jobs < 1.15 * DAYS * PER_DAY
    assert summary.jobs == summary.completed + summary.failed + summary.in_progress
    [(first, last)] = _rows(conn, "SELECT min(created_at), max(created_at) FROM job_runs")
    assert summary.start <= first < summary.start + timedelta(hours=1)
    assert END - timedelta(minutes=10) < last < END
    per_day = dict(_rows(conn, "SELECT created_at::date, count(*) FROM job_runs GROUP BY 1"))
    assert len(per_day) == DAYS + 1  # the first and the last day are partial
    per_hour = [n for _, n in _rows(conn, "SELECT extract(hour FROM created_at), count(*) FROM job_runs "
                                          "WHERE created_at::date = %s GROUP BY 1",
                                    (END - timedelta(days=1)).date())]
    assert len(per_hour) == 24 and max(per_hour) > 3 * min(per_hour)  # the daily rhythm


def test_paths_temperatures_and_cpu(seeded: tuple[psycopg.Connection, SeedSummary]) -> None:
    conn, summary = seeded
    paths = dict(_rows(conn, "SELECT coalesce(processing_path, '-'), count(*) FROM cpu_metrics GROUP BY 1"))
    fast_share = paths["fast"] / (paths["fast"] + paths["standard"])
    assert 0.21 < fast_share < 0.27
    cold = _rows(conn, "SELECT count(*) FILTER (WHERE execution_temperature = 'cold') * 1.0 / count(*) "
                       "FROM cpu_metrics")[0][0]
    assert 0.02 < cold < 0.04
    avg = dict(_rows(conn, "SELECT processing_path, avg(total_cpu_seconds) FROM cpu_metrics "
                           "WHERE processing_path IS NOT NULL GROUP BY 1"))
    assert 0.25 < avg["fast"] < 0.4 and 0.7 < avg["standard"] < 0.95
    # Fast path: quality at or above the threshold, enhancement skipped and costing nothing.
    assert _rows(conn, "SELECT count(*) FROM cpu_metrics WHERE processing_path = 'fast' "
                       "AND (quality_score < 0.85 OR NOT enhancement_skipped "
                       "OR enhancement_cpu_seconds > 0)") == [(0,)]
    [(median_quality, median_ocr)] = _rows(conn, """
        SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY quality_score),
               percentile_cont(0.5) WITHIN GROUP (ORDER BY ocr_confidence) FROM cpu_metrics""")
    assert 0.68 < median_quality < 0.78 and 0.75 < median_ocr < 0.86
    assert _rows(conn, "SELECT count(*) FROM cpu_metrics c JOIN job_runs j USING (job_id) "
                       "WHERE j.status NOT IN ('completed', 'failed')") == [(0,)]
    assert summary.completed + summary.failed == _rows(conn, "SELECT count(*) FROM cpu_metrics")[0][0]


def test_errors_match_failed_jobs(seeded: tuple[psycopg.Connection, SeedSummary]) -> None:
    conn, summary = seeded
    assert 0.004 < summary.failed / summary.jobs < 0.02
    assert summary.error_events == summary.failed
    assert _rows(conn, """
        SELECT count(*) FROM error_events e JOIN job_runs j USING (job_id)
        WHERE j.status = 'failed' AND j.error_code = e.error_code AND j.error_stage = e.error_stage
          AND e.created_at = j.completed_at""") == [(summary.failed,)]
    codes = _rows(conn, "SELECT error_code, error_stage, count(*) FROM error_events "
                        "GROUP BY 1, 2 ORDER BY 3 DESC")
    assert codes[0][0] == "OCR_FAILURE"
    assert all(code in vocab.ERROR_CODES and stage == shape.ERROR_STAGE[code] for code, stage, _ in codes)
    assert len(codes) >= 6


def test_metrics_and_rollups_add_up(seeded: tuple[psycopg.Connection, SeedSummary]) -> None:
    conn, summary = seeded
    finished = summary.completed + summary.failed
    by_metric = dict(_rows(conn, """
        SELECT metric_name, sum(coalesce(value_sum, count)) FROM metric_rollups
        WHERE resolution = '1 hour' GROUP BY 1"""))
    assert by_metric[vocab.METRIC_JOBS_TOTAL] == finished
    assert by_metric[vocab.METRIC_JOB_LATENCY] == finished
    assert by_metric[vocab.METRIC_ERRORS_TOTAL] == summary.failed
    creates = _rows(conn, """
        SELECT sum(value_sum) FROM metric_rollups WHERE resolution = '1 minute'
          AND metric_name = %s AND service = 'api' AND attributes ->> 'path' = '/jobs'""",
                    vocab.METRIC_API_REQUESTS)
    assert creates == [(summary.jobs,)]
    statuses = {s for (s,) in _rows(conn, "SELECT DISTINCT attributes ->> 'status' FROM metric_points "
                                          "WHERE metric_name = %s", vocab.METRIC_API_REQUESTS)}
    assert {"200", "201", "401", "500"} <= statuses
    # Each histogram point's bucket counts add up to its count.
    assert _rows(conn, """
        SELECT count(*) FROM metric_points WHERE kind = 'histogram'
          AND count <> (SELECT sum(c) FROM unnest(bucket_counts) c)""") == [(0,)]


def test_views_refreshed_and_latest_jobs_traced(seeded: tuple[psycopg.Connection, SeedSummary]) -> None:
    conn, summary = seeded
    assert _rows(conn, "SELECT sum(jobs) FROM cpu_metrics_daily") == [(summary.completed + summary.failed,)]
    assert _rows(conn, "SELECT sum(count) FROM error_events_daily") == [(summary.failed,)]
    traced = _rows(conn, "SELECT job_id, array_agg(DISTINCT service ORDER BY service) FROM logs GROUP BY 1")
    assert len(traced) == 5
    assert all(services == ["api", "webhook", "worker"] for _, services in traced)
    assert _rows(conn, "SELECT count(DISTINCT service) FROM spans WHERE job_id = %s", traced[0][0]) == [(3,)]


def test_same_seed_same_rows_and_reseeding_adds_nothing(conn: psycopg.Connection) -> None:
    first = seed(conn, days=1, jobs_per_day=300, end=END, trace_jobs=0)
    again = seed(conn, days=1, jobs_per_day=300, end=END, trace_jobs=0)
    assert (again.jobs, again.failed, again.metric_points) == (first.jobs, first.failed, first.metric_points)
    other = seed(conn, days=1, jobs_per_day=300, end=END, seed=2, trace_jobs=0)
    assert other.jobs > first.jobs  # another seed: other ids, rows added beside the first


def test_bad_arguments_are_refused(conn: psycopg.Connection) -> None:
    with pytest.raises(ValueError, match="days > 0"):
        seed(conn, days=0, jobs_per_day=10)


def test_history_shape_is_consistent() -> None:
    assert abs(sum(shape.ERROR_CODE_SHARE.values()) - 1) < 1e-9
    assert set(shape.ERROR_CODE_SHARE) == set(vocab.ERROR_CODES)
    assert abs(sum(shape.HOURLY_SHARE) - 1) < 1e-9 and abs(sum(shape.WEEKDAY_FACTOR) - 7) < 1e-9
    # 24 % of documents score at or above the fast-path threshold.
    assert abs(1 - next(u for u, v in shape.QUALITY_KNOTS if v == shape.FAST_PATH_QUALITY) - 0.24) < 1e-9
    for knots in (shape.QUALITY_KNOTS, shape.OCR_KNOTS):
        assert knots[0][0] == 0 and knots[-1][0] == 1
        assert all(a[0] < b[0] and a[1] < b[1] for a, b in itertools.pairwise(knots))
