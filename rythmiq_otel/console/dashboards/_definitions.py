"""The spec's three dashboards (§5.2 Operations, §5.3 Cost, §5.4 Product health), panel by panel.

Which jobs each number counts (shown under every panel and in docs/dashboards.md):

- Job counts and error rates read ``job_runs`` by creation time: the jobs the api accepted in the range.
  The error rate is failed / finished (completed + failed): a job still pending or processing has no
  outcome yet, and counting it would hide an outage in which jobs pile up.
- Latency reads ``cpu_metrics.total_wall_seconds`` (the spec's P95 query) of jobs that **completed**: a
  failed job's time says how fast it failed, not how long users wait for results.
- CPU and cost read every ``cpu_metrics`` row, failed jobs included: they burned budget too.
- The product distributions read ``cpu_metrics`` of every job the worker ran (completed or failed).
- API panels read the api's ``rythmiq_api_requests_total`` / ``rythmiq_api_latency_seconds``.

All time is UTC. Reads go through the freshness-aware readers of migration 0011 (``cpu_daily_fresh``,
``metric_hourly_fresh``), so no panel waits for a maintenance pass.
"""

from __future__ import annotations

from rythmiq_otel import vocab

from ._model import Dashboard, Panel, Target

__all__ = ["DASHBOARDS"]

_IN_RANGE = "{col} >= %(start)s::timestamptz AND {col} < %(end)s::timestamptz"
_ORIGIN = "timestamptz '2000-01-01 00:00:00+00'"
# Every bucket of the range up to now, so a quiet hour is a zero bar and not a missing one.
_SLOTS = (
    f"SELECT generate_series(date_bin(%(bucket)s::interval, %(start)s::timestamptz, {_ORIGIN}),"
    f" least(%(end)s::timestamptz, now()), %(bucket)s::interval) AS time"
)
_BUDGET = (
    "coalesce((SELECT value::float8 FROM rythmiq_config WHERE key = 'cpu_budget_hours'), 200)"
)


def _in_range(column: str) -> str:
    return _IN_RANGE.format(col=column)


def _job_buckets(select: str) -> str:
    """``select`` (over columns jobs, failed, finished of each bucket) per bucket of the range."""
    return f"""
WITH slots AS ({_SLOTS}),
counted AS (
    SELECT date_bin(%(bucket)s::interval, created_at, {_ORIGIN}) AS time,
           count(*) AS jobs,
           count(*) FILTER (WHERE status = 'failed') AS failed,
           count(*) FILTER (WHERE status IN ('completed', 'failed')) AS finished
    FROM job_runs WHERE {_in_range("created_at")}
    GROUP BY 1
)
SELECT s.time, {select}
FROM slots s LEFT JOIN counted c ON c.time = s.time
ORDER BY s.time"""


# A cpu_metrics row is written when the worker finishes a job, so "completed" is "has a row and did not
# fail"; the anti-join reads only the (few) failed jobs instead of joining every job of the range.
_COMPLETED_WALL = f"""
FROM cpu_metrics m
WHERE {_in_range("m.created_at")} AND m.total_wall_seconds IS NOT NULL
  AND NOT EXISTS (SELECT 1 FROM job_runs j WHERE j.job_id = m.job_id AND j.status = 'failed')"""

_API_HOURLY = (
    f"metric_hourly_fresh(ARRAY['{vocab.METRIC_API_REQUESTS}', '{vocab.METRIC_API_LATENCY}'],"
    " %(start)s::timestamptz, %(end)s::timestamptz)"
)

_JOBS_COUNT = "every job the api created in the range, whatever its status"
_FINISHED = "jobs created in the range that finished (failed / (completed + failed))"
_COMPLETED = "jobs that completed (cpu_metrics.total_wall_seconds; failed jobs are left out)"
_ALL_CPU = "every job with a cpu_metrics row, failed ones included (they burn budget too)"
_RAN = "every job the worker ran in the range (cpu_metrics rows, completed or failed)"

_NO_JOBS = "No job was created in this range: job_runs has no rows for it (is the api exporting?)."
_NO_COMPLETED = ("No job completed in this range: no cpu_metrics row of a completed job (the worker's"
                 " job.metrics_summary event writes it).")
