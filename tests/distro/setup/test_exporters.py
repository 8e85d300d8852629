"""Exporters are built from the parsed settings: protocol, compression, console to stderr, temporality."""

from __future__ import annotations

import sys

import pytest
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as GrpcSpanExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as HttpSpanExporter
from opentelemetry.sdk.metrics import Counter, Histogram
from opentelemetry.sdk.metrics.export import AggregationTemporality
from opentelemetry.sdk.trace.export import ConsoleSpanExporter

from rythmiq_otel.distro.setup._exporters import span_exporters, temporality_for
from rythmiq_otel.distro.setup._settings import load_settings


def test_default_is_one_http_protobuf_exporter_per_signal() -> None:
    (exporter,) = span_exporters(load_settings({}).traces)
    assert isinstance(exporter, HttpSpanExporter)


def test_grpc_protocol_builds_the_grpc_exporter() -> None:
    (exporter,) = span_exporters(load_settings({"OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"}).traces)
    assert isinstance(exporter, GrpcSpanExporter)


@pytest.mark.parametrize(
    ("environment", "endpoint"),
    [
        ({}, "http://localhost:4318/v1/traces"),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"}, "http://collector:4318/v1/traces"),
    ],
)
def test_grpc_without_its_extra_falls_back_to_http_on_the_http_default_port(
    monkeypatch: pytest.MonkeyPatch, environment: dict[str, str], endpoint: str
) -> None:
    monkeypatch.setitem(sys.modules, "opentelemetry.exporter.otlp.proto.grpc.trace_exporter", None)
    settings = load_settings({"OTEL_EXPORTER_OTLP_PROTOCOL": "grpc", **environment}).traces
    (exporter,) = span_exporters(settings)
    assert isinstance(exporter, HttpSpanExporter)
    assert exporter._endpoint == endpoint


def test_console_exporter_writes_to_stderr_because_stdout_is_for_json_lines() -> None:
    otlp, console = span_exporters(load_settings({"OTEL_TRACES_EXPORTER": "otlp,console"}).traces)
    assert isinstance(otlp, HttpSpanExporter)
    assert isinstance(console, ConsoleSpanExporter)
    assert console.out is sys.stderr


def test_none_builds_no_exporter() -> None:
    assert span_exporters(load_settings({"OTEL_TRACES_EXPORTER": "none"}).traces) == []


def test_temporality_preference_maps_to_counters_and_histograms() -> None:
    delta, cumulative = AggregationTemporality.DELTA, AggregationTemporality.CUMULATIVE
    assert temporality_for("delta") == {Counter: delta, Histogram: delta}
    assert temporality_for("lowmemory") == {Counter: delta, Histogram: delta}
    assert temporality_for("cumulative") == {Counter: cumulative, Histogram: cumulative}
