"""The test OTLP receiver decodes what the real SDK exporters send, compressed or not."""

from __future__ import annotations

import httpx
from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import SimpleLogRecordProcessor
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

from tests.otlp_capture import OtlpCapture


def test_capture_decodes_gzip_logs_spans_and_metrics_from_the_sdk_exporters(
    otlp_capture: OtlpCapture,
) -> None:
    resource = Resource.create({"service.name": "capture-test"})
    gz = Compression.Gzip

    tracer_provider = TracerProvider(resource=resource)
    tracer_provider.add_span_processor(
        SimpleSpanProcessor(OTLPSpanExporter(endpoint=f"{otlp_capture.url}/v1/traces", compression=gz))
    )
    with tracer_provider.get_tracer("t").start_as_current_span("job", attributes={"stage": "ocr"}):
        pass
    tracer_provider.shutdown()

    logger_provider = LoggerProvider(resource=resource)
    logger_provider.add_log_record_processor(
        SimpleLogRecordProcessor(OTLPLogExporter(endpoint=f"{otlp_capture.url}/v1/logs"))
    )
    logger_provider.get_logger("l").emit(body="hello", severity_text="WARN", attributes={"extra.n": 3})
    logger_provider.shutdown()

    reader = PeriodicExportingMetricReader(
        OTLPMetricExporter(endpoint=f"{otlp_capture.url}/v1/metrics"), export_interval_millis=60_000
    )
    meter_provider = MeterProvider(resource=resource, metric_readers=[reader])
    meter_provider.get_meter("m").create_counter("jobs").add(2, {"status": "success"})
    meter_provider.get_meter("m").create_histogram("lat").record(0.3)
    meter_provider.shutdown()

    (span,) = otlp_capture.wait_for_spans(1)
    assert span["name"] == "job"
    assert span["attributes"] == {"stage": "ocr"}
    assert span["resource"]["service.name"] == "capture-test"
    assert otlp_capture.requests[0].headers["content-encoding"] == "gzip"

    (record,) = otlp_capture.wait_for_logs(1)
    assert record["body"] == "hello"
    assert (record["severity_text"], record["attributes"]) == ("WARN", {"extra.n": 3})

    (jobs,) = otlp_capture.wait_for_metric("jobs")
    assert (jobs["kind"], jobs["value"], jobs["attributes"]) == ("sum", 2, {"status": "success"})
    (lat,) = otlp_capture.wait_for_metric("lat")
    assert (lat["kind"], lat["count"], lat["sum"]) == ("histogram", 1, 0.3)


def test_capture_answers_undecodable_bodies_with_400_and_keeps_them_apart(otlp_capture: OtlpCapture) -> None:
    response = httpx.post(f"{otlp_capture.url}/v1/logs", content=b"\xff\xff not protobuf")
    assert response.status_code == 400
    assert otlp_capture.requests == []
    assert otlp_capture.rejected == [("/v1/logs", b"\xff\xff not protobuf")]


def test_capture_answers_the_configured_status_so_tests_can_make_the_endpoint_fail(
    otlp_capture: OtlpCapture,
) -> None:
    otlp_capture.status = 503
    response = httpx.post(f"{otlp_capture.url}/v1/traces", content=b"")
    assert response.status_code == 503
    assert len(otlp_capture.messages("/v1/traces")) == 1
