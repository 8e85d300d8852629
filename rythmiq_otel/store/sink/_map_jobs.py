"""Deriving the job tables from ``logs`` rows: error_events, cpu_metrics and job_runs updates (pure).

The sink keys these on ``event.name`` (docs/contracts.md §1, "Events the sink derives tables from"),
never on message text. Only lifecycle events, metrics summaries and ERROR records are looked at, so the
JSON of ``extra`` is parsed again only for those few rows.

Order independence (``job_runs``): every update is merged with rules that are commutative and idempotent,
so events from api, worker and webhook give the same row whatever order, and however often, they arrive:
status takes the furthest state (pending < processing < completed < failed), ``created_at``/``started_at``
the earliest time (``created_at`` falls back to the earliest event seen until ``job.created`` arrives),
``completed_at``/``updated_at`` the latest, other fields the first non-null value.
``updated_at`` is the time of the latest event known for the job, not the wall clock, so a redelivered
request leaves the row exactly as it was.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any
from uuid import NAMESPACE_URL, uuid5

from rythmiq_otel import vocab

from ._rows import CpuMetricsRow, ErrorEventRow, JobUpdate, LogRow
from ._values import INT4_BITS, INT8_BITS, Repairs, as_float, as_int, key_text

#: Namespace of the deterministic ids of derived rows (error_events.id; cpu_metrics is keyed on job_id).
ID_NAMESPACE = uuid5(NAMESPACE_URL, "https://rythmiq.one/otel/sink")
STATUS_RANK = {status: rank for rank, status in enumerate(vocab.JOB_STATUSES)}
UNKNOWN_STAGE = "unknown"

_TEXT_COLUMNS = frozenset({"execution_temperature", "processing_path"})
#: Integer columns and their width in bits (an out-of-range value is NULL and counted, never an error).
_INT_COLUMNS = {"input_file_size_bytes": INT8_BITS, "output_file_size_bytes": INT8_BITS,
                "page_count": INT4_BITS}
_BOOL_COLUMNS = frozenset({"enhancement_skipped"})
# §4.2's persistence code writes 0 for a stage it has no number for; the table's columns are NOT NULL.
_ZERO_DEFAULT_COLUMNS = frozenset({"total_cpu_seconds", *vocab.STAGE_CPU_COLUMN.values()})
#: The status each lifecycle event reports; webhook.processed says it in ``extra.status``.
_STATUS_BY_EVENT = {
    vocab.EVENT_JOB_CREATED: "pending",
    vocab.EVENT_JOB_STARTED: "processing",
    vocab.EVENT_METRICS_SUMMARY: "processing",
    vocab.EVENT_JOB_COMPLETED: "completed",
    vocab.EVENT_JOB_FAILED: "failed",
}
_LIFECYCLE = frozenset({*_STATUS_BY_EVENT, vocab.EVENT_WEBHOOK_PROCESSED})
_WEBHOOK_STATUS = {"completed": "completed", "success": "completed", "succeeded": "completed",
                   "failed": "failed", "failure": "failed", "error": "failed"}


def _extra(row: LogRow) -> dict[str, Any]:
    return json.loads(row.extra)


def _text(value: Any, repairs: Repairs) -> str | None:
    """A non-empty string of ``extra``, cut to an indexable length (cpu_metrics indexes these columns)."""
    return key_text(value, repairs) if isinstance(value, str) and value else None


def error_event_rows(logs: Iterable[LogRow], repairs: Repairs) -> Iterator[ErrorEventRow]:
    """One ``error_events`` row per ERROR record that names both an error code and a job."""
    for row in logs:
        if row.level != "ERROR" or row.error_code is None or row.job_id is None:
            continue
        extra = _extra(row)
        yield ErrorEventRow(
            id=str(uuid5(ID_NAMESPACE, f"error_events:{row.dedup_key}")),
            job_id=row.job_id,
            error_code=row.error_code,
            error_stage=row.error_stage or row.stage or UNKNOWN_STAGE,
            processing_path=_text(extra.get("processing_path"), repairs),
            quality_score=as_float(extra.get("quality_score"), repairs, "invalid_quality_score"),
            created_at=row.timestamp,
            correlation_id=row.correlation_id,
        )


def cpu_metrics_rows(logs: Iterable[LogRow], repairs: Repairs) -> Iterator[CpuMetricsRow]:
    """One ``cpu_metrics`` row per ``job.metrics_summary`` record (the first one per job wins in SQL)."""
    for row in logs:
        if row.event_name != vocab.EVENT_METRICS_SUMMARY or row.job_id is None:
            continue
        extra = _extra(row)
        values = {column: _cpu_value(column, extra.get(column), repairs)
                  for column in vocab.CPU_METRICS_COLUMNS}
        yield CpuMetricsRow(row.job_id, row.correlation_id, row.timestamp, values)


def _cpu_value(column: str, value: Any, repairs: Repairs) -> object:
    if value is None:
        return 0.0 if column in _ZERO_DEFAULT_COLUMNS else None
    if column in _TEXT_COLUMNS:
        return _text(value, repairs)
    if column in _BOOL_COLUMNS:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        repairs[f"invalid_{column}"] += 1
        return None
    if column in _INT_COLUMNS:
        return as_int(value, repairs, f"invalid_{column}", _INT_COLUMNS[column])
    number = as_float(value, repairs, f"invalid_{column}")
    return 0.0 if number is None and column in _ZERO_DEFAULT_COLUMNS else number


def job_updates(logs: Iterable[LogRow], repairs: Repairs) -> Iterator[JobUpdate]:
    """One ``JobUpdate`` per lifecycle event that names a job (``repairs``: the deriver signature)."""
    for row in logs:
        if row.event_name not in _LIFECYCLE or row.job_id is None:
            continue
        extra = _extra(row)
        event, at = row.event_name, row.timestamp
        status = _STATUS_BY_EVENT.get(event)
        if event == vocab.EVENT_WEBHOOK_PROCESSED:
            reported = _text(extra.get("status"), repairs)
            status = _WEBHOOK_STATUS.get(reported.lower()) if reported else None
            if status is None:
                status = "failed" if row.error_code else "completed"
        terminal = status in ("completed", "failed") and event != vocab.EVENT_METRICS_SUMMARY
        yield JobUpdate(
            job_id=row.job_id,
            correlation_id=row.correlation_id,
            status=status,
            processing_path=_text(extra.get("processing_path"), repairs),
            execution_temperature=_text(extra.get("execution_temperature"), repairs),
            # Every event bounds the creation time from above; job.created (the earliest) gives it exactly.
            created_at=at,
            started_at=at if event == vocab.EVENT_JOB_STARTED else None,
            completed_at=at if terminal else None,
            error_code=row.error_code if status == "failed" else None,
            error_stage=(row.error_stage or row.stage) if status == "failed" else None,
            updated_at=at,
        )


def merge_job_updates(updates: Iterable[JobUpdate]) -> dict[str, JobUpdate]:
    """Fold updates per job with the same commutative rules the SQL upsert applies."""
    merged: dict[str, JobUpdate] = {}
    for update in updates:
        previous = merged.get(update.job_id)
        merged[update.job_id] = update if previous is None else merge_job_update(previous, update)
    return merged


def merge_job_update(a: JobUpdate, b: JobUpdate) -> JobUpdate:
    """Merge two updates of one job; ``merge(a, b) == merge(b, a)`` when their non-null fields agree."""
    status = a.status
    if b.status is not None and (status is None or STATUS_RANK[b.status] > STATUS_RANK[status]):
        status = b.status
    return JobUpdate(
        job_id=a.job_id,
        correlation_id=a.correlation_id or b.correlation_id,
        status=status,
        processing_path=a.processing_path or b.processing_path,
        execution_temperature=a.execution_temperature or b.execution_temperature,
        created_at=_earliest(a.created_at, b.created_at),
        started_at=_earliest(a.started_at, b.started_at),
        completed_at=_latest(a.completed_at, b.completed_at),
        error_code=a.error_code or b.error_code,
        error_stage=a.error_stage or b.error_stage,
        updated_at=max(a.updated_at, b.updated_at),
    )


def _earliest(a: datetime | None, b: datetime | None) -> datetime | None:
    return b if a is None else a if b is None else min(a, b)


def _latest(a: datetime | None, b: datetime | None) -> datetime | None:
    return b if a is None else a if b is None else max(a, b)
