"""What the PII guard must leave alone: the spec's §1.5 example entries, our own events, and the
operational values a log line is made of (ids, hashes, durations, counts, versions, timestamps, hostnames,
route templates, listen addresses). Every layer's tests run it and expect zero redactions."""

from __future__ import annotations

import hashlib
import uuid
from typing import Any

__all__ = ["OPERATIONAL_VALUES", "OUR_EVENTS", "SPEC_EXAMPLES", "false_positive_records"]

# Spec §1.5, verbatim (including its non-hex user_id_hash and non-UUID correlation_id).
SPEC_EXAMPLES: tuple[dict[str, Any], ...] = (
    {
        "timestamp": "2026-01-30T14:23:45.123Z", "level": "INFO", "service": "worker", "stage": "ocr",
        "job_id": "550e8400-e29b-41d4-a716-446655440000",
        "correlation_id": "7c9e6679-7425-40de-944b-e07fc1f90ae7", "user_id_hash": "a3f2b8c1d4e5f6g7",
        "latency_ms": 1847, "cpu_seconds": 2.341, "message": "OCR stage completed",
        "extra": {"ocr_confidence": 0.87, "processing_path": "standard", "execution_temperature": "warm"},
    },
    {
        "timestamp": "2026-01-30T14:25:12.456Z", "level": "ERROR", "service": "worker", "stage": "ocr",
        "job_id": "550e8400-e29b-41d4-a716-446655440001",
        "correlation_id": "8d0f7780-8536-51ef-a55c-f18gd2g01bf8", "user_id_hash": "b4g3c9d2e5f6g8h9",
        "error_code": "OCR_FAILURE", "error_stage": "OCR", "message": "OCR extraction failed",
        "extra": {"processing_path": "standard", "quality_score": 0.34},
    },
    {
        "timestamp": "2026-01-30T14:23:44.001Z", "level": "INFO", "service": "api",
        "job_id": "550e8400-e29b-41d4-a716-446655440000",
        "correlation_id": "7c9e6679-7425-40de-944b-e07fc1f90ae7", "user_id_hash": "a3f2b8c1d4e5f6g7",
        "http_method": "POST", "http_path": "/jobs", "http_status": 201, "latency_ms": 145,
        "message": "Request completed",
    },
)

# The distro's own events: message and extra as they are emitted.
OUR_EVENTS: tuple[dict[str, Any], ...] = (
    {"message": "Authentication succeeded", "event": "auth.succeeded"},
    {"message": "Authentication failed", "event": "auth.failed", "extra": {"reason": "invalid_token"}},
    {"message": "Job created in pending state", "event": "job.created", "extra": {"status": "pending"}},
    {"message": "Job status queried", "event": "job.status_queried", "extra": {"status": "processing"}},
    {"message": "Output delivered", "event": "output.delivered", "extra": {"output_size_bytes": 48213}},
    {"message": "Enhancement skipped", "event": "enhancement.skipped",
     "extra": {"reason": "quality_above_threshold", "quality_score": 0.91}},
    {"message": "OCR rollback triggered", "event": "ocr.rollback",
     "extra": {"reason": "low_confidence", "ocr_confidence": 0.41}},
    {"message": "Cold start detected", "event": "cold_start", "extra": {"execution_temperature": "cold"}},
    {"message": "Job completed successfully", "event": "job.completed", "latency_ms": 3657,
     "cpu_seconds": 3.456,
     "extra": {"processing_path": "standard", "quality_score": 0.72, "ocr_confidence": 0.87,
               "execution_temperature": "warm"}},
    {"message": "Job metrics summary", "event": "job.metrics_summary",
     "extra": {"total_cpu_seconds": 3.456, "total_wall_seconds": 3.9, "page_count": 3,
               "input_file_size_bytes": 1048576, "enhancement_skipped": False}},
    {"message": "Camber webhook received", "event": "webhook.received",
     "extra": {"status": "completed", "content_length": 2048}},
    {"message": "PII redacted before export", "event": "pii.redacted",
     "extra": {"layer": "sdk", "rules": ["email"], "paths": ["extra.customer.email"], "repeats": 0}},
    {"message": "Stage completed", "event": "stage.completed", "stage": "enhancement", "latency_ms": 412.5},
)


def _operational() -> list[str]:
    values = [str(uuid.UUID(int=n * 0x9E3779B97F4A7C15 % (1 << 128), version=4)) for n in range(1, 41)]
    values += [hashlib.sha256(str(n).encode()).hexdigest() for n in range(20)]
    values += [hashlib.md5(str(n).encode(), usedforsecurity=False).hexdigest() for n in range(10)]
    values += [hashlib.sha1(str(n).encode(), usedforsecurity=False).hexdigest()[:12] for n in range(10)]
    values += [f"00-{values[n][:8]}{values[n][9:13]}{values[n][14:18]}{values[n][19:23]}{values[n][24:]}-"
               f"{values[40 + n][:16]}-01" for n in range(5)]  # traceparents
    values += [f"{n * 0.137:.3f}s" for n in range(1, 15)] + [f"{n * 37} ms" for n in range(1, 15)]
    values += ["PT1M30S", "1h2m3.5s", "took 1847 ms", "in 0.004512 s", "timeout after 30s"]
    values += [str(n) for n in (0, 1, 7, 42, 201, 404, 1847, 48213, 1048576, 987654321, 2**31 - 1)]
    values += ["1.2.3", "v2.14.0", "3.11.4", "0.161.0", "v1.2.3.4", "1.0.0-rc.1", "2026.1.30", "py3.11"]
    values += ["2026-01-30T14:23:45.123Z", "2026-01-30T14:23:45.123456+00:00", "2026-01-30 14:23:45",
               "1738247025", "1738247025123", "1738247025123456789", "Fri, 30 Jan 2026 14:23:45 GMT",
               "2026-01-30"]
    values += ["api.internal", "worker-7f9c.rythmiq.svc.cluster.local", "localhost", "localhost:4318",
               "db.rythmiq.internal:5432", "otel-collector:4317", "ip-10-0-0-1.ec2.internal"]
    values += ["/jobs/{job_id}", "/v1/jobs/{job_id}/status", "/webhooks/camber", "/healthz", "GET /jobs/{id}",
               "POST /jobs 201 in 145 ms", "/static/app.js"]
    values += ["Uvicorn running on http://0.0.0.0:8000 (Press CTRL+C to quit)", "listening on [::]:4320",
               "exporting to http://127.0.0.1:4318/v1/logs", "connected to localhost:5432",
               "Started server process [4711]", "Waiting for application startup.", "Stage 3 of 5 done",
               "retry 2/5 in 1.5 s", "queue depth 1024 of 5000", "batch of 512 spans exported",
               "worker pid=4711 exited with code 0", "memory 512MiB/2GiB (25.0%)", "shard 03 of 16",
               "ocr_confidence=0.87 quality_score=0.34", "processing_path=standard stage=ocr",
               "HTTP/1.1 200 OK", "Content-Type: application/json", "sha256:" + "ab" * 32]
    return values


OPERATIONAL_VALUES: tuple[str, ...] = tuple(_operational())


def false_positive_records() -> list[dict[str, Any]]:
    """Every example as a log record's fields: the spec's entries, our events, and each operational value
    as a message, in ``extra`` (judged strictly) and as a span-like attribute."""
    records = [dict(record) for record in (*SPEC_EXAMPLES, *OUR_EVENTS)]
    for index, value in enumerate(OPERATIONAL_VALUES):
        records.append({"message": value, "extra": {"detail": value, "ref": {"value": value, "n": index}}})
    return records
