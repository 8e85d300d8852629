"""Spec "Done means": every §5 dashboard query (``jobs`` -> ``job_runs``), the §2.3 timeline query and
``get_monthly_cpu_usage()`` run unchanged against seeded data, and their answers match values computed
independently in Python from the same seed.
"""

from __future__ import annotations

import calendar
import random
import statistics
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest

from rythmiq_otel.store import run_maintenance
from rythmiq_otel.vocab import ERROR_CODES, LOG_FIELDS
from tests.seeded_job import SeededJob
from tests.store.spec_queries import (
    COLD_VS_WARM,
    CPU_BY_PATH,
    DAILY_BREAKDOWN,
    ERROR_RATE_24H,
    HOURLY_THROUGHPUT,
    JOB_COUNT_24H,
    MONTHLY_USAGE,
    P95_LATENCY,
    RECENT_ERRORS,
    TIMELINE,
)


class Job(SeededJob):
    @property
    def finished_at(self) -> datetime:
        return self.created_at + timedelta(seconds=self.wall_seconds + 2)


_STATUS_ODDS = ((0.07, "failed"), (0.08, "pending"), (0.09, "processing"), (1.0, "completed"))


def _make_jobs(now: datetime, count: int = 400, days: float = 9.0) -> list[Job]:
    """A week and a bit of traffic: ~24 % fast path, ~10 % cold starts, ~7 % failures over five error codes,
    a few jobs still pending or processing."""
    rng = random.Random(20260130)
    month_elapsed = (now - now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)).total_seconds()
    jobs = []
    for index in range(count):
        path = "fast" if rng.random() < 0.24 else "standard"
        temperature = "cold" if rng.random() < 0.1 else "warm"
        cold_start = 0.6 if temperature == "cold" else 0
        cpu = rng.lognormvariate(-1.2 if path == "fast" else -0.3, 0.4) + cold_start
        # The first hundred fall in the current month (however young it is) so the month queries have data.
        span = min(days * 86400, max(month_elapsed, 61)) if index < 100 else days * 86400
        created = now - timedelta(seconds=rng.uniform(60, span))
        roll = rng.random()
        status = next(name for limit, name in _STATUS_ODDS if roll < limit)
        failed = status == "failed"
        jobs.append(Job(
            job_id=uuid.UUID(int=rng.getrandbits(128), version=4),
            correlation_id=uuid.UUID(int=rng.getrandbits(128), version=4),
            created_at=created,
            status=status,
            path=path,
            temperature=temperature,
            cpu_seconds=cpu,
            wall_seconds=cpu * rng.uniform(1.2, 3.0) + rng.expovariate(0.5),
            error_code=rng.choice(ERROR_CODES[:5]) if failed else None,
            error_stage=rng.choice(["ocr", "ingestion", "schema"]) if failed else None,
        ))
    return jobs


def _seed(conn: psycopg.Connection, jobs: list[Job]) -> None:
    with conn.transaction(), conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO job_runs (job_id, correlation_id, status, processing_path, execution_temperature,"
            " created_at, completed_at, error_code, error_stage) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
            [(j.job_id, j.correlation_id, j.status, j.path, j.temperature, j.created_at,
              j.finished_at if j.ran else None, j.error_code, j.error_stage)
             for j in jobs],
        )
        finished = [j for j in jobs if j.ran]
        cur.executemany(
            "INSERT INTO cpu_metrics (job_id, correlation_id, execution_temperature, processing_path,"
            " total_cpu_seconds, total_wall_seconds, ocr_cpu_seconds, page_count, created_at)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
            [(j.job_id, j.correlation_id, j.temperature, j.path, j.cpu_seconds, j.wall_seconds,
              j.cpu_seconds * 0.6, 1, j.finished_at) for j in finished],
        )
        cur.executemany(
            "INSERT INTO error_events (job_id, error_code, error_stage, processing_path, quality_score,"
            " created_at, correlation_id) VALUES (%s, %s, %s, %s, %s, %s, %s)",
            [(j.job_id, j.error_code, j.error_stage, j.path, 0.4, j.finished_at, j.correlation_id)
             for j in jobs if j.status == "failed"],
        )


