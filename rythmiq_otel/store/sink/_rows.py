"""Row shapes the mappers produce and the writers store: one ``NamedTuple`` per table, in column order.

The field names are the column names of docs/contracts.md §2, so a writer can COPY a row as it is.
JSON columns hold already-serialised JSON text (``str``): the mapper serialises once (a resource is shared
by every record of a request) and COPY passes the text straight to Postgres. UUID columns hold canonical
UUID text (``UuidText``) for the same reason: building ``uuid.UUID`` objects for three columns of every
record cost about a tenth of the decode time.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import NamedTuple

#: Lower-case, hyphenated UUID text (``550e8400-e29b-41d4-a716-446655440000``); Postgres ``uuid`` input.
UuidText = str


class LogRow(NamedTuple):
    """One row of ``logs``: one OTLP log record."""

    timestamp: datetime
    observed_timestamp: datetime | None
    level: str
    severity_number: int
    service: str | None
    stage: str | None
    job_id: UuidText | None
    correlation_id: UuidText | None
    user_id_hash: str | None
    latency_ms: float | None
    cpu_seconds: float | None
    error_code: str | None
    error_stage: str | None
    http_method: str | None
    http_path: str | None
    http_status: int | None
    message: str
    extra: str
    event_name: str | None
    trace_id: str | None
    span_id: str | None
    attributes: str
    resource: str
    scope_name: str | None
    dedup_key: UuidText


class SpanRow(NamedTuple):
    """One row of ``spans``: one OTLP span."""

    trace_id: str
    span_id: str
    parent_span_id: str | None
    name: str
    kind: str
    start_time: datetime
    end_time: datetime
    duration_ms: float
    status_code: str
    status_message: str | None
    attributes: str
    events: str
    links: str
    resource: str
    service: str | None
    scope_name: str | None
    correlation_id: UuidText
    job_id: UuidText | None


class MetricPointRow(NamedTuple):
    """One row of ``metric_points``: one data point of a gauge, sum or histogram."""

    time: datetime
    start_time: datetime | None
    metric_name: str
    kind: str
    temporality: str
    is_monotonic: bool | None
    service: str | None
    attributes: str
    resource: str
    value: float | None
    count: int | None
    sum: float | None
    min: float | None
    max: float | None
    bucket_bounds: list[float] | None
    bucket_counts: list[int] | None
    dedup_key: UuidText


class ErrorEventRow(NamedTuple):
    """One row of ``error_events`` (spec §4.3 + correlation_id); ``id`` is derived from the log's key."""

    id: UuidText
    job_id: UuidText
    error_code: str
    error_stage: str
    processing_path: str | None
    quality_score: float | None
    created_at: datetime
    correlation_id: UuidText | None


class JobUpdate(NamedTuple):
    """What one lifecycle event says about a job; merged into ``job_runs`` whatever the arrival order."""

    job_id: UuidText
    correlation_id: UuidText | None
    status: str | None
    processing_path: str | None
    execution_temperature: str | None
    created_at: datetime | None
    started_at: datetime | None
    completed_at: datetime | None
    error_code: str | None
    error_stage: str | None
    updated_at: datetime


@dataclass(frozen=True)
class CpuMetricsRow:
    """One row of ``cpu_metrics`` from a ``job.metrics_summary`` record: ``values`` maps §4.2 columns."""

    job_id: UuidText
    correlation_id: UuidText | None
    created_at: datetime
    values: dict[str, object] = field(default_factory=dict)


@dataclass
class Batch:
    """Every row one request produces; written in one transaction and acknowledged after its commit."""

    logs: list[LogRow] = field(default_factory=list)
    spans: list[SpanRow] = field(default_factory=list)
    metric_points: list[MetricPointRow] = field(default_factory=list)
    error_events: list[ErrorEventRow] = field(default_factory=list)
    cpu_metrics: list[CpuMetricsRow] = field(default_factory=list)
    job_updates: list[JobUpdate] = field(default_factory=list)

    def __len__(self) -> int:
        """The items of the request (log records, spans, data points), not the rows derived from them."""
        return len(self.logs) + len(self.spans) + len(self.metric_points)

    def rows(self) -> int:
        """Every row, derived ones included."""
        return len(self) + len(self.error_events) + len(self.cpu_metrics) + len(self.job_updates)
