"""The worker's job and stage contexts: spans, §1.2 worker events, CPU accounting and worker metrics.

A worker entrypoint wraps one job in ``job_context(payload)`` and each of the seven stages in
``stage_context(stage)``. That is all the telemetry code a worker needs: the job continues the api's trace
from the payload (§2.2), the first job of a fresh process is the cold start, every stage's wall and CPU
time is measured, and the final metrics summary carries every §4.2 ``cpu_metrics`` column so the sink can
write that row from the one event -- also when a stage raised (the exception is logged with its
``error_code`` / ``error_stage`` and re-raised, never swallowed).

CPU seconds are process CPU time (``time.process_time``): the worker is one job at a time, and process
time is what the platform bills.

Events (all ``vocab.EVENT_*``): job.started INFO, worker.cold_start WARN, stage.started DEBUG,
stage.completed INFO, stage.enhancement_skipped DEBUG, stage.ocr_rollback WARN, job.completed INFO /
job.failed ERROR, job.metrics_summary INFO. A failing stage inside a job is reported once, by job.failed
(which names the stage), so one failure is one ``error_events`` row; a stage used outside any job reports
its own stage.failed.
"""

from __future__ import annotations

import contextlib
import contextvars
import itertools
import logging
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from opentelemetry import trace
from opentelemetry.trace import Status, StatusCode

from rythmiq_otel import vocab
from rythmiq_otel.distro.context._correlation import canonical_uuid
from rythmiq_otel.distro.context._payload import consumer_span, extract_reporting
from rythmiq_otel.distro.logs._loggers import get_logger
from rythmiq_otel.distro.metrics._catalog import instruments
from rythmiq_otel.distro.services._events import emit
from rythmiq_otel.distro.setup import _settings

__all__ = ["JobRun", "job_context", "stage_context"]

_log = get_logger(__name__, "worker")
_tracer = trace.get_tracer("rythmiq_otel.worker")
_current_job: contextvars.ContextVar[JobRun | None] = contextvars.ContextVar("rythmiq_job", default=None)
_job_numbers = itertools.count(1)
INTERNAL_ERROR = "INTERNAL_ERROR"


def _error_code(exc: BaseException) -> str:
    """The exception's ``error_code`` when it is one of ``vocab.ERROR_CODES``, else INTERNAL_ERROR."""
    code = getattr(exc, "error_code", None)
    return code if code in vocab.ERROR_CODES else INTERNAL_ERROR


@dataclass
class JobRun:
    """What the worker learns about one job; the stages fill it in, the summary reports it.

    Set ``processing_path``, ``quality_score``, ``ocr_confidence``, ``page_count`` and the file sizes as the
    stages find them out; call ``skip_enhancement`` / ``rollback_ocr`` when those decisions are taken.
    """

    job_id: str | None
    execution_temperature: str
    processing_path: str = "standard"
    quality_score: float | None = None
    ocr_confidence: float | None = None
    input_file_size_bytes: int | None = None
    output_file_size_bytes: int | None = None
    page_count: int | None = None
    enhancement_skipped: bool = False
    stage_cpu_seconds: dict[str, float] = field(default_factory=dict)
    current_stage: str | None = None

    def skip_enhancement(self, reason: str) -> None:
        """Record that the enhancement stage decided not to run (DEBUG, §1.3 "optimization tracking")."""
        self.enhancement_skipped = True
        emit(_log, logging.DEBUG, "Enhancement skipped", event=vocab.EVENT_ENHANCEMENT_SKIPPED,
             stage="enhancement", extra={"reason": reason, "quality_score": self.quality_score})

    def rollback_ocr(self, reason: str) -> None:
        """Record an OCR rollback (WARN, §1.3 "quality monitoring")."""
        emit(_log, logging.WARNING, "OCR rollback triggered", event=vocab.EVENT_OCR_ROLLBACK, stage="ocr",
             extra={"reason": reason, "ocr_confidence": self.ocr_confidence})

    def summary(self, total_cpu_seconds: float, total_wall_seconds: float) -> dict[str, Any]:
        """Every ``vocab.CPU_METRICS_COLUMNS`` value, as the metrics summary event carries them."""
        columns: dict[str, Any] = {
            "execution_temperature": self.execution_temperature,
            "processing_path": self.processing_path,
            "total_cpu_seconds": round(total_cpu_seconds, 6),
            "total_wall_seconds": round(total_wall_seconds, 6),
            "input_file_size_bytes": self.input_file_size_bytes,
            "output_file_size_bytes": self.output_file_size_bytes,
            "quality_score": self.quality_score,
            "ocr_confidence": self.ocr_confidence,
            "enhancement_skipped": self.enhancement_skipped,
            "page_count": self.page_count,
        }
        for stage, column in vocab.STAGE_CPU_COLUMN.items():
            columns[column] = round(self.stage_cpu_seconds.get(stage, 0.0), 6)
        return {column: columns[column] for column in vocab.CPU_METRICS_COLUMNS}


