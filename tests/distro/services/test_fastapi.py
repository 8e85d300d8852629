"""instrument_app: the stock server span plus our layers, exactly once however often it is called."""

from __future__ import annotations

import uuid

from opentelemetry.trace import SpanKind

from rythmiq_otel import vocab
from tests.distro.fastapi_server import base_url, call, event_of, records, spans

__all__ = ["base_url", "call", "records", "spans"]


def test_instrumenting_twice_logs_each_request_once(call, records):
    call("/items/1")
    assert [event_of(r) for r in records] == [vocab.EVENT_REQUEST_STARTED, vocab.EVENT_REQUEST_COMPLETED]


def test_the_server_span_is_the_stock_instrumentation_and_there_is_one(spans, call):
    response = call("/items/7")
    server = [s for s in spans.get_finished_spans() if s.kind is SpanKind.SERVER]
    assert len(server) == 1
    assert server[0].instrumentation_scope.name == "opentelemetry.instrumentation.fastapi"
    assert server[0].attributes["http.route"] == "/items/{item_id}"
    assert response.headers[vocab.CORRELATION_HEADER] == str(uuid.UUID(int=server[0].context.trace_id))
