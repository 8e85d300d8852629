"""Seed a migrated store with days of history in set-based SQL: the dashboards' data, fast.

For tests that need a populated store (the dashboards' pages and SQL) and for ``bench/bench_dashboards.py``
(90 days at 10,000 jobs a day). It writes what the sink would have derived from the example services'
telemetry -- ``job_runs``, ``cpu_metrics``, ``error_events``, the §3.1 job and API metrics in
``metric_points`` (delta points, one per series per minute, as the SDK exports them) and their
``metric_rollups`` -- shaped by ``examples._history_shape`` (the same shape the demo's OTLP backfill
follows). The latest ``trace_jobs`` jobs also get their ``logs`` and ``spans``, so a job trace page has a
timeline to show.

Each UTC day is one transaction: ``generate_series`` draws the day's jobs into a temporary table (hourly
counts following the daily and weekly rhythm, then per-job draws), and a handful of ``INSERT ... SELECT``
statements fill the tables from it; ``rollup_metrics`` then rolls the day's points up. The draws come from
``setseed`` per day, so the same arguments give the same rows (ids are hashes of the seed and the draw).
At the end the rollup watermark is set and one maintenance pass runs (partitions, retention, view
refresh), so the store looks as if the sink had been running all along.

    from tests.seed_store import seed
    summary = seed(conn, days=7, jobs_per_day=1000)
"""

from __future__ import annotations

import itertools
import json
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import NAMESPACE_URL, uuid5

import psycopg
from psycopg import sql

from examples import _history_shape as shape
from rythmiq_otel import vocab
from rythmiq_otel.store import run_maintenance

__all__ = ["SeedSummary", "seed"]

_DAY = timedelta(days=1)


@dataclass(frozen=True)
class SeedSummary:
    """What ``seed`` wrote, counted from the tables afterwards (the rows in [start, end))."""

    start: datetime
    end: datetime
    jobs: int
    completed: int
    failed: int
    in_progress: int
    error_events: int
    metric_points: int
    seconds: float


def _knots_sql(knots: shape.Knots, u: str) -> str:
    """``knots`` as a SQL CASE on the uniform column ``u`` (trusted constants, not user input)."""
    arms = [f"WHEN {u} <= {u1!r} THEN {v0!r} + {v1 - v0!r} * ({u} - {u0!r}) / {u1 - u0!r}"
            for (u0, v0), (u1, v1) in itertools.pairwise(knots)]
    return f"(CASE {' '.join(arms)} ELSE {knots[-1][1]!r} END)"


def _error_code_sql(u: str) -> str:
    arms, edge = [], 0.0
    for code, share in shape.ERROR_CODE_SHARE.items():
        edge += share
        arms.append(f"WHEN {u} < {edge!r} THEN '{code}'")
    return f"(CASE {' '.join(arms)} ELSE '{next(reversed(shape.ERROR_CODE_SHARE))}' END)"


def _stage_index_sql(stage: str) -> str:
    arms = " ".join(f"WHEN '{name}' THEN {i}" for i, name in enumerate(vocab.WORKER_STAGES))
    return f"(CASE {stage} {arms} END)"


