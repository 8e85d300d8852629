"""The names of everything: the one vocabulary both halves of rythmiq-otel speak.

The in-process half (``rythmiq_otel.distro``) writes these names onto log records, spans and metrics; the
store half (``rythmiq_otel.store``) reads the same names back out of OTLP to fill the spec's tables. Keeping
them in one standard-library-only module is what lets the two halves never import each other while still
agreeing on the wire format.

The spec (``observability-spec.md``) uses three different spellings for the worker stages and an upper-case
spelling for error stages. This module picks one vocabulary -- the §1.1 log-schema enum -- and maps the
others onto it explicitly (see ``docs/vocabulary.md``).
"""

from __future__ import annotations

from typing import Final, Literal

# --------------------------------------------------------------------------------------------------------
# Services (§1.1 "service" enum)
# --------------------------------------------------------------------------------------------------------
Service = Literal["api", "worker", "webhook"]
SERVICES: Final[tuple[str, ...]] = ("api", "worker", "webhook")

# --------------------------------------------------------------------------------------------------------
# Stages. Canonical names are the §1.1 log-schema enum. The worker runs the first seven; "delivery" is the
# api/webhook side handing the output back to the user.
# --------------------------------------------------------------------------------------------------------
Stage = Literal["ingestion", "quality", "pre_ocr", "enhancement", "ocr", "schema", "packaging", "delivery"]
STAGES: Final[tuple[str, ...]] = (
    "ingestion", "quality", "pre_ocr", "enhancement", "ocr", "schema", "packaging", "delivery",
)
WORKER_STAGES: Final[tuple[str, ...]] = STAGES[:7]

# Stage -> the §4.2 cpu_metrics column holding its CPU seconds.
STAGE_CPU_COLUMN: Final[dict[str, str]] = {
    "ingestion": "fetch_cpu_seconds",
    "quality": "quality_cpu_seconds",
    "pre_ocr": "pre_ocr_cpu_seconds",
    "enhancement": "enhancement_cpu_seconds",
    "ocr": "ocr_cpu_seconds",
    "schema": "schema_cpu_seconds",
    "packaging": "upload_cpu_seconds",
}

# Other spellings found in the spec (§4.2 persistence keys, §3.2 error stages) -> canonical stage.
STAGE_ALIASES: Final[dict[str, str]] = {
    "fetch": "ingestion",
    "quality_scoring": "quality",
    "schema_adaptation": "schema",
    "transform": "schema",
    "upload": "packaging",
}


def canonical_stage(name: str) -> str | None:
    """Return the canonical stage for any spelling the spec uses (``"OCR"``, ``"FETCH"``, ``"upload"``).

    Returns ``None`` for names that are not a stage, so callers can decide how to bound them.
    """
    key = name.strip().lower()
    if key in STAGES:
        return key
    return STAGE_ALIASES.get(key)


# --------------------------------------------------------------------------------------------------------
# Error codes (the application's ErrorCode enum; §1.5, §3.2, §5.4 name the first three).
# --------------------------------------------------------------------------------------------------------
ERROR_CODES: Final[tuple[str, ...]] = (
    "OCR_FAILURE",
    "CORRUPT_DATA",
    "SCHEMA_INVALID",
    "UNSUPPORTED_FORMAT",
    "QUALITY_TOO_LOW",
    "STORAGE_ERROR",
    "TIMEOUT",
    "INTERNAL_ERROR",
)
# Used as a metric label value for anything outside ERROR_CODES, so labels stay bounded.
OTHER: Final = "other"

# --------------------------------------------------------------------------------------------------------
# Label values
# --------------------------------------------------------------------------------------------------------
ProcessingPath = Literal["fast", "standard"]
PROCESSING_PATHS: Final[tuple[str, ...]] = ("fast", "standard")
ExecutionTemperature = Literal["cold", "warm"]
EXECUTION_TEMPERATURES: Final[tuple[str, ...]] = ("cold", "warm")
# rythmiq_jobs_total{status=...} (§3.2 example values)
JOB_OUTCOMES: Final[tuple[str, ...]] = ("success", "failed")
# job_runs.status (the app's jobs.status)
JOB_STATUSES: Final[tuple[str, ...]] = ("pending", "processing", "completed", "failed")