_NO_ERRORS = "No errors in this range."
_NO_API = "No api request metrics in this range (rythmiq_api_requests_total from the api)."
_NO_CPU = "No cpu_metrics rows in this month (the worker's job.metrics_summary event writes them)."
_NO_RUNS = ("No job ran in this range: no cpu_metrics rows (the worker's job.metrics_summary event"
            " writes them).")

OPERATIONS = Dashboard(
    name="operations",
    title="Operations",
    answers="Is the system healthy right now, and if not, which jobs are failing?",
    refresh_seconds=60,
    ranges=("24h", "7d", "30d", "month"),
    default_range="24h",
    panels=(
        Panel(
            name="jobs",
            title="Jobs",
            sql="""
SELECT count(*) FILTER (WHERE created_at >= %(start)s::timestamptz) AS jobs,
       count(*) FILTER (WHERE created_at < %(start)s::timestamptz) AS previous
FROM job_runs
WHERE created_at >= %(start)s::timestamptz - (least(%(end)s::timestamptz, now()) - %(start)s::timestamptz)
  AND created_at < %(end)s::timestamptz""",
            visualisation="stat",
            unit="count",
            counts=_JOBS_COUNT + "; compared with the period of the same length before it",
            empty=_NO_JOBS,
            compare="previous",
            width=4,
        ),
        Panel(
            name="error_rate",
            title="Error rate",
            sql=f"""
SELECT 100.0 * count(*) FILTER (WHERE status = 'failed')
           / nullif(count(*) FILTER (WHERE status IN ('completed', 'failed')), 0) AS error_rate,
       count(*) FILTER (WHERE status = 'failed') AS failed,
       count(*) FILTER (WHERE status IN ('completed', 'failed')) AS finished
FROM job_runs WHERE {_in_range("created_at")}""",
            visualisation="stat",
            unit="percent",
            counts=_FINISHED,
            empty=_NO_JOBS,
            target=Target(1.0),
            width=4,
        ),
        Panel(
            name="p95_latency",
            title="P95 latency",
            sql=f"""
SELECT percentile_cont(0.95) WITHIN GROUP (ORDER BY m.total_wall_seconds) AS p95_seconds,
       count(*) AS completed
{_COMPLETED_WALL}""",
            visualisation="stat",
            unit="seconds",
            counts=_COMPLETED,
            empty=_NO_COMPLETED,
            target=Target(30.0),
            width=4,
        ),
        Panel(
            name="throughput",
            title="Job throughput",
            sql=_job_buckets("coalesce(c.jobs, 0) AS jobs"),
            visualisation="bars",
            unit="count",
            counts=_JOBS_COUNT + ", per bucket of creation time",
            empty=_NO_JOBS,
            series=("jobs",),
        ),
        Panel(
            name="error_rate_over_time",
            title="Error rate over time",
            sql=_job_buckets("100.0 * c.failed / nullif(c.finished, 0) AS error_rate"),
            visualisation="lines",
            unit="percent",
            counts=_FINISHED + ", per bucket; no point where nothing finished",
            empty=_NO_JOBS,
            series=("error_rate",),
            target=Target(1.0, label="threshold"),
        ),
        Panel(
            name="recent_errors",
            title="Recent errors",
            sql=f"""
SELECT created_at AS time, error_code, error_stage, processing_path, job_id
FROM error_events WHERE {_in_range("created_at")}
ORDER BY created_at DESC LIMIT 10""",
            visualisation="table",
            unit="count",
            counts="the last 10 error_events in the range (every recorded error, api and worker)",
            empty=_NO_ERRORS,
            links={"job_id": "/jobs/{}"},
        ),
        Panel(
            name="api_traffic",
            title="API requests",
            sql=f"""
WITH slots AS ({_SLOTS}),
counted AS (
    SELECT date_bin(%(bucket)s::interval, bucket, {_ORIGIN}) AS time,
           sum(value_sum) AS requests,
           coalesce(sum(value_sum) FILTER (WHERE left(attributes->>'status', 1) = '5'), 0) AS server_errors
    FROM {_API_HOURLY}
    WHERE metric_name = '{vocab.METRIC_API_REQUESTS}'
    GROUP BY 1
)
SELECT s.time, coalesce(c.requests, 0) AS requests, coalesce(c.server_errors, 0) AS server_errors
FROM slots s LEFT JOIN counted c ON c.time = s.time
ORDER BY s.time""",
            visualisation="bars",
            unit="count",
            counts=("every api request (rythmiq_api_requests_total), 5xx responses as the line; read from"
                    " hourly rollups, so the range starts at the top of its first hour"),
            empty=_NO_API,
            series=("requests", "server_errors"),
            width=7,
        ),
        Panel(
            name="api_endpoints",
            title="API endpoints",
            sql=f"""
WITH hourly AS (SELECT * FROM {_API_HOURLY}),
requests AS (
    SELECT attributes->>'method' AS method, attributes->>'path' AS path, sum(value_sum) AS requests,
           coalesce(sum(value_sum) FILTER (WHERE left(attributes->>'status', 1) = '5'), 0) AS server_errors
    FROM hourly WHERE metric_name = '{vocab.METRIC_API_REQUESTS}'
    GROUP BY 1, 2
),
latency AS (
    SELECT method, path, max(p95) AS p95_seconds FROM (
        SELECT attributes->>'method' AS method, attributes->>'path' AS path,
               histogram_quantile(0.95, bucket_bounds, bucket_counts_sum(bucket_counts)) AS p95
        FROM hourly WHERE metric_name = '{vocab.METRIC_API_LATENCY}'
        GROUP BY 1, 2, bucket_bounds
    ) per_bounds GROUP BY 1, 2
)
SELECT r.method, r.path, r.requests, 100.0 * r.server_errors / nullif(r.requests, 0) AS server_error_rate,
       l.p95_seconds
FROM requests r LEFT JOIN latency l ON l.method = r.method AND l.path = r.path
ORDER BY r.requests DESC LIMIT 20""",
            visualisation="table",
            unit="count",
            counts=("api requests by method and route template: count, 5xx share (%), P95 latency (s), over"
                    " whole hours"),
            empty=_NO_API,
            width=5,
        ),
        Panel(
            name="alerts",
            title="Alerts",
            sql="""
SELECT title AS alert, state, summary, since, evaluated_at
FROM alert_states
ORDER BY array_position(ARRAY['firing', 'warning', 'insufficient_data', 'ok', 'off'], state), rule""",
            visualisation="alerts",
            unit="count",
            counts="the alert rules (docs/alerts.md) and the state of their last evaluation",
            empty=("No alert rule has been evaluated yet: `rythmiq-otel up` evaluates them every minute,"
                   " `rythmiq-otel alerts check` once."),
            requires="alert_states",
        ),
    ),
)