def _job_draws_sql() -> str:
    """The day's jobs with every draw made, as the body of ``CREATE TEMP TABLE seed_job AS``.

    Parameters: %(lo)s, %(hi)s (the day, clipped to the end), %(jobs_per_day)s, %(seed)s (text).
    """
    stage_error = " ".join(f"WHEN '{code}' THEN '{stage}'" for code, stage in shape.ERROR_STAGE.items())
    ocr_index = vocab.WORKER_STAGES.index("ocr")
    quality_index = vocab.WORKER_STAGES.index("quality")
    share = shape.STAGE_CPU_SHARE
    fast_norm = 1 - share["enhancement"]
    stage_cpu = ",\n".join(
        f"CASE WHEN failed AND stage_index < {i} THEN 0"
        f" WHEN processing_path = 'fast' AND '{stage}' = 'enhancement' THEN 0"
        f" ELSE cpu_scale * {share[stage]!r} / (CASE WHEN processing_path = 'fast' THEN {fast_norm!r}"
        f" ELSE 1 END) * (CASE WHEN failed AND stage_index = {i} THEN 0.5 ELSE 1 END)"
        f" + CASE WHEN {i} = 0 AND execution_temperature = 'cold' THEN {shape.COLD_EXTRA_CPU_SECONDS!r}"
        f" ELSE 0 END END AS {vocab.STAGE_CPU_COLUMN[stage]}"
        for i, stage in enumerate(vocab.WORKER_STAGES)
    )
    cpu_sum = " + ".join(vocab.STAGE_CPU_COLUMN[stage] for stage in vocab.WORKER_STAGES)
    return f"""
WITH hours AS (
    SELECT h, extract(epoch FROM h)::bigint / 3600 AS hour_index,
           %(hourly)s::float8[] AS hourly, %(weekday)s::float8[] AS weekday
    FROM generate_series(%(lo)s::timestamptz, %(hi)s::timestamptz - interval '1 microsecond',
                         interval '1 hour') h
), per_hour AS (
    SELECT h, hour_index,
           floor(%(jobs_per_day)s * hourly[extract(hour FROM h AT TIME ZONE 'UTC')::int + 1]
                 * weekday[extract(isodow FROM h AT TIME ZONE 'UTC')::int] + random())::int AS n,
           CASE WHEN hour_index %% {shape.INCIDENT_EVERY_HOURS} = 0 THEN {shape.INCIDENT_FACTOR!r}
                ELSE 1 END AS incident
    FROM hours
), drawn AS (
    SELECT h + random() * interval '1 hour' AS created_at, incident, i, hour_index,
           random() AS u_quality, random() AS u_ocr, random() AS u_cold, random() AS u_fail,
           random() AS u_code, random() AS u_cpu1, random() AS u_cpu2, random() AS u_queue,
           random() AS u_wall, random() AS u_pages, random() AS u_size
    FROM per_hour, generate_series(1, n) i
), decided AS (
    SELECT d.*,
           md5(%(seed)s || ':job:' || hour_index || ':' || i)::uuid AS job_id,
           md5(%(seed)s || ':trace:' || hour_index || ':' || i)::uuid AS correlation_id,
           round({_knots_sql(shape.QUALITY_KNOTS, 'u_quality')}::numeric, 3)::float8 AS quality,
           round({_knots_sql(shape.OCR_KNOTS, 'u_ocr_c')}::numeric, 3)::float8 AS ocr,
           CASE WHEN u_cold < {shape.COLD_SHARE!r} THEN 'cold' ELSE 'warm' END AS execution_temperature,
           u_fail < {shape.ERROR_RATE!r} * incident AS failed,
           {_error_code_sql('u_code')} AS code,
           1 + floor(-ln(1 - u_pages) * {shape.MEAN_EXTRA_PAGES!r})::int AS page_count,
           exp({shape.CPU_SPREAD!r} * sqrt(-2 * ln(1 - u_cpu1)) * cos(2 * pi() * u_cpu2)
               - {shape.CPU_SPREAD ** 2 / 2!r}) AS cpu_factor
    FROM (SELECT *, CASE WHEN (u_quality + u_ocr) / 2 < 0.5 THEN 2 * ((u_quality + u_ocr) / 2) ^ 2
                         ELSE 1 - 2 * (1 - (u_quality + u_ocr) / 2) ^ 2 END AS u_ocr_c
          FROM drawn) d
), staged AS (
    SELECT *, CASE WHEN failed THEN (CASE code {stage_error} END) END AS error_stage
    FROM decided
), pathed AS (
    SELECT s.*, {_stage_index_sql('s.error_stage')} AS stage_index,
           CASE WHEN s.failed AND {_stage_index_sql('s.error_stage')} <= {quality_index} THEN NULL
                WHEN s.quality >= {shape.FAST_PATH_QUALITY!r} THEN 'fast' ELSE 'standard' END
               AS processing_path
    FROM staged s
), costed AS (
    SELECT p.*,
           CASE WHEN p.processing_path IS NULL THEN {shape.BASE_CPU_SECONDS['standard']!r}
                ELSE (%(base_cpu)s::jsonb ->> p.processing_path)::float8 END
               * sqrt(p.page_count) * p.cpu_factor AS cpu_scale
    FROM pathed p
), staged_cpu AS (
    SELECT c.*, {stage_cpu}
    FROM costed c
)
SELECT job_id, correlation_id, created_at, execution_temperature, processing_path, page_count,
       CASE WHEN processing_path IS NULL THEN NULL ELSE quality END AS quality_score,
       CASE WHEN failed AND stage_index <= {ocr_index} THEN NULL ELSE ocr END AS ocr_confidence,
       CASE WHEN failed THEN code END AS error_code, error_stage, stage_index, failed,
       {', '.join(vocab.STAGE_CPU_COLUMN.values())},
       {cpu_sum} AS total_cpu_seconds,
       created_at + ({shape.QUEUE_SECONDS!r} * -ln(1 - u_queue)) * interval '1 second' AS started_at,
       ({shape.WALL_BASE_SECONDS!r} + {shape.WALL_PER_PAGE_SECONDS!r} * page_count
        + {shape.WALL_PER_CPU_SECOND!r} * ({cpu_sum}) * (0.7 + 0.6 * u_wall)
        + CASE WHEN execution_temperature = 'cold' THEN {shape.COLD_EXTRA_WALL_SECONDS!r} ELSE 0 END)
           * CASE WHEN failed THEN (stage_index + 1) / 7.0 ELSE 1 END AS wall_seconds,
       (20000 + 180000 * page_count * (0.5 + u_size))::bigint AS input_file_size_bytes,
       hour_index, i
FROM staged_cpu
"""