def _job_id(payload: Any, problems: list[str]) -> str | None:
    """The payload's job id when it is a UUID; a bad one is reported in ``problems`` and left out."""
    value = payload.get("job_id") if isinstance(payload, Mapping) else None
    job_id = canonical_uuid(value)
    if job_id is None and value is not None:
        problems.append("Job payload has a job_id that is not a UUID; logging the job without it")
    return job_id


def _elapsed(cpu_start: float, wall_start: float) -> tuple[float, float]:
    """CPU and wall seconds since ``time.process_time()`` and ``time.perf_counter()`` read the two starts."""
    return time.process_time() - cpu_start, time.perf_counter() - wall_start


def _durations(cpu: float, wall: float) -> dict[str, float]:
    """The ``cpu_seconds`` and ``latency_ms`` fields of a worker event, rounded alike in every event."""
    return {"cpu_seconds": round(cpu, 6), "latency_ms": round(wall * 1000, 3)}


def _next_temperature() -> str:
    """The first job a process runs is its cold start; every later one is warm."""
    return "cold" if next(_job_numbers) == 1 else "warm"


def _record_outcome(job: JobRun, status: str, latency: float) -> None:
    record = instruments().record
    path = job.processing_path
    record(vocab.METRIC_JOBS_TOTAL, 1, status=status, processing_path=path)
    record(vocab.METRIC_JOB_LATENCY, latency, processing_path=path, execution_temp=job.execution_temperature)
    if job.quality_score is not None:
        record(vocab.METRIC_QUALITY_SCORE, job.quality_score, processing_path=path)
    if job.ocr_confidence is not None:
        record(vocab.METRIC_OCR_CONFIDENCE, job.ocr_confidence, processing_path=path)


@contextlib.contextmanager
def job_context(payload: Any) -> Iterator[JobRun]:
    """Run one job: continue the payload's trace, log its lifecycle, and emit the metrics summary.

    ``payload`` is the decoded STDIN JSON (anything: a bad payload costs a WARN, never the job). An
    exception escaping the block is logged as job.failed with ``error_code`` (the exception's
    ``error_code`` attribute when it is a known code, else ``INTERNAL_ERROR``) and ``error_stage``, then
    re-raised.
    """
    context, problems = extract_reporting(payload)
    job = JobRun(job_id=_job_id(payload, problems), execution_temperature=_next_temperature())
    with consumer_span(_tracer, "job", context, problems, job_id=job.job_id) as span:
        span.set_attribute("rythmiq.execution_temperature", job.execution_temperature)
        yield from _run_job(job, span)