def _month_usage(select: str) -> str:
    """``select`` over the month's CPU usage: used, budget, projected at the current pace."""
    return f"""
WITH used AS (
    SELECT coalesce(sum(total_cpu_hours), 0) AS used_hours
    FROM cpu_daily_fresh(%(start)s::timestamptz, %(end)s::timestamptz)
),
usage AS (
    SELECT used_hours, {_BUDGET} AS budget_hours,
           used_hours * extract(epoch FROM %(end)s::timestamptz - %(start)s::timestamptz)
               / greatest(extract(epoch FROM least(now(), %(end)s::timestamptz) - %(start)s::timestamptz), 1)
               AS projected_hours
    FROM used
)
SELECT {select} FROM usage"""


_CPU_TOTALS = """
WITH t AS (
    SELECT coalesce(sum(total_cpu_hours), 0) AS total_hours, coalesce(sum(jobs), 0) AS jobs,
           coalesce(sum(fast_cpu_hours), 0) AS fast_hours, coalesce(sum(fast_jobs), 0) AS fast_jobs,
           coalesce(sum(standard_cpu_hours), 0) AS standard_hours,
           coalesce(sum(standard_jobs), 0) AS standard_jobs,
           coalesce(sum(cold_cpu_hours), 0) AS cold_hours, coalesce(sum(cold_jobs), 0) AS cold_jobs,
           coalesce(sum(warm_cpu_hours), 0) AS warm_hours, coalesce(sum(warm_jobs), 0) AS warm_jobs
    FROM cpu_daily_fresh(%(start)s::timestamptz, %(end)s::timestamptz)
)"""