def _seed_job_sql() -> str:
    """The temporary table of the day's jobs: the draws, clipped to the day, with ``completed_at`` (NULL
    for a job still running at the end)."""
    return f"""
CREATE TEMP TABLE seed_job ON COMMIT DROP AS
SELECT d.*, CASE WHEN d.started_at + d.wall_seconds * interval '1 second' < %(end)s
                 THEN d.started_at + d.wall_seconds * interval '1 second' END AS completed_at
FROM ({_job_draws_sql()}) d
WHERE d.created_at < %(hi)s
"""

_JOB_RUNS_SQL = """
INSERT INTO job_runs (job_id, correlation_id, status, processing_path, execution_temperature, created_at,
                      started_at, completed_at, error_code, error_stage, updated_at)
SELECT job_id, correlation_id,
       CASE WHEN completed_at IS NULL THEN 'processing' WHEN failed THEN 'failed' ELSE 'completed' END,
       processing_path, execution_temperature, created_at,
       CASE WHEN started_at < %(end)s THEN started_at END, completed_at,
       CASE WHEN completed_at IS NOT NULL THEN error_code END,
       CASE WHEN completed_at IS NOT NULL THEN error_stage END,
       coalesce(completed_at, least(started_at, %(end)s))
FROM seed_job
ON CONFLICT DO NOTHING
"""

_CPU_METRICS_SQL = f"""
INSERT INTO cpu_metrics (id, job_id, correlation_id, execution_temperature, processing_path,
                         total_cpu_seconds, total_wall_seconds, {', '.join(vocab.STAGE_CPU_COLUMN.values())},
                         input_file_size_bytes, output_file_size_bytes, quality_score, ocr_confidence,
                         enhancement_skipped, page_count, created_at)
SELECT md5(job_id::text || ':cpu')::uuid, job_id, correlation_id, execution_temperature, processing_path,
       round(total_cpu_seconds::numeric, 6), round(wall_seconds::numeric, 6),
       {', '.join(f'round({c}::numeric, 6)' for c in vocab.STAGE_CPU_COLUMN.values())},
       input_file_size_bytes, CASE WHEN NOT failed THEN 300 + 120 * page_count END,
       quality_score, ocr_confidence,
       CASE WHEN processing_path IS NOT NULL THEN processing_path = 'fast' END, page_count, completed_at
FROM seed_job WHERE completed_at IS NOT NULL
ON CONFLICT DO NOTHING
"""

