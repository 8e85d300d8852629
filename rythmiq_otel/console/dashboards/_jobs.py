"""One job's trace page data: the same timeline as ``rythmiq-otel trace`` plus its job_runs and
cpu_metrics rows and its errors, read in one read-only transaction.

The timeline query is the store's (``rythmiq_otel.store._trace``), reused rather than repeated, so the
page and the command can never disagree about what belongs to a job.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

import psycopg

from rythmiq_otel.store._trace import parse_identifier, timeline

from ._run import jsonable, read_only

__all__ = ["job_trace", "parse_job_id"]

_JOB = """
SELECT job_id, correlation_id, status, processing_path, execution_temperature, created_at, started_at,
       completed_at, error_code, error_stage
FROM job_runs WHERE job_id = %(id)s OR correlation_id = %(id)s
ORDER BY created_at LIMIT 1"""
_CPU = "SELECT * FROM cpu_metrics WHERE job_id = %(job)s OR correlation_id = %(id)s LIMIT 1"
_ERRORS = """
SELECT created_at, error_code, error_stage, processing_path, quality_score
FROM error_events WHERE job_id = %(job)s OR correlation_id = %(id)s
ORDER BY created_at"""


def parse_job_id(identifier: str) -> UUID | None:
    """The UUID a search or URL names (job id, correlation id or 32-hex trace id), or ``None``."""
    try:
        return parse_identifier(identifier)
    except ValueError:
        return None


def _row(cur: psycopg.Cursor) -> dict[str, Any] | None:
    row = cur.fetchone()
    if row is None:
        return None
    return {c.name: jsonable(v) for c, v in zip(cur.description or (), row, strict=True)}


def job_trace(conn: psycopg.Connection, key: UUID) -> dict[str, Any] | None:
    """Everything stored about the job ``key`` names, or ``None`` when nothing carries that id.

    Returns ``{"id", "job", "cpu_metrics", "errors", "services", "timeline"}``; ``timeline`` holds the
    log records and spans in time order (spans with ``duration_ms``, for the waterfall).
    """
    with read_only(conn), conn.cursor() as cur:
        entries = timeline(conn, str(key))
        cur.execute(_JOB, {"id": key})
        job = _row(cur)
        params = {"id": key, "job": UUID(job["job_id"]) if job else key}
        cur.execute(_CPU, params)
        cpu = _row(cur)
        cur.execute(_ERRORS, params)
        columns = [c.name for c in cur.description or ()]
        errors = [{c: jsonable(v) for c, v in zip(columns, r, strict=True)} for r in cur.fetchall()]
    if not entries and job is None and cpu is None and not errors:
        return None
    return {
        "id": str(key),
        "job": job,
        "cpu_metrics": cpu,
        "errors": errors,
        "services": sorted({e.service for e in entries if e.service}),
        "timeline": [{k: jsonable(v) for k, v in vars(e).items()} for e in entries],
    }
