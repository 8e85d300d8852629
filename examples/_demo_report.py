"""What the demo reads back from the store: the spec's §5 dashboard queries as a compact operator summary.

The queries are the spec's own (§5.2 Operations, §5.3 CPU budget), with ``job_runs`` standing in for the
application's ``jobs`` table (docs/store.md) and a ``NULLIF`` so the error rate of an empty day is "n/a"
instead of a division by zero. Reading them back from Postgres, rather than counting what the traffic
generator sent, is the point: the summary only shows what really went through OTLP, the collector and the
sink into the tables the dashboards read.
"""

from __future__ import annotations

import shlex
import sys
from collections.abc import Sequence
from datetime import datetime
from os import environ
from pathlib import Path
from typing import Any

import psycopg

from rythmiq_otel import vocab

JOBS_24H = "SELECT COUNT(*) FROM job_runs WHERE created_at > now() - interval '24 hours'"
STATUS_24H = """
SELECT status, COUNT(*) FROM job_runs WHERE created_at > now() - interval '24 hours' GROUP BY status
"""
ERROR_RATE_24H = """
SELECT COUNT(*) FILTER (WHERE status = 'failed') * 100.0 / NULLIF(COUNT(*), 0)
FROM job_runs
WHERE created_at > now() - interval '24 hours'
"""
P95_LATENCY_24H = """
SELECT percentile_cont(0.95) WITHIN GROUP (ORDER BY total_wall_seconds)
FROM cpu_metrics
WHERE created_at > now() - interval '24 hours'
"""
MONTHLY_CPU = "SELECT used_hours, projected_hours, budget_hours, percent_used FROM get_monthly_cpu_usage()"
RECENT_ERRORS = """
SELECT e.created_at, e.error_code, e.job_id, e.processing_path
FROM error_events e
ORDER BY e.created_at DESC
LIMIT 3
"""
# The job to suggest tracing: the latest one that finished, so its whole timeline is there to see.
LATEST_FINISHED = """
SELECT correlation_id FROM job_runs
WHERE status IN ('completed', 'failed') AND correlation_id IS NOT NULL
ORDER BY updated_at DESC
LIMIT 1
"""
# A job has "landed" when its whole chain is stored: the worker's terminal event (job_runs), its metrics
# summary (cpu_metrics) and the webhook's last word (logs) -- the three writers, from three processes.
LANDED = """
SELECT COUNT(*) FROM job_runs j
WHERE j.job_id = ANY(%s::uuid[]) AND j.status IN ('completed', 'failed')
  AND EXISTS (SELECT 1 FROM cpu_metrics c WHERE c.job_id = j.job_id)
  AND EXISTS (SELECT 1 FROM logs l WHERE l.job_id = j.job_id AND l.event_name = %s)
"""


def _scalar(conn: psycopg.Connection[Any], query: str, *params: Any) -> Any:
    row = conn.execute(query, params or None).fetchone()
    return row[0] if row else None


def landed(database_url: str, job_ids: Sequence[str]) -> int:
    """How many of ``job_ids`` have all their rows stored (see ``LANDED``)."""
    with psycopg.connect(database_url, autocommit=True, connect_timeout=5) as conn:
        return int(_scalar(conn, LANDED, list(job_ids), vocab.EVENT_WEBHOOK_PROCESSED))


def trace_command(correlation_id: str) -> str:
    """The ``rythmiq-otel trace`` line to copy: this venv's script (``make run`` does not put it on PATH),
    relative to the current directory when inside it, with ``RYTHMIQ_DATA_DIR`` when that is set (without it
    the command would look in the default embedded server, not this run's)."""
    script = Path(sys.executable).parent / "rythmiq-otel"
    try:
        shown = str(script.relative_to(Path.cwd()))
    except ValueError:
        shown = str(script)
    prefix = ""
    if environ.get("RYTHMIQ_DATA_DIR") and not environ.get("DATABASE_URL"):
        prefix = f"RYTHMIQ_DATA_DIR={shlex.quote(environ['RYTHMIQ_DATA_DIR'])} "
    return f"{prefix}{shlex.quote(shown)} trace {correlation_id}"


def _number(value: Any, unit: str, digits: str = ".2f") -> str:
    return "n/a" if value is None else f"{float(value):{digits}}{unit}"


def _hours(value: Any) -> str:
    """CPU hours, always in hours (the budget's unit), with more decimals while under 0.01 h: a demo
    without history uses a few CPU seconds a month, and the line must read the same from one summary to
    the next."""
    if value is None:
        return "n/a"
    hours = float(value)
    return f"{hours:.2f} h" if abs(hours) >= 0.01 else f"{hours:.5f} h"


def summary(database_url: str, *, submitted: int) -> list[str]:
    """The operator summary, a handful of lines: §5.2 tiles, §5.3 budget, recent errors, a trace to try."""
    with psycopg.connect(database_url, autocommit=True, connect_timeout=5) as conn:
        jobs = _scalar(conn, JOBS_24H)
        statuses = dict(conn.execute(STATUS_24H).fetchall())
        error_rate = _scalar(conn, ERROR_RATE_24H)
        p95 = _scalar(conn, P95_LATENCY_24H)
        used, projected, budget, percent = conn.execute(MONTHLY_CPU).fetchone() or (None,) * 4
        errors = conn.execute(RECENT_ERRORS).fetchall()
        latest = _scalar(conn, LATEST_FINISHED)
    in_progress = statuses.get("pending", 0) + statuses.get("processing", 0)
    lines = [
        f"-- {datetime.now().strftime('%H:%M:%S')}  from Postgres (spec §5)  "
        f"[{submitted} job(s) submitted by this run]",
        f"   jobs 24h {jobs}  (completed {statuses.get('completed', 0)}, failed {statuses.get('failed', 0)}, "
        f"in progress {in_progress})   error rate {_number(error_rate, '%', '.1f')}   "
        f"p95 latency {_number(p95, ' s')}",
        f"   cpu this month {_hours(used)} of {_number(budget, ' h', '.0f')} "
        f"({_number(percent, '%', '.4f')}), projected {_hours(projected)} by month end",
    ]
    for index, (created_at, code, job_id, path) in enumerate(errors):
        label = "recent errors" if index == 0 else ""
        where = f"{path} path" if path else "before the path was chosen"
        lines.append(f"   {label:<15}{created_at.astimezone():%H:%M:%S}  {code:<18} job {job_id}  {where}")
    if latest is not None:
        lines.append(f"   trace a job    {trace_command(str(latest))}")
    return lines