# --------------------------------------------------------------------------------------------------------
# Log record fields. The JSON line (§1.1) and the OTel log record carry the same fields under the same
# names: the attribute key IS the JSON field name. Nested `extra` is flattened to attributes with the
# EXTRA_PREFIX ("extra.ocr_confidence"); the sink folds them back into the `extra` column.
# --------------------------------------------------------------------------------------------------------
LOG_FIELDS: Final[tuple[str, ...]] = (
    "timestamp", "level", "service", "stage", "job_id", "correlation_id", "user_id_hash", "latency_ms",
    "cpu_seconds", "error_code", "error_stage", "http_method", "http_path", "http_status", "message", "extra",
)
# Fields copied from the record's attributes (everything but timestamp/level/service/message/extra).
LOG_ATTRIBUTE_FIELDS: Final[tuple[str, ...]] = (
    "stage", "job_id", "correlation_id", "user_id_hash", "latency_ms", "cpu_seconds", "error_code",
    "error_stage", "http_method", "http_path", "http_status",
)
EXTRA_PREFIX: Final = "extra."
# The event name: top-level "event" in the JSON line, the OTel `event.name` attribute on the record.
EVENT_FIELD: Final = "event"
EVENT_NAME_ATTR: Final = "event.name"
LEVELS: Final[tuple[str, ...]] = ("DEBUG", "INFO", "WARN", "ERROR")

# --------------------------------------------------------------------------------------------------------
# Resource and baggage
# --------------------------------------------------------------------------------------------------------
RESOURCE_SERVICE_ATTR: Final = "rythmiq.service"  # api | worker | webhook; service.name stays free-form
BAGGAGE_CORRELATION_ID: Final = "correlation_id"
BAGGAGE_JOB_ID: Final = "job_id"
BAGGAGE_USER_ID_HASH: Final = "user_id_hash"
BAGGAGE_KEYS: Final[tuple[str, ...]] = (BAGGAGE_CORRELATION_ID, BAGGAGE_JOB_ID, BAGGAGE_USER_ID_HASH)

CORRELATION_HEADER: Final = "X-Correlation-ID"
# Keys the Camber payload / webhook body carry (§2.2 plus W3C trace context).
PAYLOAD_CORRELATION_KEY: Final = "correlation_id"
PAYLOAD_CONTEXT_KEYS: Final[tuple[str, ...]] = ("traceparent", "tracestate", "baggage")

# --------------------------------------------------------------------------------------------------------
# Events: the value of EVENT_FIELD / EVENT_NAME_ATTR on the §1.2 emission points. The sink keys its
# derived tables (job_runs, cpu_metrics, error_events) on these, never on message text.
# --------------------------------------------------------------------------------------------------------
EVENT_REQUEST_STARTED: Final = "request.started"
EVENT_REQUEST_COMPLETED: Final = "request.completed"
EVENT_AUTH_SUCCEEDED: Final = "auth.succeeded"
EVENT_AUTH_FAILED: Final = "auth.failed"
EVENT_JOB_CREATED: Final = "job.created"  # api: job row created, status pending
EVENT_JOB_STATUS_QUERIED: Final = "job.status_queried"
EVENT_OUTPUT_DELIVERED: Final = "job.output_delivered"
EVENT_JOB_STARTED: Final = "job.started"  # worker: status processing
EVENT_JOB_COMPLETED: Final = "job.completed"  # worker: success
EVENT_JOB_FAILED: Final = "job.failed"  # worker: failure (ERROR, error_code, error_stage)
EVENT_STAGE_STARTED: Final = "stage.started"
EVENT_STAGE_COMPLETED: Final = "stage.completed"
EVENT_STAGE_FAILED: Final = "stage.failed"
EVENT_METRICS_SUMMARY: Final = "job.metrics_summary"  # worker: everything one cpu_metrics row needs
EVENT_COLD_START: Final = "worker.cold_start"
EVENT_ENHANCEMENT_SKIPPED: Final = "stage.enhancement_skipped"
EVENT_OCR_ROLLBACK: Final = "stage.ocr_rollback"
EVENT_WEBHOOK_RECEIVED: Final = "webhook.received"
EVENT_WEBHOOK_PROCESSED: Final = "webhook.processed"  # job transitioned to completed / failed
EVENT_WEBHOOK_REJECTED: Final = "webhook.rejected"
EVENT_PII_REDACTED: Final = "pii.redacted"