def _run_job(job: JobRun, span: trace.Span) -> Iterator[JobRun]:
    job_token = _current_job.set(job)
    cpu_start, wall_start = time.process_time(), time.perf_counter()
    if job.execution_temperature == "cold":
        instruments().record(vocab.METRIC_COLD_STARTS, 1)
        emit(_log, logging.WARNING, "Cold start detected", event=vocab.EVENT_COLD_START,
             extra={"execution_temperature": "cold"})
    emit(_log, logging.INFO, "Job processing started", event=vocab.EVENT_JOB_STARTED,
         extra={"execution_temperature": job.execution_temperature})
    try:
        yield job
    except GeneratorExit:  # the context was abandoned, not failed: nothing to report
        raise
    except BaseException as exc:  # SystemExit / KeyboardInterrupt mid-job still fail the job, then propagate
        cpu, wall = _elapsed(cpu_start, wall_start)
        code, stage = _error_code(exc), job.current_stage or vocab.WORKER_STAGES[0]
        span.set_status(Status(StatusCode.ERROR, code))
        instruments().record(vocab.METRIC_ERRORS_TOTAL, 1, error_code=code, stage=stage)
        _record_outcome(job, "failed", wall)
        emit(_log, logging.ERROR, "Job processing failed", event=vocab.EVENT_JOB_FAILED, stage=stage,
             error_code=code, error_stage=stage, **_durations(cpu, wall),
             extra={"processing_path": job.processing_path, "quality_score": job.quality_score,
                    "execution_temperature": job.execution_temperature})
        _emit_summary(job, cpu, wall)
        raise
    else:
        cpu, wall = _elapsed(cpu_start, wall_start)
        _record_outcome(job, "success", wall)
        emit(_log, logging.INFO, "Job completed successfully", event=vocab.EVENT_JOB_COMPLETED,
             **_durations(cpu, wall),
             extra={"processing_path": job.processing_path, "quality_score": job.quality_score,
                    "ocr_confidence": job.ocr_confidence,
                    "execution_temperature": job.execution_temperature})
        _emit_summary(job, cpu, wall)
    finally:
        _current_job.reset(job_token)


def _emit_summary(job: JobRun, cpu: float, wall: float) -> None:
    if not _settings.current().metrics_persistence:
        return  # ENABLE_METRICS_PERSISTENCE=false: the summary is the cpu_metrics write (Appendix B)
    emit(_log, logging.INFO, "Job metrics summary", event=vocab.EVENT_METRICS_SUMMARY,
         **_durations(cpu, wall), extra=job.summary(cpu, wall))


@contextlib.contextmanager
def stage_context(stage: str) -> Iterator[JobRun | None]:
    """Run one worker stage: a child span, stage.started / stage.completed, wall and CPU seconds.

    ``stage`` may be any spelling the spec uses (``"OCR"``, ``"fetch"``, ``"quality_scoring"``); it is
    logged by its canonical name. Yields the enclosing job's ``JobRun`` (``None`` outside ``job_context``).

    Raises:
        ValueError: ``stage`` is not a stage name in any spelling the spec uses.
    """
    name = vocab.canonical_stage(stage)
    if name is None:
        raise ValueError(f"stage_context() got {stage!r}; expected one of {', '.join(vocab.WORKER_STAGES)}.")
    job = _current_job.get()
    with _tracer.start_as_current_span(f"stage {name}") as span:
        span.set_attribute("rythmiq.stage", name)
        emit(_log, logging.DEBUG, "Stage started", event=vocab.EVENT_STAGE_STARTED, stage=name)
        if job is not None:
            job.current_stage = name
        cpu_start, wall_start = time.process_time(), time.perf_counter()
        failed: BaseException | None = None
        try:
            yield job
        except BaseException as exc:
            failed = exc
            raise
        finally:
            cpu, wall = _elapsed(cpu_start, wall_start)
            path = None
            if job is not None:
                job.stage_cpu_seconds[name] = job.stage_cpu_seconds.get(name, 0.0) + cpu
                path = job.processing_path  # read at the end: the stage may have decided it
            instruments().record(vocab.METRIC_JOB_CPU, cpu, processing_path=path, stage=name)
            if failed is None:
                emit(_log, logging.INFO, "Stage completed", event=vocab.EVENT_STAGE_COMPLETED, stage=name,
                     **_durations(cpu, wall), extra={"processing_path": path})
            else:
                span.set_status(Status(StatusCode.ERROR, _error_code(failed)))
                if job is None:
                    emit(_log, logging.ERROR, "Stage failed", event=vocab.EVENT_STAGE_FAILED, stage=name,
                         error_code=_error_code(failed), error_stage=name, **_durations(cpu, wall))
