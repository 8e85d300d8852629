"""webhook_context: the job's trace continues from the body; only metadata is logged, never the body."""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Iterator

import pytest
from opentelemetry import trace

from rythmiq_otel import vocab
from rythmiq_otel.distro.context._correlation import current_correlation_id
from rythmiq_otel.distro.services import _webhook
from rythmiq_otel.distro.services._webhook import webhook_context
from tests.distro.recording import collect, event_of, spans

__all__ = ["spans"]

JOB_ID = "550e8400-e29b-41d4-a716-446655440000"
TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
CANARY = "ocr text of jane.doe@example.com"
BODY = {
    "job_id": JOB_ID,
    "status": "success",
    "output": {"text": CANARY},
    "traceparent": f"00-{TRACE_ID}-00f067aa0ba902b7-01",
    "correlation_id": str(uuid.UUID(TRACE_ID)),
}


@pytest.fixture
def records() -> Iterator[list[logging.LogRecord]]:
    yield from collect(_webhook.__name__)


def test_the_body_trace_continues_and_received_then_processed_are_logged(spans, records):
    with webhook_context(BODY, size_bytes=321) as hook:
        inside = current_correlation_id()
        hook.processed("completed")
    assert inside == str(uuid.UUID(TRACE_ID))
    assert [event_of(r) for r in records] == [vocab.EVENT_WEBHOOK_RECEIVED, vocab.EVENT_WEBHOOK_PROCESSED]
    received, processed = records
    assert (received.levelno, received.job_id, received.extra) == (
        logging.INFO, JOB_ID, {"status": "success", "content_length": 321})
    assert processed.getMessage() == "Job transitioned to completed"
    assert processed.extra == {"status": "completed"}
    span = spans.get_finished_spans()[0]
    assert format(span.context.trace_id, "032x") == TRACE_ID


def test_a_rejected_call_is_a_warning_with_the_reason(spans, records):
    with webhook_context(BODY) as hook:
        hook.rejected("bad_signature")
    rejected = [r for r in records if event_of(r) == vocab.EVENT_WEBHOOK_REJECTED]
    assert len(rejected) == 1
    assert (rejected[0].levelno, rejected[0].extra) == (logging.WARNING, {"reason": "bad_signature"})


def test_the_body_is_never_logged(spans, records):
    with webhook_context({**BODY, "status": CANARY, "error_code": CANARY}) as hook:
        hook.processed("failed")
    logged = json.dumps([{**r.__dict__, "msg": r.getMessage()} for r in records], default=str)
    assert CANARY not in logged
    assert records[0].extra["status"] == vocab.OTHER
    assert records[0].error_code == vocab.OTHER


@pytest.mark.parametrize("body", [None, "not json", [1, 2], {"job_id": "../../etc/passwd"}])
def test_a_garbage_body_gets_a_fresh_trace_and_no_job_id(spans, records, body):
    with webhook_context(body) as hook:
        hook.rejected("malformed_body")
    assert hook.job_id is None
    assert all(getattr(r, "job_id", None) is None for r in records)
    span = spans.get_finished_spans()[0]
    assert uuid.UUID(int=span.context.trace_id).version == 4


def test_the_webhook_span_links_to_the_http_request_span(spans):
    tracer = trace.get_tracer("test")
    with tracer.start_as_current_span("POST /webhooks/camber") as request_span, webhook_context(BODY):
        pass
    webhook_span = next(s for s in spans.get_finished_spans() if s.name == "webhook camber")
    assert [link.context.span_id for link in webhook_span.links] == [request_span.get_span_context().span_id]
    assert webhook_span.context.trace_id != request_span.get_span_context().trace_id
