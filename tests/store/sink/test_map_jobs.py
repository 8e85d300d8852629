"""Log rows → job_runs updates, error_events and cpu_metrics: the derived tables of contracts §1."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterable
from datetime import UTC, datetime

import pytest
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest

from rythmiq_otel.store.sink._context import MapContext
from rythmiq_otel.store.sink._map_jobs import merge_job_updates
from rythmiq_otel.store.sink._pii_layer import PiiLayer
from rythmiq_otel.store.sink._pipeline import build_batch
from rythmiq_otel.store.sink._rows import Batch
from tests.store.sink import otlp_builders as otlp
from tests.store.sink.job_events import MS, T0, lifecycle, new_job


def _batches(requests: Iterable[ExportLogsServiceRequest]) -> list[Batch]:
    return [build_batch("logs", r, MapContext(scrubber=PiiLayer())) for r in requests]


def _at(ms: int) -> datetime:
    return datetime.fromtimestamp((T0 + ms * MS) / 1e9, UTC)


def test_a_successful_job_becomes_one_completed_job_run() -> None:
    job = new_job()
    updates = [u for b in _batches(lifecycle(job)) for u in b.job_updates]
    run = merge_job_updates(updates)[job.job_id]
    assert run.status == "completed"
    assert (run.created_at, run.started_at, run.completed_at) == (_at(0), _at(1000), _at(3500))
    assert (run.processing_path, run.execution_temperature) == ("standard", "warm")
    assert str(run.correlation_id) == job.correlation_id
    assert (run.error_code, run.updated_at) == (None, _at(3500))


@pytest.mark.parametrize("failed", [False, True])
def test_job_runs_is_the_same_whatever_order_the_events_arrive_in(failed: bool) -> None:
    job = new_job()
    updates = [u for b in _batches(lifecycle(job, failed=failed)) for u in b.job_updates]
    results = {merge_job_updates(order)[job.job_id] for order in itertools.permutations(updates)}
    assert len(results) == 1
    assert results.pop().status == ("failed" if failed else "completed")


def test_a_failed_job_gives_error_events_for_every_error_record_with_a_code() -> None:
    job = new_job()
    batches = _batches(lifecycle(job, failed=True))
    events = [e for b in batches for e in b.error_events]
    assert len(events) == 1
    [event] = events
    assert (str(event.job_id), event.error_code, event.error_stage) == (job.job_id, "OCR_FAILURE", "ocr")
    assert (event.processing_path, event.quality_score, event.created_at) == ("standard", 0.34, _at(3000))
    assert str(event.correlation_id) == job.correlation_id
    run = merge_job_updates([u for b in batches for u in b.job_updates])[job.job_id]
    assert (run.status, run.error_code, run.error_stage) == ("failed", "OCR_FAILURE", "ocr")


def test_error_records_without_a_job_or_code_give_no_error_event() -> None:
    request = otlp.logs_request([
        otlp.log_record("no job", level="ERROR", attributes={"error_code": "TIMEOUT"}),
        otlp.log_record("no code", level="ERROR", attributes={"job_id": new_job().job_id}),
        otlp.log_record("warn", level="WARN",
                        attributes={"job_id": new_job().job_id, "error_code": "TIMEOUT"}),
    ])
    assert _batches([request])[0].error_events == []


def test_the_metrics_summary_becomes_one_cpu_metrics_row_with_every_column() -> None:
    job = new_job()
    [cpu] = [c for b in _batches(lifecycle(job)) for c in b.cpu_metrics]
    assert str(cpu.job_id) == job.job_id and cpu.created_at == _at(2990)
    assert cpu.values["ocr_cpu_seconds"] == 0.1 and cpu.values["total_cpu_seconds"] == 0.7
    assert (cpu.values["page_count"], cpu.values["enhancement_skipped"]) == (2, True)
    assert (cpu.values["processing_path"], cpu.values["execution_temperature"]) == ("standard", "warm")
    assert cpu.values["input_file_size_bytes"] == 12345


def test_a_summary_missing_stage_numbers_stores_zero_like_the_spec_persistence_code() -> None:
    job = new_job()
    request = otlp.logs_request([otlp.log_record("s", attributes={
        "event.name": "job.metrics_summary", "job_id": job.job_id, "extra.ocr_cpu_seconds": "lots"})])
    ctx = MapContext(scrubber=PiiLayer())
    [cpu] = build_batch("logs", request, ctx).cpu_metrics
    assert cpu.values["ocr_cpu_seconds"] == 0.0 and cpu.values["fetch_cpu_seconds"] == 0.0
    assert cpu.values["page_count"] is None
    assert ctx.repairs["invalid_ocr_cpu_seconds"] == 1


def test_webhook_status_success_counts_as_completed() -> None:
    job = new_job()
    request = otlp.logs_request([otlp.log_record("w", attributes={
        "event.name": "webhook.processed", "job_id": job.job_id, "extra.status": "success"})])
    [update] = _batches([request])[0].job_updates
    assert update.status == "completed"
    assert json.loads(_batches([request])[0].logs[0].extra) == {"status": "success"}
