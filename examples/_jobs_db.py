"""The example's job table: one SQLite file shared by the api (creates jobs) and the webhook (ends them).

The real product keeps jobs in its own database; the example must not need the observability store, so a
file path from ``EXAMPLE_DB`` is enough.
"""

from __future__ import annotations

import json
import os
import sqlite3
from typing import Any

_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    job_id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL,
    status TEXT NOT NULL,
    input_metadata TEXT NOT NULL,
    error_code TEXT,
    error_stage TEXT,
    output TEXT
)
"""


def connect() -> sqlite3.Connection:
    """Open the database named by ``EXAMPLE_DB`` (created on first use)."""
    connection = sqlite3.connect(os.environ.get("EXAMPLE_DB", "rythmiq-example.sqlite3"), timeout=10)
    connection.row_factory = sqlite3.Row
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute(_SCHEMA)
    return connection


def create(job_id: str, user_id: str, input_metadata: dict[str, Any]) -> None:
    """Insert a pending job."""
    with connect() as db:
        db.execute(
            "INSERT INTO jobs (job_id, user_id, status, input_metadata) VALUES (?, ?, 'pending', ?)",
            (job_id, user_id, json.dumps(input_metadata)),
        )


def get(job_id: str) -> dict[str, Any] | None:
    """The job row as a dict, or ``None``."""
    with connect() as db:
        row = db.execute("SELECT * FROM jobs WHERE job_id = ?", (job_id,)).fetchone()
    return dict(row) if row is not None else None


def finish(job_id: str, status: str, *, error_code: str | None, error_stage: str | None,
           output: Any) -> bool:
    """Move a job to ``completed`` / ``failed``; False when the job does not exist."""
    with connect() as db:
        cursor = db.execute(
            "UPDATE jobs SET status = ?, error_code = ?, error_stage = ?, output = ? WHERE job_id = ?",
            (status, error_code, error_stage, json.dumps(output) if output is not None else None, job_id),
        )
    return cursor.rowcount == 1
