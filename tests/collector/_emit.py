"""A real OTLP client in its own process: the upstream SDK exporters, no rythmiq_otel code at all.

Run as ``python _emit.py SPEC.json ENDPOINT``. The spec is ``{"logs": [...], "spans": [...],
"metrics": [...]}``: logs as ``{"body", "attributes", "trace_id"?, "event_name"?}``, spans as ``{"name",
"attributes", "events": [{"name", "attributes"}], "scope"?}`` (the tracer's name), metrics as ``{"name",
"attributes"}`` (one counter add each).
``"flush_every"`` sends the logs in several requests. Each signal is recorded in memory first and then
exported with the OTLP exporter called directly (a batch or simple processor would swallow a failed
export), so a zero exit status means the collector accepted every request.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter, SimpleLogRecordProcessor
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags, set_span_in_context


def _log_context(trace_id: str | None) -> Any:
    if trace_id is None:
        return None
    span = SpanContext(int(trace_id, 16), 0x1234, is_remote=True, trace_flags=TraceFlags(1))
    return set_span_in_context(NonRecordingSpan(span))


def emit_logs(spec: dict[str, Any], endpoint: str, resource: Resource) -> None:
    finished = InMemoryLogRecordExporter()
    provider = LoggerProvider(resource=resource)
    provider.add_log_record_processor(SimpleLogRecordProcessor(finished))
    logger = provider.get_logger("collector-test")
    for record in spec["logs"]:
        logger.emit(
            body=record["body"],
            attributes=record.get("attributes"),
            context=_log_context(record.get("trace_id")),
            event_name=record.get("event_name"),
        )
    records = finished.get_finished_logs()
    every = spec.get("flush_every") or len(records)
    exporter = OTLPLogExporter(endpoint=f"{endpoint}/v1/logs")
    for first in range(0, len(records), every):
        if exporter.export(records[first : first + every]).name != "SUCCESS":
            raise SystemExit("log export failed")
    provider.shutdown()


def emit_spans(spec: dict[str, Any], endpoint: str, resource: Resource) -> None:
    finished = InMemorySpanExporter()
    provider = TracerProvider(resource=resource)
    provider.add_span_processor(SimpleSpanProcessor(finished))
    for item in spec["spans"]:
        tracer = provider.get_tracer(item.get("scope", "collector-test"))
        with tracer.start_as_current_span(item["name"], attributes=item.get("attributes")) as span:
            for event in item.get("events", []):
                span.add_event(event["name"], attributes=event.get("attributes"))
    exporter = OTLPSpanExporter(endpoint=f"{endpoint}/v1/traces")
    if exporter.export(finished.get_finished_spans()).name != "SUCCESS":
        raise SystemExit("span export failed")
    provider.shutdown()


def emit_metrics(spec: dict[str, Any], endpoint: str, resource: Resource) -> None:
    reader = InMemoryMetricReader()
    provider = MeterProvider(resource=resource, metric_readers=[reader])
    meter = provider.get_meter("collector-test")
    for item in spec["metrics"]:
        meter.create_counter(item["name"]).add(1, attributes=item.get("attributes"))
    data = reader.get_metrics_data()
    exporter = OTLPMetricExporter(endpoint=f"{endpoint}/v1/metrics")
    if data is not None and exporter.export(data).name != "SUCCESS":
        raise SystemExit("metric export failed")
    provider.shutdown()


def main() -> None:
    spec = json.loads(Path(sys.argv[1]).read_text())
    endpoint = sys.argv[2]
    resource = Resource.create({"service.name": "collector-test", **spec.get("resource", {})})
    if spec.get("logs"):
        emit_logs(spec, endpoint, resource)
    if spec.get("spans"):
        emit_spans(spec, endpoint, resource)
    if spec.get("metrics"):
        emit_metrics(spec, endpoint, resource)


if __name__ == "__main__":
    main()
