"""The sink's PII layer alone: canaries sent straight to the sink (OTLP protobuf and JSON, no SDK, no
collector) in every place a sender controls never reach a table, the sink's log or its metrics; the
false-positive corpus passes untouched; a CLIENT span keeps the server it called."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from typing import Any

import httpx
import psycopg
import pytest
from google.protobuf.json_format import MessageToDict

from rythmiq_otel import pii
from rythmiq_otel.store.sink import MemoryWriter, create_app
from rythmiq_otel.store.sink._pii_layer import PiiLayer
from tests.pii_canaries import Canary, assert_no_canary, canaries, find_canaries
from tests.pii_false_positives import false_positive_records
from tests.store.sink import otlp_builders as otlp
from tests.store.sink.sink_helpers import AUTH, serve, settings

CORPUS = canaries(per_category=25)  # 500 values over every kind
PROTOBUF = {"Content-Type": "application/x-protobuf", **AUTH}


def _scalar(value: object) -> Any:
    return value if isinstance(value, str) else json.dumps(value)


def _text(canary: Canary) -> str:
    return f"while handling: {canary.text}" if canary.text is not None else "plain"


def _ids(index: int) -> tuple[bytes, bytes]:
    return (index + 1).to_bytes(16, "big"), (index + 1).to_bytes(8, "big")


def _requests(corpus: list[Canary]) -> Iterator[tuple[str, Any]]:
    """Logs, traces and metrics requests (one resource and scope per canary) with each canary in every
    place a sender fills: resource, scope name, names, attributes, bodies (text, map, bytes), events,
    links, status."""
    logs, traces, metrics = otlp.logs_request([]), otlp.spans_request([]), otlp.metrics_request([])
    for target in (logs.resource_logs, traces.resource_spans, metrics.resource_metrics):
        del target[:]
    for index, canary in enumerate(corpus):
        resource = otlp.key_values({canary.key: _scalar(canary.value), "deployment.note": _text(canary)})
        trace_id, span_id = _ids(index)
        records = [
            otlp.log_record(_text(canary), attributes={
                canary.key: _scalar(canary.value), "note": _text(canary), "raw": canary.token.encode(),
            }),
            otlp.log_record({canary.key: canary.value, "inner": {"note": _text(canary)}}),
            otlp.log_record(canary.token.encode()),
        ]
        records[0].event_name = _text(canary)
        resource_logs = logs.resource_logs.add()
        resource_logs.resource.attributes.extend(resource)
        scope_logs = resource_logs.scope_logs.add()
        scope_logs.scope.name = _text(canary)
        scope_logs.log_records.extend(records)

        # INTERNAL and SERVER spans: a CLIENT span keeps its server's address (tested below).
        span = otlp.span(_text(canary), trace_id=trace_id, span_id=span_id, kind=1 + index % 2,
                         attributes={canary.key: _scalar(canary.value), "note": _text(canary)}, error=True)
        span.status.message = _text(canary)
        event = span.events.add(name=_text(canary), time_unix_nano=span.start_time_unix_nano)
        event.attributes.extend(otlp.key_values({canary.key: _scalar(canary.value)}))
        link = span.links.add(trace_id=trace_id, span_id=span_id)
        link.attributes.extend(otlp.key_values({canary.key: _scalar(canary.value)}))
        resource_spans = traces.resource_spans.add()
        resource_spans.resource.attributes.extend(resource)
        scope_spans = resource_spans.scope_spans.add()
        scope_spans.scope.name = _text(canary)
        scope_spans.spans.append(span)

        now = time.time_ns()
        point = (now - 10**9, now, 1.0, {canary.key: _scalar(canary.value)})
        metric = otlp.sum_metric(_text(canary), [point])
        resource_metrics = metrics.resource_metrics.add()
        resource_metrics.resource.attributes.extend(resource)
        scope_metrics = resource_metrics.scope_metrics.add()
        scope_metrics.scope.name = _text(canary)
        scope_metrics.metrics.append(metric)
    yield from (("/v1/logs", logs), ("/v1/traces", traces), ("/v1/metrics", metrics))


def _hex_ids(document: Any) -> Any:
    """OTLP/JSON spells trace and span ids in hex, where ``MessageToDict`` writes base64."""
    import base64

    if isinstance(document, dict):
        return {
            key: base64.b64decode(value).hex() if key in ("traceId", "spanId") else _hex_ids(value)
            for key, value in document.items()
        }
    if isinstance(document, list):
        return [_hex_ids(item) for item in document]
    return document


def _send(url: str, path: str, request: Any, *, as_json: bool) -> None:
    if as_json:
        response = httpx.post(f"{url}{path}", json=_hex_ids(MessageToDict(request)), headers=AUTH)
    else:
        response = httpx.post(f"{url}{path}", content=request.SerializeToString(), headers=PROTOBUF)
    assert response.status_code == 200, response.text


def _every_table(database_url: str) -> str:
    with psycopg.connect(database_url) as conn:
        tables = [row[0] for row in conn.execute(
            "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND NOT c.relispartition"
        )]
        return "\n".join(
            str(row) for table in tables for row in conn.execute(f'SELECT t::text FROM "{table}" t')
        )


@pytest.mark.slow
def test_no_canary_sent_straight_to_the_sink_reaches_a_table_or_its_log(
    pg_sink: str, database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)

    for as_json, corpus in ((False, CORPUS[::2]), (True, CORPUS[1::2])):  # every kind both ways
        for path, request in _requests(corpus):
            _send(pg_sink, path, request, as_json=as_json)

    stored = _every_table(database_url)
    assert stored.count("[REDACTED:") >= len(CORPUS)  # rows were written, with markers where values were
    assert_no_canary(stored, CORPUS)
    assert_no_canary(caplog.text, CORPUS)
    assert "redacted PII" in caplog.text
    assert_no_canary(httpx.get(f"{pg_sink}/metrics").text, CORPUS)


@pytest.fixture
def memory(memory_writer: MemoryWriter) -> Iterator[tuple[str, MemoryWriter]]:
    with serve(create_app(settings(), writer=memory_writer, scrubber=PiiLayer())) as url:
        yield url, memory_writer


def _rows(writer: MemoryWriter) -> str:
    rows = [*writer.logs.values(), *writer.spans.values(), *writer.metric_points.values()]
    return "\n".join(repr(row) for row in rows)


def test_the_false_positive_corpus_is_stored_untouched(memory: tuple[str, MemoryWriter]) -> None:
    url, writer = memory
    records = []
    for record in false_positive_records():
        attributes = {key: json.dumps(value) if isinstance(value, dict | list) else value
                      for key, value in record.items() if key != "message"}
        records.append(otlp.log_record(record["message"], attributes=attributes))
    _send(url, "/v1/logs", otlp.logs_request(records), as_json=False)
    assert len(writer.logs) == len(records)
    assert "[REDACTED" not in _rows(writer)
    assert {row.message for row in writer.logs.values()} == {r["message"] for r in false_positive_records()}


def test_a_client_span_keeps_the_server_it_called_and_a_server_span_hides_its_peer(
    memory: tuple[str, MemoryWriter]
) -> None:
    url, writer = memory
    attrs = {"server.address": "10.0.3.7", "network.peer.address": "10.0.3.7",
             "client.address": "203.0.113.9"}
    client = otlp.span("GET", trace_id=_ids(1)[0], span_id=_ids(1)[1], kind=3, attributes=attrs)
    server = otlp.span("GET /jobs", trace_id=_ids(2)[0], span_id=_ids(2)[1], kind=2, attributes=attrs)
    _send(url, "/v1/traces", otlp.spans_request([client, server]), as_json=False)
    stored = {row.kind: json.loads(row.attributes) for row in writer.spans.values()}
    ip = pii.marker("ip_address")
    assert stored["client"] == {**attrs, "client.address": ip}
    assert stored["server"] == {"server.address": ip, "network.peer.address": ip, "client.address": ip}


def test_bytes_anywhere_are_file_contents(memory: tuple[str, MemoryWriter]) -> None:
    url, writer = memory
    secret = b"%PDF-1.7 short"
    record = otlp.log_record({"page": secret, "n": 1}, attributes={"blob_ref": secret})
    _send(url, "/v1/logs", otlp.logs_request([record, otlp.log_record(secret)]), as_json=False)
    rows = _rows(writer)
    assert rows.count(pii.marker("file_content")) == 3
    encoded = "JVBERi0xLjcgc2hvcnQ"  # base64 of the bytes, as they were stored before
    assert not find_canaries(rows, [Canary("file_content", encoded, "k", encoded, None)])


def test_the_allowlist_mode_applies_to_extra_attributes(memory_writer: MemoryWriter) -> None:
    layer = PiiLayer.for_extra("allowlist", "invoice_count")
    record = otlp.log_record("done", attributes={"extra.ocr_confidence": 0.9, "extra.invoice_count": 2,
                                                 "extra.vendor": "ACME"})
    with serve(create_app(settings(), writer=memory_writer, scrubber=layer)) as url:
        _send(url, "/v1/logs", otlp.logs_request([record]), as_json=False)
    (row,) = memory_writer.logs.values()
    assert json.loads(row.extra) == {
        "ocr_confidence": 0.9, "invoice_count": 2, "vendor": pii.marker("undeclared_extra")
    }
