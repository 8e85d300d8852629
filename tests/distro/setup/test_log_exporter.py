"""The direct log encoder is the default over http/protobuf, upstream's stays selectable, and both put the
same request on the wire through every OTLP setting (compression, headers)."""

from __future__ import annotations

import pytest
from opentelemetry._logs import LogRecord, SeverityNumber
from opentelemetry.exporter.otlp.proto.grpc._log_exporter import OTLPLogExporter as GrpcLogExporter
from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
from opentelemetry.sdk._logs import ReadableLogRecord
from opentelemetry.sdk._logs.export import LogRecordExportResult
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.util.instrumentation import InstrumentationScope

from rythmiq_otel.distro.setup._exporters import log_exporters
from rythmiq_otel.distro.setup._log_exporter import DirectOTLPLogExporter
from rythmiq_otel.distro.setup._settings import load_settings
from tests.otlp_capture import OtlpCapture


def _exporter(environ: dict[str, str]) -> object:
    settings = load_settings(environ)
    assert settings.problems == ()
    (exporter,) = log_exporters(settings.logs, settings.otlp_log_encoder)
    return exporter


def test_direct_is_the_default_and_upstream_is_one_setting_away() -> None:
    assert type(_exporter({})) is DirectOTLPLogExporter
    assert type(_exporter({"RYTHMIQ_OTLP_LOG_ENCODER": "upstream"})) is OTLPLogExporter
    assert type(_exporter({"OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"})) is GrpcLogExporter


def test_a_bad_encoder_name_is_one_sentence_naming_the_setting() -> None:
    settings = load_settings({"RYTHMIQ_OTLP_LOG_ENCODER": "fastest"})
    assert settings.otlp_log_encoder == "direct"
    assert settings.problems == (
        "RYTHMIQ_OTLP_LOG_ENCODER='fastest' is not valid: expected one of direct, upstream; using 'direct'.",
    )


@pytest.mark.parametrize("compression", ["gzip", "none"])
def test_both_encoders_send_the_same_request_with_the_same_headers(compression: str) -> None:
    records = [
        ReadableLogRecord(
            LogRecord(timestamp=1_764_000_000_000_000_000 + i, observed_timestamp=1_764_000_000_500_000_000,
                      trace_id=0x550E8400E29B41D4A716446655440000 + i, span_id=i + 1,
                      severity_text="INFO", severity_number=SeverityNumber.INFO, body=f"line {i}",
                      attributes={"stage": "ocr", "n": i, "ok": True, "extra.tags": ["a", "b"][: i % 3]}),
            Resource({"service.name": "worker"}),
            InstrumentationScope("rythmiq_otel"),
        )
        for i in range(50)
    ]
    with OtlpCapture() as capture:
        environ = {"OTEL_EXPORTER_OTLP_ENDPOINT": capture.url, "OTEL_EXPORTER_OTLP_COMPRESSION": compression,
                   "OTEL_EXPORTER_OTLP_LOGS_HEADERS": "authorization=Bearer%20t0ken"}
        for encoder in ("direct", "upstream"):
            exporter = _exporter({**environ, "RYTHMIQ_OTLP_LOG_ENCODER": encoder})
            assert exporter.export(records) is LogRecordExportResult.SUCCESS
            exporter.shutdown()
        direct, upstream = capture.requests
    assert direct.message == upstream.message
    assert len(direct.message.resource_logs[0].scope_logs[0].log_records) == 50
    for name in ("authorization", "content-encoding", "content-type"):
        assert direct.headers.get(name) == upstream.headers.get(name)
    assert direct.headers.get("authorization") == "Bearer t0ken"