_ERROR_EVENTS_SQL = """
INSERT INTO error_events (id, job_id, error_code, error_stage, processing_path, quality_score, created_at,
                          correlation_id)
SELECT md5(job_id::text || ':error')::uuid, job_id, error_code, error_stage, processing_path, quality_score,
       completed_at, correlation_id
FROM seed_job WHERE failed AND completed_at IS NOT NULL
ON CONFLICT DO NOTHING
"""

# The api's requests, one row each: the POST that created the job, 1-3 status polls, the output of a
# completed job, and the webhook's POST of a finished one; a few are refused (401) or fail (500).
_API_REQUESTS_SQL = """
CREATE TEMP TABLE seed_request ON COMMIT DROP AS
WITH req AS (
    SELECT 'api' AS service, 'create' AS route, created_at AS at FROM seed_job
    UNION ALL
    SELECT 'api', 'status', created_at + (1 + 4 * random()) * k * interval '1 second'
    FROM seed_job, generate_series(1, 1 + floor(random() * 3)::int) k
    UNION ALL
    SELECT 'api', 'output', completed_at + (0.5 + 3 * random()) * interval '1 second'
    FROM seed_job WHERE completed_at IS NOT NULL AND NOT failed
    UNION ALL
    SELECT 'webhook', 'webhook', completed_at + 0.05 * interval '1 second'
    FROM seed_job WHERE completed_at IS NOT NULL
)
SELECT service, (r.routes -> route ->> 0) AS method, (r.routes -> route ->> 1) AS path, at,
       CASE WHEN u < %(unauthorized)s THEN '401'
            WHEN u < %(unauthorized)s + %(server_error)s THEN '500'
            WHEN route = 'create' THEN '201' ELSE '200' END AS status,
       (r.routes -> route ->> 2)::float8
           * exp(0.5 * sqrt(-2 * ln(1 - random())) * cos(2 * pi() * random())) AS latency
FROM (SELECT *, random() AS u FROM req) q, (SELECT %(routes)s::jsonb AS routes) r
WHERE at < %(end)s
"""


def _histogram_sql(metric: str, service: str, value: str, labels: str, *, source: str,
                   at: str = "completed_at") -> str:
    """Delta histogram points (one per series per minute) of ``value`` over ``source`` rows; ``service`` and
    ``labels`` are SQL expressions over them."""
    bounds = vocab.METRIC_BUCKETS[metric]
    buckets = ", ".join(f"count(*) FILTER (WHERE b = {i})" for i in range(len(bounds) + 1))
    bounds_sql = "ARRAY[" + ", ".join(repr(float(b)) for b in bounds) + "]::float8[]"
    return f"""
SELECT m + interval '1 minute', m, '{metric}', 'histogram', svc, attrs, NULL::float8,
       count(*), sum(v), min(v), max(v), {bounds_sql}, ARRAY[{buckets}]::bigint[]
FROM (SELECT date_bin('1 minute', {at}, timestamptz '2000-01-01') AS m, {service} AS svc, {labels} AS attrs,
             {value} AS v, width_bucket({value}, {bounds_sql}) AS b
      FROM {source}) x
WHERE v IS NOT NULL
GROUP BY m, svc, attrs"""


def _counter_sql(metric: str, service: str, labels: str, *, source: str, at: str = "completed_at") -> str:
    """Delta monotonic sum points (one per series per minute) counting ``source`` rows."""
    return f"""
SELECT m + interval '1 minute', m, '{metric}', 'sum', svc, attrs, count(*)::float8,
       NULL::bigint, NULL::float8, NULL::float8, NULL::float8, NULL::float8[], NULL::bigint[]
FROM (SELECT date_bin('1 minute', {at}, timestamptz '2000-01-01') AS m, {service} AS svc, {labels} AS attrs
      FROM {source}) x
GROUP BY m, svc, attrs"""