@pytest.fixture(scope="module")
def seeded(migrated_database_factory: Callable[[], str]) -> tuple[str, list[Job]]:
    """One seeded database for the module: the tests below only read it."""
    database_url = migrated_database_factory()
    with psycopg.connect(database_url) as conn:
        (now,) = conn.execute("SELECT now()").fetchone() or ()
        jobs = _make_jobs(now)
        _seed(conn, jobs)
        run_maintenance(conn)  # refreshes the materialized views the cost dashboard reads
    return database_url, jobs


@dataclass(frozen=True)
class Dashboard:
    """The seeded jobs and one open UTC transaction, so `now()` is one instant for SQL and for Python."""

    now: datetime
    jobs: list[Job]
    conn: psycopg.Connection

    def rows(self, sql: str, *params: object) -> list[tuple[Any, ...]]:
        return self.conn.execute(sql.encode(), params or None).fetchall()

    @property
    def month_start(self) -> datetime:
        return self.now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)

    @property
    def finished(self) -> list[Job]:
        """The jobs with a cpu_metrics row (written when a job completes or fails)."""
        return [j for j in self.jobs if j.ran]

    @property
    def this_month(self) -> list[Job]:
        return [j for j in self.finished if j.finished_at >= self.month_start]


@pytest.fixture
def dashboard(seeded: tuple[str, list[Job]]) -> Iterator[Dashboard]:
    with psycopg.connect(seeded[0]) as conn:
        conn.execute("SET TimeZone = 'UTC'")
        (now,) = conn.execute("SELECT now()").fetchone() or ()
        yield Dashboard(now, seeded[1], conn)


def _day(moment: datetime) -> datetime:
    return moment.replace(hour=0, minute=0, second=0, microsecond=0)


def test_jobs_error_rate_and_throughput_of_the_last_24_hours(dashboard: Dashboard) -> None:
    recent = [j for j in dashboard.jobs if j.created_at > dashboard.now - timedelta(hours=24)]
    assert len(recent) > 20
    assert dashboard.rows(JOB_COUNT_24H) == [(len(recent),)]
    failed = sum(j.status == "failed" for j in recent)
    (rate,) = dashboard.rows(ERROR_RATE_24H)[0]
    assert float(rate) == pytest.approx(failed * 100.0 / len(recent), abs=1e-9)
    hourly = Counter(j.created_at.replace(minute=0, second=0, microsecond=0) for j in recent)
    assert dashboard.rows(HOURLY_THROUGHPUT) == sorted(hourly.items())


def test_p95_latency_matches_an_exact_interpolated_percentile(dashboard: Dashboard) -> None:
    since = dashboard.now - timedelta(hours=24)
    walls = [j.wall_seconds for j in dashboard.finished if j.finished_at > since]
    assert len(walls) > 20
    # statistics' "inclusive" method is percentile_cont's linear interpolation between closest ranks.
    expected = statistics.quantiles(walls, n=100, method="inclusive")[94]
    assert dashboard.rows(P95_LATENCY)[0][0] == pytest.approx(expected, rel=1e-12)


def test_recent_errors_are_the_ten_newest_error_events(dashboard: Dashboard) -> None:
    failed = sorted((j for j in dashboard.jobs if j.status == "failed"), key=lambda j: j.finished_at)[::-1]
    assert len({j.error_code for j in failed}) >= 3
    expected = [(j.finished_at, j.error_code, j.job_id, j.path) for j in failed[:10]]
    assert dashboard.rows(RECENT_ERRORS) == expected


def test_monthly_cpu_usage_projects_the_month_at_the_current_pace(dashboard: Dashboard) -> None:
    now, start = dashboard.now, dashboard.month_start
    days = calendar.monthrange(now.year, now.month)[1]
    used_hours = sum(j.cpu_seconds for j in dashboard.this_month) / 3600
    elapsed = (now - start).total_seconds()
    ((month_start, *row),) = dashboard.rows(MONTHLY_USAGE)
    assert month_start == start
    assert row == pytest.approx((
        used_hours, used_hours * days * 86400 / max(elapsed, 1), 200.0, 200.0 - used_hours,
        100 * used_hours / 200.0, elapsed / 86400, days,
    ))
    with_budget = dashboard.rows("SELECT budget_hours, remaining_hours FROM get_monthly_cpu_usage(%s)", 10.0)
    assert with_budget == [pytest.approx((10.0, 10.0 - used_hours))]


