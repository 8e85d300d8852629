"""Building OTLP export requests in tests (and the benchmark) from plain Python values.

Plain protobuf construction -- no SDK -- so a test can put exactly the bytes it means on the wire,
including the malformed ones (wrong id lengths, zero timestamps, NUL bytes) the SDK would never produce.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from typing import Any

from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.logs.v1.logs_pb2 import LogRecord
from opentelemetry.proto.metrics.v1.metrics_pb2 import Metric
from opentelemetry.proto.trace.v1.trace_pb2 import Span

SEVERITY = {"DEBUG": 5, "INFO": 9, "WARN": 13, "ERROR": 17}


def now_ns() -> int:
    return time.time_ns()


def set_any(target: AnyValue, value: Any) -> None:
    if isinstance(value, bool):
        target.bool_value = value
    elif isinstance(value, int):
        target.int_value = value
    elif isinstance(value, float):
        target.double_value = value
    elif isinstance(value, str):
        target.string_value = value
    elif isinstance(value, bytes):
        target.bytes_value = value
    elif isinstance(value, Mapping):
        for key, item in value.items():
            set_any(target.kvlist_value.values.add(key=key).value, item)
    elif isinstance(value, list | tuple):
        for item in value:
            set_any(target.array_value.values.add(), item)
    else:
        raise TypeError(f"cannot encode {value!r}")


def key_values(attrs: Mapping[str, Any]) -> list[KeyValue]:
    out = []
    for key, value in attrs.items():
        kv = KeyValue(key=key)
        set_any(kv.value, value)
        out.append(kv)
    return out


def log_record(
    message: Any = "hello", *, level: str = "INFO", time_ns: int | None = None,
    observed_ns: int | None = None, attributes: Mapping[str, Any] | None = None,
    trace_id: bytes = b"", span_id: bytes = b"",
) -> LogRecord:
    stamp = now_ns() if time_ns is None else time_ns
    record = LogRecord(
        time_unix_nano=stamp,
        observed_time_unix_nano=stamp if observed_ns is None else observed_ns,
        severity_number=SEVERITY.get(level, 9), severity_text=level,
        attributes=key_values(attributes or {}), trace_id=trace_id, span_id=span_id,
    )
    set_any(record.body, message)
    return record


def logs_request(
    records: Iterable[LogRecord], *, service: str = "worker", resource: Mapping[str, Any] | None = None,
    scope: str = "tests",
) -> ExportLogsServiceRequest:
    request = ExportLogsServiceRequest()
    resource_logs = request.resource_logs.add()
    resource_logs.resource.attributes.extend(
        key_values({"service.name": f"rythmiq-{service}", "rythmiq.service": service, **(resource or {})})
    )
    scope_logs = resource_logs.scope_logs.add()
    scope_logs.scope.name = scope
    scope_logs.log_records.extend(records)
    return request


def span(
    name: str = "work", *, trace_id: bytes, span_id: bytes, parent: bytes = b"", start_ns: int | None = None,
    duration_ns: int = 1_000_000, attributes: Mapping[str, Any] | None = None, kind: int = 2,
    error: bool = False,
) -> Span:
    start = now_ns() if start_ns is None else start_ns
    result = Span(
        trace_id=trace_id, span_id=span_id, parent_span_id=parent, name=name, kind=kind,
        start_time_unix_nano=start, end_time_unix_nano=start + duration_ns,
        attributes=key_values(attributes or {}),
    )
    if error:
        result.status.code = 2
        result.status.message = "boom"
    return result


def spans_request(spans: Iterable[Span], *, service: str = "api") -> ExportTraceServiceRequest:
    request = ExportTraceServiceRequest()
    resource_spans = request.resource_spans.add()
    resource_spans.resource.attributes.extend(key_values({"rythmiq.service": service}))
    scope_spans = resource_spans.scope_spans.add()
    scope_spans.scope.name = "tests"
    scope_spans.spans.extend(spans)
    return request


def metrics_request(metrics: Iterable[Metric], *, service: str = "worker") -> ExportMetricsServiceRequest:
    request = ExportMetricsServiceRequest()
    resource_metrics = request.resource_metrics.add()
    resource_metrics.resource.attributes.extend(key_values({"rythmiq.service": service}))
    scope_metrics = resource_metrics.scope_metrics.add()
    scope_metrics.scope.name = "tests"
    scope_metrics.metrics.extend(metrics)
    return request


def sum_metric(name: str, points: Iterable[tuple[int, int, float, Mapping[str, Any]]], *,
               temporality: int = 2, monotonic: bool = True) -> Metric:
    """``points``: (start_ns, time_ns, value, attributes)."""
    metric = Metric(name=name)
    metric.sum.aggregation_temporality = temporality
    metric.sum.is_monotonic = monotonic
    for start, stamp, value, attrs in points:
        point = metric.sum.data_points.add(start_time_unix_nano=start, time_unix_nano=stamp, as_double=value)
        point.attributes.extend(key_values(attrs))
    return metric


def histogram_metric(
    name: str, *, start_ns: int, time_ns: int, bounds: list[float], counts: list[int], total: float,
    attributes: Mapping[str, Any] | None = None, temporality: int = 1,
) -> Metric:
    metric = Metric(name=name)
    metric.histogram.aggregation_temporality = temporality
    point = metric.histogram.data_points.add(
        start_time_unix_nano=start_ns, time_unix_nano=time_ns, count=sum(counts), sum=total,
        explicit_bounds=bounds, bucket_counts=counts, min=0.1, max=9.0,
    )
    point.attributes.extend(key_values(attributes or {}))
    return metric