COST = Dashboard(
    name="cost",
    title="CPU budget",
    answers="How much of the month's CPU budget is used, and will the month end under it?",
    refresh_seconds=900,
    ranges=(),
    default_range="month",
    panels=(
        Panel(
            name="cpu_used",
            title="CPU hours used",
            sql=_month_usage("used_hours, budget_hours, 100.0 * used_hours / budget_hours AS percent_used"),
            visualisation="stat",
            unit="hours",
            counts=_ALL_CPU,
            empty=_NO_CPU,
            of="budget_hours",
            width=4,
        ),
        Panel(
            name="projected",
            title="Projected end of month",
            sql=_month_usage("projected_hours, budget_hours"),
            visualisation="stat",
            unit="hours",
            counts=_ALL_CPU + "; this month's pace carried to its end",
            empty=_NO_CPU,
            target=Target(column="budget_hours", label="budget"),
            width=4,
        ),
        Panel(
            name="budget_remaining",
            title="Budget remaining",
            sql=_month_usage(
                "budget_hours - used_hours AS remaining_hours, budget_hours,"
                " 100.0 * (budget_hours - used_hours) / budget_hours AS percent_left"
            ),
            visualisation="stat",
            unit="hours",
            counts=_ALL_CPU + "; negative when over budget",
            empty=_NO_CPU,
            of="budget_hours",
            width=4,
        ),
        Panel(
            name="daily_cpu",
            title="CPU consumption (daily)",
            sql=f"""
WITH days AS (
    SELECT generate_series(%(start)s::timestamptz, %(end)s::timestamptz - interval '1 day',
                           interval '1 day') AS time
),
used AS (SELECT day, total_cpu_hours FROM cpu_daily_fresh(%(start)s::timestamptz, %(end)s::timestamptz))
SELECT d.time,
       CASE WHEN d.time <= now() THEN coalesce(u.total_cpu_hours, 0) END AS cpu_hours,
       {_BUDGET} / (SELECT count(*) FROM days) AS budget_pace_hours
FROM days d LEFT JOIN used u ON u.day = d.time
ORDER BY d.time""",
            visualisation="bars",
            unit="hours",
            counts=_ALL_CPU + "; the line is the budget spread evenly over the month's days",
            empty=_NO_CPU,
            series=("cpu_hours", "budget_pace_hours"),
        ),
        Panel(
            name="cpu_by_path",
            title="CPU by processing path",
            sql=f"""{_CPU_TOTALS}
SELECT p.path, p.hours, 100.0 * p.hours / nullif(t.total_hours, 0) AS share
FROM t, LATERAL (VALUES ('standard', t.standard_hours), ('fast', t.fast_hours),
                        ('unknown', t.total_hours - t.fast_hours - t.standard_hours)) AS p(path, hours)
WHERE p.path <> 'unknown' OR p.hours > 1e-9
ORDER BY p.hours DESC""",
            visualisation="barlist",
            unit="hours",
            counts=_ALL_CPU,
            empty=_NO_CPU,
            width=6,
        ),
        Panel(
            name="cpu_per_document",
            title="Average CPU per document",
            sql=f"""{_CPU_TOTALS}
SELECT s.segment, 3600.0 * s.hours / nullif(s.jobs, 0) AS avg_cpu_seconds, s.jobs
FROM t, LATERAL (VALUES ('overall', t.total_hours, t.jobs),
                        ('standard', t.standard_hours, t.standard_jobs),
                        ('fast', t.fast_hours, t.fast_jobs),
                        ('cold', t.cold_hours, t.cold_jobs),
                        ('warm', t.warm_hours, t.warm_jobs)) AS s(segment, hours, jobs)""",
            visualisation="barlist",
            unit="seconds",
            counts=_ALL_CPU + "; cold includes model loading",
            empty=_NO_CPU,
            series=("avg_cpu_seconds",),
            target=Target(0.72),
            width=6,
        ),
    ),
)


