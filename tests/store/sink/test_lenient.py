"""Bodies the protobuf runtime refuses but a Go sender can produce: repaired, counted, the batch kept.

Such bodies cannot be built with the Python classes (they refuse them too), so the tests build them with
the lenient twin schema, which is exactly what makes them representable.
"""

from __future__ import annotations

import json

import pytest
from google.protobuf.message import DecodeError
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest

from rythmiq_otel.store.sink._context import MapContext
from rythmiq_otel.store.sink._decode import decode
from rythmiq_otel.store.sink._lenient import _lenient_class
from rythmiq_otel.store.sink._map_logs import log_rows
from rythmiq_otel.store.sink._pii_layer import PiiLayer
from rythmiq_otel.store.sink._values import Repairs
from tests.store.sink import otlp_builders as otlp

COMMON = "opentelemetry.proto.common.v1"


def _deep_body(levels: int) -> bytes:
    """A logs request whose first record carries an attribute nested ``levels`` arrays deep."""
    lenient_any = _lenient_class(ExportLogsServiceRequest, f"{COMMON}.AnyValue")
    lenient_array = _lenient_class(ExportLogsServiceRequest, f"{COMMON}.ArrayValue")
    value = lenient_any(string_value=b"leaf")
    for _ in range(levels):
        array = lenient_array()
        array.values.append(value)
        value = lenient_any(array_value=array.SerializeToString())
    valid = otlp.logs_request([otlp.log_record("deep"), otlp.log_record("plain")]).SerializeToString()
    request = _lenient_class(ExportLogsServiceRequest, ExportLogsServiceRequest.DESCRIPTOR.full_name)
    lenient = request.FromString(valid)
    lenient.resource_logs[0].scope_logs[0].log_records[0].attributes.add(key=b"deep", value=value)
    return lenient.SerializeToString()


def test_the_runtime_itself_refuses_values_nested_past_its_limit() -> None:
    with pytest.raises(DecodeError, match="MaxDepth"):
        ExportLogsServiceRequest.FromString(_deep_body(150))


def test_values_nested_past_the_runtime_limit_are_cut_and_the_batch_kept() -> None:
    repairs = Repairs()
    request, failed = decode("logs", _deep_body(150), "protobuf", repairs)
    rows = list(log_rows(request, MapContext(scrubber=PiiLayer())))
    assert failed == 0 and [r.message for r in rows] == ["deep", "plain"]
    assert repairs["nesting_too_deep"] == 1
    deep = json.loads(rows[0].attributes)["deep"]
    for _ in range(8):
        [deep] = deep
    assert deep == "[TRUNCATED:depth]"