def _metric_points_sql() -> str:
    """The §3.1 job and API metrics of the day's jobs and requests, as the SDK's delta exports."""
    finished = "seed_job WHERE completed_at IS NOT NULL"
    path = "coalesce(processing_path, 'other')"
    stage_cpu = ("seed_job j, LATERAL (VALUES " + ", ".join(
        f"('{stage}', j.{column})" for stage, column in vocab.STAGE_CPU_COLUMN.items()
    ) + ") s(stage, cpu) WHERE j.completed_at IS NOT NULL AND (NOT j.failed OR "
        + _stage_index_sql("s.stage") + " <= j.stage_index)")
    worker = "'worker'"
    by_path = f"jsonb_build_object('processing_path', {path})"
    selects = [
        _counter_sql(vocab.METRIC_JOBS_TOTAL, worker,
                     f"jsonb_build_object('status', CASE WHEN failed THEN 'failed' ELSE 'success' END, "
                     f"'processing_path', {path})", source=finished),
        _histogram_sql(vocab.METRIC_JOB_LATENCY, worker, "wall_seconds",
                       f"jsonb_build_object('processing_path', {path}, "
                       f"'execution_temp', execution_temperature)", source=finished),
        _histogram_sql(vocab.METRIC_JOB_CPU, worker, "cpu",
                       "jsonb_build_object('processing_path', coalesce(j.processing_path, 'other'), "
                       "'stage', s.stage)", source=stage_cpu),
        _counter_sql(vocab.METRIC_ERRORS_TOTAL, worker,
                     "jsonb_build_object('error_code', error_code, 'stage', error_stage)",
                     source=finished + " AND failed"),
        _histogram_sql(vocab.METRIC_QUALITY_SCORE, worker, "quality_score", by_path, source=finished),
        _histogram_sql(vocab.METRIC_OCR_CONFIDENCE, worker, "ocr_confidence", by_path, source=finished),
        _counter_sql(vocab.METRIC_COLD_STARTS, worker, "'{}'::jsonb",
                     source="seed_job WHERE execution_temperature = 'cold' AND started_at < %(end)s",
                     at="started_at"),
        _counter_sql(vocab.METRIC_API_REQUESTS, "service",
                     "jsonb_build_object('method', method, 'path', path, 'status', status)",
                     source="seed_request", at="at"),
        _histogram_sql(vocab.METRIC_API_LATENCY, "service", "latency",
                       "jsonb_build_object('method', method, 'path', path)", source="seed_request", at="at"),
    ]
    union = "\nUNION ALL".join(selects)
    return f"""
INSERT INTO metric_points ("time", start_time, metric_name, kind, temporality, is_monotonic, service,
                           attributes, resource, value, count, sum, min, max, bucket_bounds, bucket_counts,
                           dedup_key)
SELECT t, st, name, kind, 'delta', CASE WHEN kind = 'sum' THEN true END, svc, attrs,
       jsonb_build_object('service.name', 'rythmiq-' || svc, 'rythmiq.service', svc),
       value, count, sum, min, max, bounds, counts,
       md5(%(seed)s || ':point:' || name || ':' || svc || ':' || attrs::text || ':' || t::text)::uuid
FROM ({union}) p(t, st, name, kind, svc, attrs, value, count, sum, min, max,
                                                bounds, counts)
ON CONFLICT DO NOTHING
"""

_TRACE_JOBS_SQL = f"""
SELECT job_id::text, correlation_id::text, created_at, started_at, completed_at, execution_temperature,
       processing_path, quality_score, ocr_confidence, error_code, error_stage, total_cpu_seconds,
       wall_seconds, {', '.join(vocab.STAGE_CPU_COLUMN.values())}
FROM seed_job WHERE completed_at IS NOT NULL
ORDER BY created_at DESC LIMIT %(limit)s
"""