def test_daily_breakdown_has_one_row_per_day_of_this_month(dashboard: Dashboard) -> None:
    per_day: dict[datetime, float] = defaultdict(float)
    for j in dashboard.this_month:
        per_day[_day(j.finished_at)] += j.cpu_seconds / 3600
    rows = dashboard.rows(DAILY_BREAKDOWN)
    assert [r[0] for r in rows] == sorted(per_day)
    assert [r[1] for r in rows] == pytest.approx([per_day[d] for d in sorted(per_day)])


def test_cpu_by_path_and_by_temperature(dashboard: Dashboard) -> None:
    by_path: dict[str, list[float]] = defaultdict(list)
    by_temperature: dict[str, list[float]] = defaultdict(list)
    for j in dashboard.this_month:
        by_path[j.path].append(j.cpu_seconds)
        by_temperature[j.temperature].append(j.cpu_seconds)
    assert set(by_path) == {"fast", "standard"} and set(by_temperature) == {"cold", "warm"}
    paths = {p: (avg, hours) for p, avg, hours in dashboard.rows(CPU_BY_PATH)}
    assert paths == {p: pytest.approx((statistics.fmean(v), sum(v) / 3600)) for p, v in by_path.items()}
    temperatures = dict(dashboard.rows(COLD_VS_WARM))
    assert temperatures == {t: pytest.approx(statistics.fmean(v)) for t, v in by_temperature.items()}
    assert temperatures["cold"] > temperatures["warm"]


def test_error_events_daily_counts_every_error_by_day_code_and_stage(dashboard: Dashboard) -> None:
    expected = Counter(
        (_day(j.finished_at), j.error_code, j.error_stage) for j in dashboard.jobs if j.status == "failed"
    )
    rows = dashboard.rows("SELECT day, error_code, error_stage, count FROM error_events_daily")
    assert {(d, c, s): n for d, c, s, n in rows} == dict(expected)


def test_timeline_query_returns_one_correlation_id_in_time_order(database_url: str) -> None:
    correlation = uuid.uuid4()
    other = uuid.uuid4()
    base = datetime(2026, 1, 30, 14, 23, 44, 1000, tzinfo=UTC)
    steps = [("api", "Request started"), ("api", "Job created in pending state"),
             ("worker", "Job processing started"), ("webhook", "Job transitioned to completed")]
    with psycopg.connect(database_url) as conn:
        with conn.transaction(), conn.cursor() as cur:
            rows = [(base + timedelta(seconds=3 - i), "INFO", svc, msg, correlation, uuid.uuid4())
                    for i, (svc, msg) in enumerate(reversed(steps))]
            rows.append((base, "INFO", "api", "unrelated", other, uuid.uuid4()))
            cur.executemany(
                "INSERT INTO logs (timestamp, level, service, message, correlation_id, dedup_key)"
                " VALUES (%s, %s, %s, %s, %s, %s)", rows,
            )
        result = conn.execute(TIMELINE, (str(correlation),)).fetchall()
        columns = [c.name for c in conn.execute(TIMELINE, (str(correlation),)).description or ()]
    messages = [dict(zip(columns, r, strict=True))["message"] for r in result]
    assert messages == [msg for _, msg in steps]
    assert {*LOG_FIELDS, "trace_id", "span_id", "resource"} <= set(columns)


@pytest.mark.parametrize("budget", [0.0, -10.0])
def test_monthly_cpu_usage_refuses_a_budget_that_is_not_positive(database_url: str, budget: float) -> None:
    with psycopg.connect(database_url) as conn, pytest.raises(
        psycopg.errors.RaiseException,
        match=f"get_monthly_cpu_usage: the budget must be a positive number of hours, got {budget:g}",
    ):
        conn.execute("SELECT * FROM get_monthly_cpu_usage(%s)", (budget,))
