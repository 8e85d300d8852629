"""The direct log and span encoders are the default over http/protobuf, upstream's stay selectable, and
both put the same request on the wire through every OTLP setting (compression, headers)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest
from opentelemetry._logs import LogRecord, SeverityNumber
from opentelemetry.exporter.otlp.proto.grpc._log_exporter import OTLPLogExporter as GrpcLogExporter
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as GrpcSpanExporter
from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk._logs import ReadableLogRecord
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.util.instrumentation import InstrumentationScope

from rythmiq_otel.distro.setup._direct_exporters import DirectOTLPLogExporter, DirectOTLPSpanExporter
from rythmiq_otel.distro.setup._exporters import log_exporters, span_exporters
from rythmiq_otel.distro.setup._settings import load_settings
from tests.otlp_capture import CapturedRequest, OtlpCapture


def _exporter(environ: dict[str, str], signal: str = "logs") -> Any:
    settings = load_settings(environ)
    assert settings.problems == ()
    build = log_exporters if signal == "logs" else span_exporters
    (exporter,) = build(getattr(settings, signal), settings.otlp_encoder)
    return exporter


def _sent_by_both(environ: dict[str, str], signal: str, items: Sequence[Any]) -> list[CapturedRequest]:
    """What the direct and then the upstream exporter put on the wire for ``items``."""
    with OtlpCapture() as capture:
        for encoder in ("direct", "upstream"):
            exporter = _exporter(
                {**environ, "OTEL_EXPORTER_OTLP_ENDPOINT": capture.url, "RYTHMIQ_OTLP_ENCODER": encoder},
                signal,
            )
            assert exporter.export(items).name == "SUCCESS"
            exporter.shutdown()
        return list(capture.requests)


def test_direct_is_the_default_and_upstream_is_one_setting_away() -> None:
    assert type(_exporter({})) is DirectOTLPLogExporter
    assert type(_exporter({"RYTHMIQ_OTLP_ENCODER": "upstream"})) is OTLPLogExporter
    assert type(_exporter({"OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"})) is GrpcLogExporter
    assert type(_exporter({}, "traces")) is DirectOTLPSpanExporter
    assert type(_exporter({"RYTHMIQ_OTLP_ENCODER": "upstream"}, "traces")) is OTLPSpanExporter
    assert type(_exporter({"OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"}, "traces")) is GrpcSpanExporter


def test_a_bad_encoder_name_is_one_sentence_naming_the_setting() -> None:
    settings = load_settings({"RYTHMIQ_OTLP_ENCODER": "fastest"})
    assert settings.otlp_encoder == "direct"
    assert settings.problems == (
        "RYTHMIQ_OTLP_ENCODER='fastest' is not valid: expected one of direct, upstream; using 'direct'.",
    )


@pytest.mark.parametrize("compression", ["gzip", "none"])
def test_both_encoders_send_the_same_request_with_the_same_headers(compression: str) -> None:
    records = [
        ReadableLogRecord(
            LogRecord(
                timestamp=1_764_000_000_000_000_000 + i,
                observed_timestamp=1_764_000_000_500_000_000,
                trace_id=0x550E8400E29B41D4A716446655440000 + i,
                span_id=i + 1,
                severity_text="INFO",
                severity_number=SeverityNumber.INFO,
                body=f"line {i}",
                attributes={"stage": "ocr", "n": i, "ok": True, "extra.tags": ["a", "b"][: i % 3]},
            ),
            Resource({"service.name": "worker"}),
            InstrumentationScope("rythmiq_otel"),
        )
        for i in range(50)
    ]
    environ = {
        "OTEL_EXPORTER_OTLP_COMPRESSION": compression,
        "OTEL_EXPORTER_OTLP_LOGS_HEADERS": "authorization=Bearer%20t0ken",
    }
    direct, upstream = _sent_by_both(environ, "logs", records)
    assert direct.message == upstream.message
    assert len(direct.message.resource_logs[0].scope_logs[0].log_records) == 50
    for name in ("authorization", "content-encoding", "content-type"):
        assert direct.headers.get(name) == upstream.headers.get(name)
    assert direct.headers.get("authorization") == "Bearer t0ken"


def test_both_span_encoders_send_the_same_request() -> None:
    memory = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource({"service.name": "worker"}), shutdown_on_exit=False)
    provider.add_span_processor(SimpleSpanProcessor(memory))
    tracer = provider.get_tracer("rythmiq_otel")
    with tracer.start_as_current_span("job", attributes={"job.id": "j", "n": 3}):
        for stage in ("upload", "ocr"):
            with tracer.start_as_current_span(f"stage {stage}") as span:
                span.add_event("retry", {"attempt": 2})
    direct, upstream = _sent_by_both(
        {"OTEL_EXPORTER_OTLP_COMPRESSION": "gzip"}, "traces", memory.get_finished_spans()
    )
    assert direct.message == upstream.message
    assert len(direct.message.resource_spans[0].scope_spans[0].spans) == 3