_LOG_COLUMNS = ("timestamp", "observed_timestamp", "level", "severity_number", "service", "stage", "job_id",
                "correlation_id", "latency_ms", "cpu_seconds", "error_code", "error_stage", "http_method",
                "http_path", "http_status", "message", "extra", "event_name", "trace_id", "span_id",
                "resource", "scope_name", "dedup_key")
_SPAN_COLUMNS = ("trace_id", "span_id", "parent_span_id", "name", "kind", "start_time", "end_time",
                 "duration_ms", "status_code", "status_message", "attributes", "resource", "service",
                 "scope_name", "correlation_id", "job_id")
_SEVERITY = {"INFO": 9, "WARN": 13, "ERROR": 17}


def _insert_sql(table: str, columns: tuple[str, ...]) -> sql.Composed:
    return sql.SQL("INSERT INTO {} ({}) VALUES ({}) ON CONFLICT DO NOTHING").format(
        sql.Identifier(table), sql.SQL(", ").join(map(sql.Identifier, columns)),
        sql.SQL(", ").join(sql.Placeholder() * len(columns)))


class _Trace:
    """One job's log lines and spans across api, worker and webhook, as the sink stores them."""

    def __init__(self, job: dict[str, Any]) -> None:
        self.job = job
        self.trace_id = job["correlation_id"].replace("-", "")
        self.span_ids = {name: uuid5(NAMESPACE_URL, f"{self.trace_id}:{name}").hex[:16]
                         for name in ("api", "worker", "webhook", *vocab.WORKER_STAGES)}
        self.logs: list[tuple[Any, ...]] = []
        self.spans: list[tuple[Any, ...]] = []

    def log(self, service: str, span: str, at: datetime, event: str, message: str, *, level: str = "INFO",
            **fields: Any) -> None:
        extra = fields.pop("extra", None)
        row = {"timestamp": at, "observed_timestamp": at, "level": level, "severity_number": _SEVERITY[level],
               "service": service, "job_id": self.job["job_id"], "correlation_id": self.job["correlation_id"],
               "message": message, "extra": json.dumps(extra) if extra else None, "event_name": event,
               "trace_id": self.trace_id, "span_id": self.span_ids[span],
               "resource": json.dumps({"service.name": f"rythmiq-{service}", "rythmiq.service": service}),
               "scope_name": "rythmiq_otel",
               "dedup_key": uuid5(NAMESPACE_URL, f"{self.trace_id}:{len(self.logs)}"), **fields}
        self.logs.append(tuple(row.get(column) for column in _LOG_COLUMNS))

    def span(self, service: str, name: str, key: str, parent: str | None, *, kind: str, lo: datetime,
             hi: datetime, error: bool = False, **attributes: Any) -> None:
        self.spans.append((
            self.trace_id, self.span_ids[key], self.span_ids[parent] if parent else None, name, kind, lo, hi,
            (hi - lo).total_seconds() * 1000, "error" if error else "unset",
            self.job["error_code"] if error else None, json.dumps(attributes),
            json.dumps({"rythmiq.service": service}), service, "rythmiq_otel", self.job["correlation_id"],
            self.job["job_id"]))