def _distribution(column: str) -> str:
    """Counts of ``column`` on the §3.2 buckets (upper bound inclusive, as a histogram's ``le``), in one
    pass over the rows (a CASE picks each row's bucket), with the median."""
    bounds = vocab.SCORE_BUCKETS
    pick = " ".join(f"WHEN {column} <= {le} THEN {i}" for i, le in enumerate(bounds, 1))
    labels = ", ".join(
        f"({i}, '{'≤ ' + str(le) if i == 1 else f'{bounds[i - 2]}-{le}'}')" for i, le in enumerate(bounds, 1)
    )
    return f"""
WITH scores AS (
    SELECT {column} AS v, CASE {pick} END AS i
    FROM cpu_metrics WHERE {_in_range("created_at")} AND {column} IS NOT NULL
),
counted AS (SELECT i, count(*) AS jobs FROM scores GROUP BY i),
median AS (SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY v) AS median FROM scores)
SELECT b.bucket, coalesce(c.jobs, 0) AS jobs, (SELECT median FROM median) AS median
FROM (VALUES {labels}) AS b(i, bucket) LEFT JOIN counted c ON c.i = b.i
ORDER BY b.i"""


PRODUCT = Dashboard(
    name="product",
    title="Product health",
    answers="Which path do documents take, how good are they, how fast are results and what fails?",
    refresh_seconds=3600,
    ranges=("24h", "7d", "30d", "month"),
    default_range="7d",
    panels=(
        Panel(
            name="path_split",
            title="Processing path distribution",
            sql=f"""
SELECT coalesce(processing_path, 'unknown') AS path, count(*) AS jobs,
       100.0 * count(*) / sum(count(*)) OVER () AS share
FROM cpu_metrics WHERE {_in_range("created_at")}
GROUP BY 1 ORDER BY jobs DESC""",
            visualisation="barlist",
            unit="count",
            counts=_RAN,
            empty=_NO_RUNS,
        ),
        Panel(
            name="quality_distribution",
            title="Quality score distribution",
            sql=_distribution("quality_score"),
            visualisation="histogram",
            unit="count",
            counts=_RAN + " with a quality score",
            empty=_NO_RUNS,
            series=("jobs",),
            width=6,
        ),
        Panel(
            name="ocr_distribution",
            title="OCR confidence distribution",
            sql=_distribution("ocr_confidence"),
            visualisation="histogram",
            unit="count",
            counts=_RAN + " with an OCR confidence",
            empty=_NO_RUNS,
            series=("jobs",),
            width=6,
        ),
        Panel(
            name="latency_trend",
            title="Latency percentiles (trend)",
            sql=f"""
WITH slots AS ({_SLOTS}),
walls AS (
    SELECT date_bin(%(bucket)s::interval, m.created_at, {_ORIGIN}) AS time, m.total_wall_seconds AS v
    {_COMPLETED_WALL}
),
pct AS (
    SELECT time,
           percentile_cont(0.5) WITHIN GROUP (ORDER BY v) AS p50,
           percentile_cont(0.95) WITHIN GROUP (ORDER BY v) AS p95,
           percentile_cont(0.99) WITHIN GROUP (ORDER BY v) AS p99
    FROM walls GROUP BY time
)
SELECT s.time, p.p50, p.p95, p.p99 FROM slots s LEFT JOIN pct p ON p.time = s.time ORDER BY s.time""",
            visualisation="lines",
            unit="seconds",
            counts=_COMPLETED + ", per bucket",
            empty=_NO_COMPLETED,
            series=("p50", "p95", "p99"),
        ),
        Panel(
            name="error_breakdown",
            title="Error breakdown",
            sql=f"""
SELECT error_code, count(*) AS errors, 100.0 * count(*) / sum(count(*)) OVER () AS share
FROM error_events WHERE {_in_range("created_at")}
GROUP BY 1 ORDER BY errors DESC, error_code""",
            visualisation="barlist",
            unit="count",
            counts="every error_event in the range, by error code",
            empty=_NO_ERRORS,
        ),
    ),
)

DASHBOARDS: dict[str, Dashboard] = {d.name: d for d in (OPERATIONS, COST, PRODUCT)}
"""The dashboards by page name, in menu order."""
