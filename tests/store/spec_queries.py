"""The spec's §5 dashboard queries (``jobs`` -> ``job_runs``), the §2.3 timeline and the
``error_events_daily`` view, verbatim: shared by the query tests and the sink's hostile-input fuzz test.
"""

from __future__ import annotations

# §5.2 Operations, §5.3 Cost, verbatim but for `jobs` -> `job_runs`.
JOB_COUNT_24H = """
SELECT COUNT(*) FROM job_runs
WHERE created_at > now() - interval '24 hours';
"""
ERROR_RATE_24H = """
SELECT
    COUNT(*) FILTER (WHERE status = 'failed') * 100.0 / COUNT(*)
FROM job_runs
WHERE created_at > now() - interval '24 hours';
"""
P95_LATENCY = """
SELECT percentile_cont(0.95) WITHIN GROUP (ORDER BY total_wall_seconds)
FROM cpu_metrics
WHERE created_at > now() - interval '24 hours';
"""
HOURLY_THROUGHPUT = """
SELECT
    date_trunc('hour', created_at) AS hour,
    COUNT(*) AS jobs
FROM job_runs
WHERE created_at > now() - interval '24 hours'
GROUP BY hour
ORDER BY hour;
"""
RECENT_ERRORS = """
SELECT
    e.created_at,
    e.error_code,
    e.job_id,
    e.processing_path
FROM error_events e
ORDER BY e.created_at DESC
LIMIT 10;
"""
MONTHLY_USAGE = "SELECT * FROM get_monthly_cpu_usage();"
DAILY_BREAKDOWN = """
SELECT day, total_cpu_hours
FROM cpu_metrics_daily
WHERE day >= date_trunc('month', now())
ORDER BY day;
"""
CPU_BY_PATH = """
SELECT
    processing_path,
    AVG(total_cpu_seconds) AS avg_cpu,
    SUM(total_cpu_seconds) / 3600.0 AS total_hours
FROM cpu_metrics
WHERE created_at >= date_trunc('month', now())
GROUP BY processing_path;
"""
COLD_VS_WARM = """
SELECT
    execution_temperature,
    AVG(total_cpu_seconds) AS avg_cpu
FROM cpu_metrics
WHERE created_at >= date_trunc('month', now())
GROUP BY execution_temperature;
"""
# §2.3
TIMELINE = """
SELECT * FROM logs
WHERE correlation_id = %s
ORDER BY timestamp ASC;
"""
ERROR_EVENTS_DAILY = "SELECT * FROM error_events_daily ORDER BY day, error_code, error_stage;"

#: Every query without parameters, by name.
PARAMETERLESS = {
    "JOB_COUNT_24H": JOB_COUNT_24H, "ERROR_RATE_24H": ERROR_RATE_24H, "P95_LATENCY": P95_LATENCY,
    "HOURLY_THROUGHPUT": HOURLY_THROUGHPUT, "RECENT_ERRORS": RECENT_ERRORS, "MONTHLY_USAGE": MONTHLY_USAGE,
    "DAILY_BREAKDOWN": DAILY_BREAKDOWN, "CPU_BY_PATH": CPU_BY_PATH, "COLD_VS_WARM": COLD_VS_WARM,
    "ERROR_EVENTS_DAILY": ERROR_EVENTS_DAILY,
}
