"""The ASGI layers: ingress rules, X-Correlation-ID on every response, request started/completed."""

from __future__ import annotations

import logging
import uuid

import pytest
from opentelemetry.trace import SpanKind

from rythmiq_otel import vocab
from tests.distro.fastapi_server import CALLER_ID, JOB_ID, base_url, call, completed, event_of, records, spans

__all__ = ["base_url", "call", "records", "spans"]


@pytest.mark.parametrize(("path", "status"), [
    ("/items/1", 200), ("/items/missing", 404), ("/nowhere", 404), ("/boom", 500), ("/stream", 200),
])
def test_every_response_carries_the_trace_id_as_x_correlation_id(spans, call, path, status):
    response = call(path)
    assert response.status_code == status
    header = response.headers[vocab.CORRELATION_HEADER]
    assert uuid.UUID(header).version == 4
    server = [s for s in spans.get_finished_spans() if s.kind is SpanKind.SERVER]
    assert [str(uuid.UUID(int=s.context.trace_id)) for s in server] == [header]


def test_a_valid_client_correlation_id_becomes_the_trace_id_unchanged(spans, call):
    response = call("/items/1", **{vocab.CORRELATION_HEADER: CALLER_ID.upper()})
    assert response.headers[vocab.CORRELATION_HEADER] == CALLER_ID
    server = next(s for s in spans.get_finished_spans() if s.kind is SpanKind.SERVER)
    assert server.parent is None
    assert str(uuid.UUID(int=server.context.trace_id)) == CALLER_ID


def test_a_valid_traceparent_wins_and_the_server_span_is_its_child(spans, call):
    trace_id = uuid.uuid4().hex
    response = call("/items/1", traceparent=f"00-{trace_id}-00f067aa0ba902b7-01",
                   **{vocab.CORRELATION_HEADER: CALLER_ID})
    assert response.headers[vocab.CORRELATION_HEADER] == str(uuid.UUID(trace_id))


@pytest.mark.parametrize("garbage", ["hello", CALLER_ID + "0", "7c9e6679-7425-40de-944b-\t07fc1f90ae7"])
def test_an_invalid_correlation_header_is_replaced_and_warned_without_its_value(call, records, garbage):
    response = call("/items/1", **{vocab.CORRELATION_HEADER: garbage})
    issued = response.headers[vocab.CORRELATION_HEADER]
    assert issued != garbage and uuid.UUID(issued).version == 4
    warnings = [r for r in records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert vocab.CORRELATION_HEADER in warnings[0].getMessage()
    assert garbage not in warnings[0].getMessage()


def test_request_events_use_the_route_template_never_the_raw_url(call, records):
    call(f"/items/{JOB_ID}?email=jane@example.com")
    started, done = (r for r in records if event_of(r) in (vocab.EVENT_REQUEST_STARTED,
                                                           vocab.EVENT_REQUEST_COMPLETED))
    assert (started.levelno, started.http_method) == (logging.INFO, "GET")
    assert started.http_path == "/items/{item_id}"
    assert (done.http_path, done.http_status) == ("/items/{item_id}", 200)
    assert done.latency_ms > 0


@pytest.mark.parametrize(("path", "level"), [
    ("/items/1", logging.INFO), ("/items/missing", logging.WARNING), ("/boom", logging.ERROR),
])
def test_request_completed_level_follows_the_status_class(call, records, path, level):
    call(path)
    assert completed(records).levelno == level


def test_an_unmatched_route_is_logged_without_a_path(call, records):
    call("/users/jane@example.com")
    assert completed(records).http_status == 404
    assert not hasattr(completed(records), "http_path")


def test_a_client_baggage_header_cannot_assert_job_or_user_ids(call, records):
    response = call("/items/1", baggage=f"job_id={JOB_ID},user_id_hash=forged,correlation_id={CALLER_ID},k=v")
    trace_id = response.headers[vocab.CORRELATION_HEADER]
    assert [r.baggage_at_emit for r in records] == [{"correlation_id": trace_id, "k": "v"}] * 2
