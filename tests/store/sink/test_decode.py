"""Request bodies → export requests: content types, gzip, size limits, OTLP JSON (hex ids, int64 strings),
and JSON bodies with some malformed items."""

from __future__ import annotations

import gzip
import json
import zlib

import pytest

from rythmiq_otel.store.sink._decode import (
    BadRequest,
    TooLarge,
    UnsupportedMediaType,
    body_format,
    decode,
    inflate,
    response_body,
)
from rythmiq_otel.store.sink._values import Repairs
from tests.store.sink import otlp_builders as otlp

TRACE_HEX = "7c9e6679742540de944be07fc1f90ae7"


def _json_logs(records: list[object]) -> bytes:
    return json.dumps({"resourceLogs": [{
        "resource": {"attributes": [{"key": "rythmiq.service", "value": {"stringValue": "api"}}]},
        "scopeLogs": [{"scope": {"name": "s"}, "logRecords": records}],
    }]}, ensure_ascii=False).encode()


def test_content_types_map_to_formats_and_others_are_415() -> None:
    assert body_format("application/x-protobuf") == "protobuf"
    assert body_format("application/json; charset=utf-8") == "json"
    with pytest.raises(UnsupportedMediaType, match="text/plain"):
        body_format("text/plain")


def test_gzip_is_inflated_and_a_gzip_bomb_is_413_not_memory() -> None:
    assert inflate(gzip.compress(b"abc"), "gzip", 10) == b"abc"
    bomb = gzip.compress(b"\0" * 1_000_000)
    with pytest.raises(TooLarge, match="over the limit of 1000 bytes"):
        inflate(bomb, "gzip", 1000)
    with pytest.raises(BadRequest, match="not valid gzip"):
        inflate(b"not gzip", "gzip", 1000)
    with pytest.raises(UnsupportedMediaType, match="br"):
        inflate(b"x", "br", 1000)


def test_malformed_protobuf_is_a_bad_request() -> None:
    with pytest.raises(BadRequest, match="not a protobuf ExportLogsServiceRequest"):
        decode("logs", b"\xff\xff\xff\xff", "protobuf", Repairs())


def test_otlp_json_with_hex_ids_and_string_int64_decodes_like_protobuf() -> None:
    body = _json_logs([{
        "timeUnixNano": "1780000000000000000", "severityNumber": 9, "severityText": "INFO",
        "body": {"stringValue": "hello"}, "traceId": TRACE_HEX, "spanId": "0102030405060708",
        "attributes": [{"key": "http_status", "value": {"intValue": "201"}}],
    }])
    request, failed = decode("logs", body, "json", Repairs())
    record = request.resource_logs[0].scope_logs[0].log_records[0]
    assert failed == 0
    assert (record.trace_id.hex(), record.span_id.hex()) == (TRACE_HEX, "0102030405060708")
    assert record.time_unix_nano == 1_780_000_000_000_000_000
    assert record.attributes[0].value.int_value == 201


def test_json_items_that_do_not_parse_are_counted_and_the_rest_decoded() -> None:
    body = _json_logs([
        {"timeUnixNano": "not a number", "body": {"stringValue": "bad"}},
        {"timeUnixNano": "1780000000000000000", "body": {"stringValue": "good"}},
        {"timeUnixNano": "1780000000000000001", "traceId": "zz-not-hex", "body": {"stringValue": "id"}},
    ])
    repairs = Repairs()
    request, failed = decode("logs", body, "json", repairs)
    records = request.resource_logs[0].scope_logs[0].log_records
    assert failed == 1
    assert [r.body.string_value for r in records] == ["good", "id"]
    assert repairs["invalid_hex_id"] == 1


def test_invalid_utf8_in_json_is_replaced_and_counted() -> None:
    body = _json_logs([{"timeUnixNano": "1780000000000000000", "body": {"stringValue": "caf\u00e9"}}])
    body = body.replace("é".encode(), b"\xff")
    repairs = Repairs()
    request, _ = decode("logs", body, "json", repairs)
    assert request.resource_logs[0].scope_logs[0].log_records[0].body.string_value == "caf\ufffd"
    assert repairs["invalid_utf8"] == 1


def test_json_that_is_not_an_object_is_a_bad_request() -> None:
    with pytest.raises(BadRequest, match="JSON object"):
        decode("traces", b"[1, 2]", "json", Repairs())
    with pytest.raises(BadRequest, match="not JSON"):
        decode("traces", b"{", "json", Repairs())


def test_protobuf_round_trip_of_a_request_built_by_hand() -> None:
    request = otlp.logs_request([otlp.log_record("x")])
    decoded, failed = decode("logs", request.SerializeToString(), "protobuf", Repairs())
    assert decoded == request and failed == 0


def test_partial_success_response_in_both_formats() -> None:
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse

    content, media = response_body("traces", "protobuf", 2, "2 spans had no ids")
    parsed = ExportTraceServiceResponse.FromString(content)
    assert media == "application/x-protobuf"
    assert (parsed.partial_success.rejected_spans, parsed.partial_success.error_message) == (
        2, "2 spans had no ids")
    content, media = response_body("metrics", "json", 3, "bad")
    assert json.loads(content) == {"partialSuccess": {"rejectedDataPoints": "3", "errorMessage": "bad"}}
    content, _ = response_body("logs", "json", 0, "")
    assert json.loads(content) == {}


@pytest.mark.parametrize("signal", ["logs", "traces", "metrics"])
def test_invalid_utf8_in_protobuf_strings_is_replaced_and_counted_not_a_400(signal: str) -> None:
    now = otlp.now_ns()
    request = {
        "logs": lambda: otlp.logs_request([otlp.log_record("caf\u00e9", attributes={"k": "\u00e9"}),
                                           otlp.log_record("fine")]),
        "traces": lambda: otlp.spans_request([otlp.span("caf\u00e9", trace_id=b"\x01" * 16,
                                                        span_id=b"\x01" * 8)]),
        "metrics": lambda: otlp.metrics_request([otlp.sum_metric("caf\u00e9", [(now, now, 1.0, {})])]),
    }[signal]()
    body = request.SerializeToString().replace("\u00e9".encode(), b"\xff\xfe")  # same length, bad UTF-8
    repairs = Repairs()
    decoded, failed = decode(signal, body, "protobuf", repairs)
    name = {
        "logs": lambda m: m.resource_logs[0].scope_logs[0].log_records[0].body.string_value,
        "traces": lambda m: m.resource_spans[0].scope_spans[0].spans[0].name,
        "metrics": lambda m: m.resource_metrics[0].scope_metrics[0].metrics[0].name,
    }[signal](decoded)
    assert failed == 0 and name == "caf\ufffd\ufffd"
    assert repairs["invalid_utf8"] == (2 if signal == "logs" else 1)


def test_every_gzip_member_is_inflated_and_trailing_garbage_is_a_bad_request() -> None:
    assert inflate(gzip.compress(b"abc") + gzip.compress(b"def"), "gzip", 10) == b"abcdef"
    with pytest.raises(TooLarge):
        inflate(gzip.compress(b"abc") + gzip.compress(b"x" * 20), "gzip", 10)
    with pytest.raises(BadRequest, match="5 bytes of trailing data after the gzip body"):
        inflate(gzip.compress(b"abc") + b"junk!", "gzip", 10)
    with pytest.raises(BadRequest, match="trailing data after the deflate body"):
        inflate(zlib.compress(b"abc") + zlib.compress(b"def"), "deflate", 10)
    with pytest.raises(BadRequest, match="truncated"):
        inflate(gzip.compress(b"abc") + gzip.compress(b"def")[:-4], "gzip", 10)
