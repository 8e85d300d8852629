"""Single rows for the alert and report tests, written straight into the tables the sink fills.

Each helper inserts what one kind of telemetry leaves behind (a finished job, a worker's metrics summary,
an API request counter point) at a chosen time, so a test can place data exactly around a rule's window
and threshold.
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta

import psycopg

from rythmiq_otel import vocab


def job(conn: psycopg.Connection, *, finished: datetime, failed: bool = False,
        correlation_id: uuid.UUID | None = None, error_code: str = "OCR_FAILURE") -> uuid.UUID:
    """A job_runs row that finished at ``finished`` (failed or completed); returns its job_id."""
    job_id = uuid.uuid4()
    conn.execute(
        "INSERT INTO job_runs (job_id, correlation_id, status, processing_path, created_at, started_at,"
        " completed_at, error_code) VALUES (%s, %s, %s, 'standard', %s, %s, %s, %s)",
        (job_id, correlation_id or uuid.uuid4(), "failed" if failed else "completed",
         finished, finished, finished, error_code if failed else None),
    )
    return job_id


def cpu(conn: psycopg.Connection, *, at: datetime, cpu_seconds: float = 1.0, wall_seconds: float = 2.0,
        temperature: str = "warm", quality: float | None = 0.8, job_id: uuid.UUID | None = None) -> None:
    """A cpu_metrics row (a worker's job.metrics_summary) created at ``at``."""
    conn.execute(
        "INSERT INTO cpu_metrics (job_id, execution_temperature, processing_path, total_cpu_seconds,"
        " total_wall_seconds, quality_score, created_at) VALUES (%s, %s, 'standard', %s, %s, %s, %s)",
        (job_id or uuid.uuid4(), temperature, cpu_seconds, wall_seconds, quality, at),
    )


def api_requests(conn: psycopg.Connection, *, at: datetime, status: int, count: float,
                 temporality: str = "delta", start: datetime | None = None) -> None:
    """A rythmiq_api_requests_total point for one status, as the sink stores an OTLP sum point."""
    conn.execute(
        "INSERT INTO metric_points (time, start_time, metric_name, kind, temporality, is_monotonic, service,"
        " attributes, value, dedup_key) VALUES (%s, %s, %s, 'sum', %s, true, 'api', %s, %s, %s)",
        (at, start or at, vocab.METRIC_API_REQUESTS, temporality,
         json.dumps({"method": "POST", "path": "/jobs", "status": str(status)}), count, uuid.uuid4()),
    )


def failing_hour(conn: psycopg.Connection) -> None:
    """40 jobs finished in the last hour (database clock), 4 failed: error_rate fires (10 % > 2 %)."""
    now = conn.execute("SELECT now()").fetchone()[0]
    for i in range(40):
        job(conn, finished=now - timedelta(minutes=i + 1), failed=i < 4)


def recovered_hour(conn: psycopg.Connection) -> None:
    """396 more completed jobs in the last hour: after ``failing_hour``, 4 failures are 0.9 %, back to ok."""
    now = conn.execute("SELECT now()").fetchone()[0]
    for i in range(396):
        job(conn, finished=now - timedelta(minutes=i % 50 + 1))
