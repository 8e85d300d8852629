"""Metric points (migration 0006): cumulative input becomes increments, delta and cumulative roll up alike
into the §3.3 rollups, and histogram_quantile() interpolates like Prometheus."""

from __future__ import annotations

import bisect
import json
import random
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from itertools import accumulate

import psycopg
import pytest

from rythmiq_otel.store import run_maintenance
from rythmiq_otel.vocab import CPU_SECONDS_BUCKETS, METRIC_JOB_CPU, METRIC_JOBS_TOTAL

T0 = datetime(2026, 1, 30, 13, 58, tzinfo=UTC)
HOUR = datetime(2026, 1, 30, 14, tzinfo=UTC)


@pytest.fixture(scope="module")
def functions(migrated_database_factory: Callable[[], str]) -> Iterator[psycopg.Connection]:
    """A connection for calling pure SQL functions: one database for the module is enough."""
    with psycopg.connect(migrated_database_factory(), autocommit=True) as connection:
        yield connection


def _insert(conn: psycopg.Connection, points: list[dict[str, object]]) -> None:
    columns = ("time", "start_time", "metric_name", "kind", "temporality", "is_monotonic", "service",
               "attributes", "value", "count", "sum", "bucket_bounds", "bucket_counts")
    with conn.cursor() as cur:
        cur.executemany(
            f"INSERT INTO metric_points ({', '.join(columns)}, dedup_key)"
            f" VALUES ({', '.join(['%s'] * len(columns))}, %s)".encode(),
            [(*(p.get(c) for c in columns), uuid.uuid4()) for p in points],
        )


def _counter(service: str, temporality: str, increments: Sequence[float]) -> list[dict[str, object]]:
    """One counter series exported every 30 s from T0: delta points carry the increments, cumulative
    points the running total since the series' start."""
    values = increments if temporality == "delta" else list(accumulate(increments))
    return [
        {"time": T0 + timedelta(seconds=30 * (i + 1)),
         "start_time": T0 + timedelta(seconds=30 * i) if temporality == "delta" else T0,
         "metric_name": METRIC_JOBS_TOTAL, "kind": "sum", "temporality": temporality, "is_monotonic": True,
         "service": service, "attributes": json.dumps({"status": "success", "processing_path": "fast"}),
         "value": v}
        for i, v in enumerate(values)
    ]


def _rollup(conn: psycopg.Connection, resolution: str, column: str = "value_sum") -> dict[tuple, object]:
    rows = conn.execute(
        f"SELECT service, bucket, {column} FROM metric_rollups WHERE resolution = %s".encode(), (resolution,)
    ).fetchall()
    return {(service, bucket): value for service, bucket, value in rows}


def test_delta_and_cumulative_counters_roll_up_to_the_same_sums(conn: psycopg.Connection) -> None:
    rng = random.Random(7)
    increments = [float(rng.randint(0, 9)) for _ in range(300)]  # 150 minutes of traffic
    _insert(conn, _counter("api", "delta", increments) + _counter("worker", "cumulative", increments))
    assert conn.execute("SELECT rollup_metrics(%s, %s)", (T0, T0 + timedelta(hours=3))).fetchone()[0] > 0

    per_minute: dict[datetime, float] = defaultdict(float)
    per_hour: dict[datetime, float] = defaultdict(float)
    for i, inc in enumerate(increments):
        at = T0 + timedelta(seconds=30 * (i + 1))
        per_minute[at.replace(second=0)] += inc
        per_hour[at.replace(minute=0, second=0)] += inc
    for resolution, expected in (("1 minute", per_minute), ("1 hour", per_hour)):
        rolled = _rollup(conn, resolution)
        for service in ("api", "worker"):
            assert {b: v for (s, b), v in rolled.items() if s == service} == expected, (service, resolution)


def test_counter_reset_starts_a_new_series(conn: psycopg.Connection) -> None:
    before = _counter("worker", "cumulative", [5.0, 5.0])  # total 10, then the process restarts
    restart = T0 + timedelta(seconds=60)
    after = [{**p, "start_time": restart, "time": p["time"] + timedelta(seconds=60)}  # type: ignore[operator]
             for p in _counter("worker", "cumulative", [2.0, 3.0])]
    _insert(conn, before + after)
    increments = conn.execute(
        "SELECT value FROM metric_increments(%s, %s) ORDER BY time", (T0, T0 + timedelta(hours=1))
    ).fetchall()
    assert [v for (v,) in increments] == [5.0, 5.0, 2.0, 3.0]


def _histogram_points(temporality: str, batches: list[list[float]]) -> list[dict[str, object]]:
    bounds = [float(b) for b in CPU_SECONDS_BUCKETS]
    points, totals = [], [0] * (len(bounds) + 1)
    running_sum, running_count = 0.0, 0
    for i, batch in enumerate(batches):
        counts = [0] * (len(bounds) + 1)
        for value in batch:
            counts[bisect.bisect_left(bounds, value)] += 1  # OTLP: bucket i holds (bounds[i-1], bounds[i]]
        totals = [a + b for a, b in zip(totals, counts, strict=True)]
        running_sum += sum(batch)
        running_count += len(batch)
        cumulative = temporality == "cumulative"
        points.append({
            "time": T0 + timedelta(minutes=i + 1),
            "start_time": T0 if cumulative else T0 + timedelta(minutes=i),
            "metric_name": METRIC_JOB_CPU, "kind": "histogram", "temporality": temporality,
            "service": temporality, "attributes": json.dumps({"processing_path": "standard", "stage": "ocr"}),
            "count": running_count if cumulative else len(batch),
            "sum": running_sum if cumulative else sum(batch),
            "bucket_bounds": bounds, "bucket_counts": totals if cumulative else counts,
        })
    return points


