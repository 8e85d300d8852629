"""One seeded Rythmiq job, as the store-query and dashboard tests write it into ``job_runs``, ``cpu_metrics``
and ``error_events`` and then recompute every expected number from it in plain Python.

Shared so both suites describe a job the same way; each keeps its own generator (their traffic shapes
differ on purpose) and its own SQL.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class SeededJob:
    job_id: uuid.UUID
    correlation_id: uuid.UUID
    created_at: datetime
    status: str
    path: str
    temperature: str
    cpu_seconds: float
    wall_seconds: float
    error_code: str | None = None
    error_stage: str | None = None
    quality: float | None = None
    ocr: float | None = None

    @property
    def ran(self) -> bool:
        """The worker ran it (completed or failed): it has a ``cpu_metrics`` row."""
        return self.status in ("completed", "failed")