# The events the sink fills job_runs and cpu_metrics from (error_events come from ERROR records, which no
# level filters out): losing one to a level setting would blind the cost numbers silently.
TABLE_EVENTS: Final[frozenset[str]] = frozenset({
    EVENT_JOB_CREATED, EVENT_JOB_STARTED, EVENT_METRICS_SUMMARY, EVENT_JOB_COMPLETED, EVENT_JOB_FAILED,
    EVENT_WEBHOOK_PROCESSED,
})
# §6.4 "never sample": job created / completed (success or failure), webhook received, errors, cold starts,
# auth failures -- a rejected webhook signature is one; API 5xx and other errors are ERROR records.
NEVER_SAMPLE_EVENTS: Final[frozenset[str]] = frozenset({
    EVENT_JOB_CREATED, EVENT_JOB_COMPLETED, EVENT_JOB_FAILED, EVENT_WEBHOOK_RECEIVED, EVENT_COLD_START,
    EVENT_AUTH_FAILED, EVENT_WEBHOOK_REJECTED, EVENT_STAGE_FAILED,
})
# Logged (JSON line and OTel record) at every LOG_LEVEL: the table events and the §6.4 events.
ALWAYS_LOG_EVENTS: Final[frozenset[str]] = TABLE_EVENTS | NEVER_SAMPLE_EVENTS

# The §4.2 cpu_metrics columns the metrics-summary event carries as `extra.<column>`.
CPU_METRICS_COLUMNS: Final[tuple[str, ...]] = (
    "execution_temperature", "processing_path", "total_cpu_seconds", "total_wall_seconds",
    *STAGE_CPU_COLUMN.values(),
    "input_file_size_bytes", "output_file_size_bytes", "quality_score", "ocr_confidence",
    "enhancement_skipped", "page_count",
)

# --------------------------------------------------------------------------------------------------------
# Metrics (§3.1): exact names, label keys, and the §3.2 bucket boundaries.
# --------------------------------------------------------------------------------------------------------
METRIC_JOBS_TOTAL: Final = "rythmiq_jobs_total"
METRIC_JOB_LATENCY: Final = "rythmiq_job_latency_seconds"
METRIC_JOB_CPU: Final = "rythmiq_job_cpu_seconds"
METRIC_ERRORS_TOTAL: Final = "rythmiq_errors_total"
METRIC_QUALITY_SCORE: Final = "rythmiq_quality_score"
METRIC_OCR_CONFIDENCE: Final = "rythmiq_ocr_confidence"
METRIC_COLD_STARTS: Final = "rythmiq_cold_starts_total"
METRIC_API_REQUESTS: Final = "rythmiq_api_requests_total"
METRIC_API_LATENCY: Final = "rythmiq_api_latency_seconds"
# §3.2 gauges, published by the sink from Postgres.
METRIC_CPU_HOURS_MONTH: Final = "rythmiq_cpu_hours_current_month"
METRIC_JOBS_IN_PROGRESS: Final = "rythmiq_jobs_in_progress"
# The in-process PII guard's counter (labels: layer, rule).
METRIC_PII_REDACTIONS: Final = "rythmiq_pii_redactions_total"

METRIC_LABELS: Final[dict[str, tuple[str, ...]]] = {
    METRIC_JOBS_TOTAL: ("status", "processing_path"),
    METRIC_JOB_LATENCY: ("processing_path", "execution_temp"),
    METRIC_JOB_CPU: ("processing_path", "stage"),
    METRIC_ERRORS_TOTAL: ("error_code", "stage"),
    METRIC_QUALITY_SCORE: ("processing_path",),
    METRIC_OCR_CONFIDENCE: ("processing_path",),
    METRIC_COLD_STARTS: (),
    METRIC_API_REQUESTS: ("method", "path", "status"),
    METRIC_API_LATENCY: ("method", "path"),
}

CPU_SECONDS_BUCKETS: Final[tuple[float, ...]] = (0.1, 0.25, 0.5, 1, 2, 5, 10, 30)
SCORE_BUCKETS: Final[tuple[float, ...]] = (0.25, 0.5, 0.65, 0.75, 0.85, 0.95, 1.0)
# Chosen (the spec leaves latency buckets open): job latency brackets the 30 s P95 alert threshold (§7.4);
# API latency is the usual web-request spread.
JOB_LATENCY_BUCKETS: Final[tuple[float, ...]] = (0.5, 1, 2, 3, 5, 10, 20, 30, 60, 120, 300)
API_LATENCY_BUCKETS: Final[tuple[float, ...]] = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)

METRIC_BUCKETS: Final[dict[str, tuple[float, ...]]] = {
    METRIC_JOB_CPU: CPU_SECONDS_BUCKETS,
    METRIC_QUALITY_SCORE: SCORE_BUCKETS,
    METRIC_OCR_CONFIDENCE: SCORE_BUCKETS,
    METRIC_JOB_LATENCY: JOB_LATENCY_BUCKETS,
    METRIC_API_LATENCY: API_LATENCY_BUCKETS,
}

# --------------------------------------------------------------------------------------------------------
# PII marker: what a redacted value is replaced with. Says which rule fired, never contains the value.
# --------------------------------------------------------------------------------------------------------
REDACTED_MARKER_FORMAT: Final = "[REDACTED:{rule}]"
