"""One job's lifecycle as the three services log it (docs/contracts.md §1 "Events the sink derives
tables from"), as OTLP log requests: shared by the mapping, writer and receiver tests."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.logs.v1.logs_pb2 import LogRecord

from rythmiq_otel import vocab
from tests.store.sink import otlp_builders as otlp

T0 = 1_780_000_000_000_000_000  # 2026-05-28T20:26:40Z
MS = 1_000_000


@dataclass(frozen=True)
class Job:
    job_id: str
    trace_id: bytes

    @property
    def correlation_id(self) -> str:
        return str(uuid.UUID(bytes=self.trace_id))


def new_job() -> Job:
    return Job(str(uuid.uuid4()), uuid.uuid4().bytes)


def lifecycle(job: Job, *, failed: bool = False) -> list[ExportLogsServiceRequest]:
    """created (api) → started, metrics summary, completed/failed (worker) → processed (webhook)."""
    def rec(event: str, at_ms: int, level: str = "INFO", **attrs: object) -> LogRecord:
        return otlp.log_record(event, level=level, time_ns=T0 + at_ms * MS, trace_id=job.trace_id,
                               attributes={"event.name": event, "job_id": job.job_id, **attrs})

    summary = {f"extra.{c}": 0.1 for c in vocab.STAGE_CPU_COLUMN.values()}
    summary.update({"extra.total_cpu_seconds": 0.7, "extra.total_wall_seconds": 3.6,
                    "extra.processing_path": "standard", "extra.execution_temperature": "warm",
                    "extra.page_count": 2, "extra.enhancement_skipped": True, "extra.quality_score": 0.72,
                    "extra.ocr_confidence": 0.87, "extra.input_file_size_bytes": 12345,
                    "extra.output_file_size_bytes": 2345})
    end = (
        rec(vocab.EVENT_JOB_FAILED, 3000, "ERROR", error_code="OCR_FAILURE", error_stage="OCR",
            **{"extra.processing_path": "standard", "extra.quality_score": 0.34})
        if failed else rec(vocab.EVENT_JOB_COMPLETED, 3000, latency_ms=3657, cpu_seconds=0.7,
                           **{"extra.processing_path": "standard"})
    )
    webhook = (
        {"extra.status": "failed", "error_code": "OCR_FAILURE"} if failed else {"extra.status": "completed"}
    )
    return [
        otlp.logs_request([rec(vocab.EVENT_JOB_CREATED, 0)], service="api"),
        otlp.logs_request([rec(vocab.EVENT_JOB_STARTED, 1000, **{"extra.execution_temperature": "warm",
                                                                 "extra.processing_path": "standard"})]),
        otlp.logs_request([rec(vocab.EVENT_METRICS_SUMMARY, 2990, **summary), end]),
        otlp.logs_request([rec(vocab.EVENT_WEBHOOK_PROCESSED, 3500, **webhook)], service="webhook"),
    ]