def _trace_rows(job: dict[str, Any]) -> _Trace:
    """The job's timeline: the api's POST, the worker's job and stages, the webhook's delivery."""
    trace = _Trace(job)
    failed = job["error_code"] is not None
    created, started, done = job["created_at"], job["started_at"], job["completed_at"]
    post_end = created + timedelta(milliseconds=35)
    trace.span("api", "POST /jobs", "api", None, kind="server", lo=created, hi=post_end,
               **{"http.route": "/jobs"})
    trace.log("api", "api", created, vocab.EVENT_JOB_CREATED, "Job created", stage="ingestion")
    trace.log("api", "api", post_end, vocab.EVENT_REQUEST_COMPLETED, "Request completed", http_method="POST",
              http_path="/jobs", http_status=201, latency_ms=35.0)
    trace.span("worker", "job", "worker", "api", kind="consumer", lo=started, hi=done, error=failed,
               **{"rythmiq.execution_temperature": job["execution_temperature"]})
    path = {"processing_path": job["processing_path"]}
    if job["execution_temperature"] == "cold":
        trace.log("worker", "worker", started, vocab.EVENT_COLD_START, "Cold start detected", level="WARN",
                  extra={"execution_temperature": "cold"})
    trace.log("worker", "worker", started, vocab.EVENT_JOB_STARTED, "Job processing started",
              extra={"execution_temperature": job["execution_temperature"]})
    at, step = started, (done - started) / len(vocab.WORKER_STAGES)
    for stage in vocab.WORKER_STAGES:
        stage_failed = stage == job["error_stage"]
        trace.span("worker", f"stage {stage}", stage, "worker", kind="internal", lo=at, hi=at + step,
                   error=stage_failed, **{"rythmiq.stage": stage})
        at += step
        if stage_failed:
            break
        trace.log("worker", stage, at, vocab.EVENT_STAGE_COMPLETED, "Stage completed", stage=stage,
                  cpu_seconds=round(job[vocab.STAGE_CPU_COLUMN[stage]], 6), extra=path)
    durations = {"cpu_seconds": round(job["total_cpu_seconds"], 6),
                 "latency_ms": round(job["wall_seconds"] * 1000, 3)}
    if failed:
        trace.log("worker", "worker", done, vocab.EVENT_JOB_FAILED, "Job processing failed", level="ERROR",
                  stage=job["error_stage"], error_code=job["error_code"], error_stage=job["error_stage"],
                  **durations, extra={**path, "quality_score": job["quality_score"]})
    else:
        trace.log("worker", "worker", done, vocab.EVENT_JOB_COMPLETED, "Job completed successfully",
                  **durations, extra={**path, "quality_score": job["quality_score"],
                                      "ocr_confidence": job["ocr_confidence"]})
    hook = done + timedelta(milliseconds=50)
    trace.span("webhook", "POST /webhooks/camber", "webhook", "worker", kind="server", lo=hook,
               hi=hook + timedelta(milliseconds=9), **{"http.route": "/webhooks/camber"})
    trace.log("webhook", "webhook", hook, vocab.EVENT_WEBHOOK_PROCESSED, "Webhook processed",
              stage="delivery", error_code=job["error_code"],
              extra={"status": "failed" if failed else "completed"})
    return trace


