"""job_context / stage_context: trace continuation, the worker events, CPU accounting, failures."""

from __future__ import annotations

import hashlib
import itertools
import logging
import uuid
from collections.abc import Iterator

import pytest
from opentelemetry.trace import StatusCode

from rythmiq_otel import vocab
from rythmiq_otel.distro.services import _worker
from rythmiq_otel.distro.services._worker import job_context, stage_context
from tests.distro.recording import collect, event_of, spans

__all__ = ["spans"]

JOB_ID = "550e8400-e29b-41d4-a716-446655440000"
TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT_SPAN = "00f067aa0ba902b7"
PAYLOAD = {
    "job_id": JOB_ID, "traceparent": f"00-{TRACE_ID}-{PARENT_SPAN}-01", "storage_path": "u/x/secret.pdf",
}


class CodedError(Exception):
    def __init__(self, error_code: str) -> None:
        super().__init__(f"failed with {error_code}")
        self.error_code = error_code


@pytest.fixture
def records() -> Iterator[list[logging.LogRecord]]:
    yield from collect(_worker.__name__)


@pytest.fixture
def fresh_process(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the next job the first of this process (the cold-start rule is per process)."""
    monkeypatch.setattr(_worker, "_job_numbers", itertools.count(1))


def events(records: list[logging.LogRecord]) -> list[str]:
    return [event_of(record) for record in records]


def by_event(records: list[logging.LogRecord], event: str) -> list[logging.LogRecord]:
    return [record for record in records if event_of(record) == event]


def burn(rounds: int) -> None:
    digest = b"x"
    for _ in range(rounds):
        digest = hashlib.sha256(digest * 64).digest()


def run_all_stages() -> None:
    for stage in vocab.WORKER_STAGES:
        with stage_context(stage):
            burn(2000)


def test_job_continues_the_payload_trace_and_stages_are_its_children(spans, records, fresh_process):
    with job_context(PAYLOAD):
        run_all_stages()
    finished = {span.name: span for span in spans.get_finished_spans()}
    job = finished["job"]
    assert format(job.context.trace_id, "032x") == TRACE_ID
    assert format(job.parent.span_id, "016x") == PARENT_SPAN
    stage_parents = {finished[f"stage {stage}"].parent.span_id for stage in vocab.WORKER_STAGES}
    assert stage_parents == {job.context.span_id}
    assert job.attributes[vocab.BAGGAGE_JOB_ID] == JOB_ID


def test_the_first_job_of_a_process_is_cold_and_later_ones_warm(spans, records, fresh_process):
    for _ in range(2):
        with job_context(PAYLOAD):
            pass
    started = by_event(records, vocab.EVENT_JOB_STARTED)
    assert [record.extra["execution_temperature"] for record in started] == ["cold", "warm"]
    cold = by_event(records, vocab.EVENT_COLD_START)
    assert len(cold) == 1
    assert (cold[0].levelno, cold[0].getMessage()) == (logging.WARNING, "Cold start detected")


def test_a_successful_job_logs_the_worker_events_in_order_with_levels(spans, records, fresh_process):
    with job_context(PAYLOAD):
        run_all_stages()
    expected = [vocab.EVENT_COLD_START, vocab.EVENT_JOB_STARTED]
    for _ in vocab.WORKER_STAGES:
        expected += [vocab.EVENT_STAGE_STARTED, vocab.EVENT_STAGE_COMPLETED]
    expected += [vocab.EVENT_JOB_COMPLETED, vocab.EVENT_METRICS_SUMMARY]
    assert events(records) == expected
    levels = {getattr(r, vocab.EVENT_FIELD): r.levelno for r in records}
    assert levels[vocab.EVENT_STAGE_STARTED] == logging.DEBUG
    assert levels[vocab.EVENT_STAGE_COMPLETED] == logging.INFO
    assert levels[vocab.EVENT_JOB_COMPLETED] == logging.INFO
    assert [r.stage for r in by_event(records, vocab.EVENT_STAGE_COMPLETED)] == list(vocab.WORKER_STAGES)


def test_stage_cpu_seconds_are_measured_and_the_summary_fills_every_cpu_metrics_column(spans, records):
    with job_context(PAYLOAD) as job:
        job.processing_path = "fast"
        job.quality_score, job.ocr_confidence, job.page_count = 0.9, 0.8, 3
        job.input_file_size_bytes, job.output_file_size_bytes = 1000, 200
        with stage_context("ocr"):
            burn(40_000)
        with stage_context("quality"):
            pass
    ocr = next(r for r in by_event(records, vocab.EVENT_STAGE_COMPLETED) if r.stage == "ocr")
    assert ocr.cpu_seconds > 0.005
    assert ocr.latency_ms >= ocr.cpu_seconds * 1000 * 0.5
    summary = by_event(records, vocab.EVENT_METRICS_SUMMARY)[0].extra
    assert list(summary) == list(vocab.CPU_METRICS_COLUMNS)
    assert summary["ocr_cpu_seconds"] == pytest.approx(ocr.cpu_seconds, abs=1e-6)
    assert summary["fetch_cpu_seconds"] == 0.0
    assert summary["processing_path"] == "fast"
    assert summary["total_cpu_seconds"] >= summary["ocr_cpu_seconds"] + summary["quality_cpu_seconds"]


def test_a_failing_stage_logs_job_failed_once_reraises_and_still_emits_the_summary(spans, records):
    with pytest.raises(CodedError), job_context(PAYLOAD):
        with stage_context("ingestion"):
            pass
        with stage_context("OCR"):
            raise CodedError("OCR_FAILURE")
    failed = [r for r in records if r.levelno >= logging.ERROR]
    assert len(failed) == 1
    assert getattr(failed[0], vocab.EVENT_FIELD) == vocab.EVENT_JOB_FAILED
    assert (failed[0].error_code, failed[0].error_stage, failed[0].stage) == ("OCR_FAILURE", "ocr", "ocr")
    assert events(records)[-1] == vocab.EVENT_METRICS_SUMMARY
    # What the job never learned is left out (NULL in cpu_metrics); everything else is there.
    unknown = {
        "quality_score", "ocr_confidence", "page_count", "input_file_size_bytes", "output_file_size_bytes",
    }
    assert set(records[-1].extra) == set(vocab.CPU_METRICS_COLUMNS) - unknown
    finished = {span.name: span for span in spans.get_finished_spans()}
    assert finished["stage ocr"].status.status_code is StatusCode.ERROR
    assert finished["job"].status.status_code is StatusCode.ERROR
    ocr_events = [getattr(r, vocab.EVENT_FIELD) for r in records if getattr(r, "stage", None) == "ocr"]
    assert ocr_events == [vocab.EVENT_STAGE_STARTED, vocab.EVENT_JOB_FAILED]


@pytest.mark.parametrize("exc", [RuntimeError("boom"), CodedError("NOT_A_CODE")])
def test_unknown_failures_are_internal_error(spans, records, exc):
    with pytest.raises(type(exc)), job_context(PAYLOAD), stage_context("schema"):
        raise exc
    failed = by_event(records, vocab.EVENT_JOB_FAILED)[0]
    assert (failed.error_code, failed.error_stage) == ("INTERNAL_ERROR", "schema")


def test_enhancement_skipped_is_debug_and_ocr_rollback_is_warn(spans, records):
    with job_context(PAYLOAD) as job:
        with stage_context("enhancement"):
            job.skip_enhancement("quality above threshold")
        with stage_context("ocr"):
            job.ocr_confidence = 0.4
            job.rollback_ocr("confidence dropped")
    skipped = by_event(records, vocab.EVENT_ENHANCEMENT_SKIPPED)[0]
    rollback = by_event(records, vocab.EVENT_OCR_ROLLBACK)[0]
    assert (skipped.levelno, rollback.levelno) == (logging.DEBUG, logging.WARNING)
    assert by_event(records, vocab.EVENT_METRICS_SUMMARY)[0].extra["enhancement_skipped"] is True


def test_a_stage_outside_a_job_reports_its_own_failure(spans, records):
    with pytest.raises(CodedError), stage_context("packaging"):
        raise CodedError("STORAGE_ERROR")
    failed = by_event(records, vocab.EVENT_STAGE_FAILED)[0]
    assert failed.levelno == logging.ERROR
    assert (failed.error_code, failed.error_stage) == ("STORAGE_ERROR", "packaging")


def test_an_unknown_stage_name_is_a_clear_error():
    expected = "stage_context\\(\\) got 'thumbnail'; expected one of ingestion"
    with pytest.raises(ValueError, match=expected), stage_context("thumbnail"):
        pass


@pytest.mark.parametrize("payload", [None, "garbage", {"job_id": "not-a-uuid"}, {}])
def test_bad_payloads_still_run_the_job_in_a_fresh_uuid4_trace(spans, records, payload):
    with job_context(payload), stage_context("ingestion"):
        pass
    job = next(span for span in spans.get_finished_spans() if span.name == "job")
    assert uuid.UUID(int=job.context.trace_id).version == 4
    assert vocab.EVENT_JOB_COMPLETED in events(records)
    assert all(getattr(r, "job_id", None) is None for r in records)


def test_the_payload_is_never_logged(spans, records):
    with job_context(PAYLOAD):
        run_all_stages()
    logged = " ".join(f"{r.getMessage()} {r.__dict__}" for r in records)
    assert "secret.pdf" not in logged