def _prometheus_quantile(q: float, bounds: Sequence[float], counts: Sequence[int]) -> float:
    """Prometheus' bucketQuantile, written independently of the SQL: find the bucket holding rank q*n
    and interpolate linearly between its bounds (the first bucket starts at 0)."""
    rank = q * sum(counts)
    cumulative = list(accumulate(counts))
    b = next(i for i, c in enumerate(cumulative) if c >= rank)
    if b == len(bounds):
        return bounds[-1]
    start = 0.0 if b == 0 else bounds[b - 1]
    below = 0 if b == 0 else cumulative[b - 1]
    return start + (bounds[b] - start) * (rank - below) / counts[b]


def test_histogram_rollups_and_quantiles_agree_for_delta_and_cumulative(conn: psycopg.Connection) -> None:
    rng = random.Random(11)
    batches = [[rng.lognormvariate(0.0, 0.9) for _ in range(rng.randint(5, 40))] for _ in range(90)]
    _insert(conn, _histogram_points("delta", batches) + _histogram_points("cumulative", batches))
    run_maintenance(conn)  # the rollups run as part of maintenance
    rows = conn.execute(
        "SELECT service, count, sum, bucket_bounds, bucket_counts,"
        " histogram_quantile(0.95, bucket_bounds, bucket_counts)"
        " FROM metric_rollups WHERE resolution = '1 hour' AND metric_name = %s AND bucket = %s",
        (METRIC_JOB_CPU, HOUR),
    ).fetchall()
    # Batch i is exported at T0 + (i + 1) min (T0 = 13:58): batches 1..60 make up the 14:00 hour.
    observations = [v for batch in batches[1:61] for v in batch]
    bounds = [float(b) for b in CPU_SECONDS_BUCKETS]
    counts = [0] * (len(bounds) + 1)
    for value in observations:
        counts[bisect.bisect_left(bounds, value)] += 1
    assert {r[0] for r in rows} == {"delta", "cumulative"}
    for _, count, total, got_bounds, got_counts, p95 in rows:
        assert (count, got_bounds, got_counts) == (len(observations), bounds, counts)
        assert total == pytest.approx(sum(observations))
        assert p95 == pytest.approx(_prometheus_quantile(0.95, bounds, counts))


@pytest.mark.parametrize(
    ("q", "bounds", "counts", "expected"),
    [
        (0.5, [1, 2, 5], [10, 10, 0, 0], 1.0),  # rank 10 ends the first bucket
        (0.75, [1, 2, 5], [10, 10, 0, 0], 1.5),  # halfway through (1, 2]
        (0.25, [1, 2, 5], [10, 10, 0, 0], 0.5),  # the first bucket starts at 0
        (0.99, [1, 2, 5], [1, 1, 1, 7], 5.0),  # rank in +Inf: the highest finite bound
        (0.9, [0.25, 0.5, 0.65, 0.75, 0.85, 0.95, 1.0], [0, 0, 0, 0, 5, 5, 0, 0], 0.93),
        (0.5, [1, 2], [0, 0, 0], None),  # empty histogram
    ],
)
def test_histogram_quantile_interpolates_like_prometheus(
    functions: psycopg.Connection, q: float, bounds: list[float], counts: list[int], expected: float | None
) -> None:
    (got,) = functions.execute(
        "SELECT histogram_quantile(%s, %s::float8[], %s::int8[])", (q, bounds, counts)
    ).fetchone() or ()
    assert got == (pytest.approx(expected) if expected is not None else None)
    if expected is not None:
        assert got == pytest.approx(_prometheus_quantile(q, bounds, counts))


def test_histogram_quantile_says_what_is_wrong_with_its_input(functions: psycopg.Connection) -> None:
    with pytest.raises(psycopg.errors.RaiseException, match=r"3 bucket counts for 3 bounds; expected 4"):
        functions.execute("SELECT histogram_quantile(0.5, '{1,2,3}', '{1,1,1}')")
    with pytest.raises(psycopg.errors.RaiseException, match=r"q must be between 0 and 1, got 1.5"):
        functions.execute("SELECT histogram_quantile(1.5, '{1}', '{1,1}')")


def test_gauges_roll_up_by_five_minutes_with_last_min_max(conn: psycopg.Connection) -> None:
    values = [3.0, 9.0, 4.0, 7.0, 5.0, 1.0]  # one a minute from 14:00
    start = HOUR
    _insert(conn, [
        {"time": start + timedelta(minutes=i), "metric_name": "rythmiq_jobs_in_progress", "kind": "gauge",
         "temporality": "unspecified", "service": "sink", "attributes": "{}", "value": v}
        for i, v in enumerate(values)
    ])
    conn.execute("SELECT rollup_metrics(%s, %s)", (start, start + timedelta(minutes=10)))
    rows = conn.execute(
        "SELECT bucket, points, value_last, value_min, value_max FROM metric_rollups"
        " WHERE resolution = '5 minutes' ORDER BY bucket"
    ).fetchall()
    assert rows == [(start, 5, 5.0, 3.0, 9.0), (start + timedelta(minutes=5), 1, 1.0, 1.0, 1.0)]
    assert _rollup(conn, "1 minute") == {}  # gauges have no 1-minute rollup (§3.3: raw is 1 minute)