def _day_chunks(start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
    """[start, end) cut at UTC midnights."""
    chunks, lo = [], start
    while lo < end:
        hi = min(datetime.combine(lo.date(), datetime.min.time(), UTC) + _DAY, end)
        chunks.append((lo, hi))
        lo = hi
    return chunks


def seed(conn: psycopg.Connection, *, days: float, jobs_per_day: int, end: datetime | None = None,
         seed: int = 1, trace_jobs: int = 20, progress: Callable[[str], None] | None = None) -> SeedSummary:
    """Fill ``days`` days before ``end`` (default now) at about ``jobs_per_day`` jobs a day.

    ``conn`` is a connection to a migrated store in autocommit mode (each day is its own transaction).
    ``trace_jobs``: how many of the latest jobs also get their log lines and spans. ``progress`` is called
    with one line per day. Seeding the same range again with the same ``seed`` adds nothing.
    """
    if days <= 0 or jobs_per_day < 0:
        raise ValueError(f"seed() wants days > 0 and jobs_per_day >= 0, got days={days}, "
                         f"jobs_per_day={jobs_per_day}")
    began = time.perf_counter()
    end = (end or datetime.now(UTC)).astimezone(UTC)
    start = end - timedelta(days=days)
    params: dict[str, Any] = {
        "end": end, "jobs_per_day": jobs_per_day, "seed": str(seed),
        "hourly": list(shape.HOURLY_SHARE), "weekday": list(shape.WEEKDAY_FACTOR),
        "base_cpu": psycopg.types.json.Jsonb(shape.BASE_CPU_SECONDS),
        "routes": psycopg.types.json.Jsonb({name: list(route) for name, route in shape.API_ROUTES.items()}),
        "unauthorized": shape.API_UNAUTHORIZED_SHARE, "server_error": shape.API_SERVER_ERROR_SHARE,
    }
    chunks = _day_chunks(start, end)
    for number, (lo, hi) in enumerate(chunks, 1):
        day = {**params, "lo": lo, "hi": hi}
        with conn.transaction():
            conn.execute("SET LOCAL TimeZone = 'UTC'")
            conn.execute("SET LOCAL max_parallel_workers_per_gather = 0")  # one random() stream
            conn.execute("SELECT setseed(%s)", [_setseed_value(seed, lo)])
            conn.execute("""
                SELECT create_daily_partition(r.table_name::regclass, %(day)s::date)
                FROM retention_policy r
                WHERE r.table_name IN ('metric_points', 'logs', 'spans')
                  AND %(day)s::date + 1 > now() - r.keep""", {"day": lo.date()})
            conn.execute(_seed_job_sql(), day)
            for statement in (_JOB_RUNS_SQL, _CPU_METRICS_SQL, _ERROR_EVENTS_SQL, _API_REQUESTS_SQL,
                              _metric_points_sql()):
                conn.execute(statement, day)
            conn.execute("SELECT rollup_metrics(%(lo)s, %(hi)s)", day)
            if number == len(chunks) and trace_jobs > 0:
                _seed_traces(conn, trace_jobs)
        if progress is not None:
            progress(f"seeded {lo:%Y-%m-%d} ({number}/{len(chunks)} days, "
                     f"{time.perf_counter() - began:.1f} s)")
    conn.execute("""
        INSERT INTO rythmiq_config (key, value) VALUES ('metric_rollup_watermark', %s::text)
        ON CONFLICT (key) DO UPDATE SET value = greatest(rythmiq_config.value::timestamptz,
                                                          EXCLUDED.value::timestamptz)::text,
                                        updated_at = now()""", [end])
    run_maintenance(conn)
    return _summary(conn, start, end, time.perf_counter() - began)


def _setseed_value(seed: int, lo: datetime) -> float:
    """A value in [-1, 1] for ``setseed``, from the seed and the day."""
    return zlib.crc32(f"{seed}:{lo.isoformat()}".encode()) / 2**32 * 2 - 1


def _seed_traces(conn: psycopg.Connection, limit: int) -> None:
    with conn.cursor(row_factory=psycopg.rows.dict_row) as cursor:
        jobs = cursor.execute(_TRACE_JOBS_SQL, {"limit": limit}).fetchall()
    logs: list[tuple[Any, ...]] = []
    spans: list[tuple[Any, ...]] = []
    for job in jobs:
        trace = _trace_rows(job)
        logs += trace.logs
        spans += trace.spans
    with conn.cursor() as cursor:
        cursor.executemany(_insert_sql("logs", _LOG_COLUMNS), logs)
        cursor.executemany(_insert_sql("spans", _SPAN_COLUMNS), spans)


def _summary(conn: psycopg.Connection, start: datetime, end: datetime, seconds: float) -> SeedSummary:
    row = conn.execute("""
        SELECT count(*), count(*) FILTER (WHERE status = 'completed'),
               count(*) FILTER (WHERE status = 'failed'),
               count(*) FILTER (WHERE status IN ('pending', 'processing')),
               (SELECT count(*) FROM error_events WHERE created_at >= %(start)s AND created_at < %(end)s),
               (SELECT count(*) FROM metric_points WHERE "time" >= %(start)s AND "time" <= %(end)s)
        FROM job_runs WHERE created_at >= %(start)s AND created_at < %(end)s""",
                       {"start": start, "end": end}).fetchone()
    assert row is not None
    return SeedSummary(start, end, *row, seconds=seconds)
