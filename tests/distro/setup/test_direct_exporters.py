"""The direct log and span encoders are the default over http/protobuf, upstream's stay selectable, and
both put the same request on the wire through every OTLP setting (compression, headers)."""

from __future__ import annotations

import os
import ssl
import subprocess
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from opentelemetry._logs import LogRecord, SeverityNumber
from opentelemetry.exporter.http.transport._requests import RequestsHTTPTransport
from opentelemetry.exporter.http.transport._urllib3 import Urllib3HTTPTransport
from opentelemetry.exporter.otlp.proto.grpc._log_exporter import OTLPLogExporter as GrpcLogExporter
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as GrpcSpanExporter
from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk._logs import ReadableLogRecord
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.util.instrumentation import InstrumentationScope

from rythmiq_otel.distro.setup._direct_exporters import (
    DirectOTLPLogExporter,
    DirectOTLPSpanExporter,
    Urllib3OTLPMetricExporter,
    _ForkSafeUrllib3Transport,
)
from rythmiq_otel.distro.setup._exporters import log_exporters, metric_exporters, span_exporters
from rythmiq_otel.distro.setup._settings import load_settings
from tests.otlp_capture import CapturedRequest, OtlpCapture


def _exporter(environ: dict[str, str], signal: str = "logs") -> Any:
    settings = load_settings(environ)
    assert settings.problems == ()
    if signal == "metrics":
        (exporter,) = metric_exporters(settings.metrics, settings.temporality, settings.otlp_encoder)
        return exporter
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
    assert type(_exporter({}, "metrics")) is Urllib3OTLPMetricExporter
    assert type(_exporter({"RYTHMIQ_OTLP_ENCODER": "upstream"}, "metrics")) is OTLPMetricExporter


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


# ----------------------------------------------------------------------------------------------------------
# The HTTP transport: upstream's urllib3 one, with every TLS setting, unless the environment needs requests
# ----------------------------------------------------------------------------------------------------------
def _log_records(count: int) -> list[ReadableLogRecord]:
    return [
        ReadableLogRecord(
            LogRecord(timestamp=1_764_000_000_000_000_000 + i, body=f"line {i}", attributes={"stage": "ocr"}),
            Resource({"service.name": "worker"}),
            InstrumentationScope("rythmiq_otel"),
        )
        for i in range(count)
    ]


def test_direct_exporters_post_through_upstreams_urllib3_transport() -> None:
    """Fails loudly if upstream drops the ``_transport`` argument or stops using what it is given."""
    for signal in ("logs", "traces", "metrics"):
        exporter = _exporter({}, signal)
        assert type(exporter._client._transport) is _ForkSafeUrllib3Transport
        assert isinstance(exporter._client._transport, Urllib3HTTPTransport)
        exporter.shutdown()


@pytest.mark.parametrize(
    "environ",
    [
        {"HTTP_PROXY": "http://proxy.invalid:3128"},
        {"ALL_PROXY": "http://proxy.invalid:3128"},
    ],
)
def test_a_proxy_for_the_endpoint_keeps_the_requests_transport(
    monkeypatch: pytest.MonkeyPatch, environ: dict[str, str]
) -> None:
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    exporter = _exporter({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector.example:4318"})
    assert type(exporter._client._transport) is RequestsHTTPTransport
    monkeypatch.setenv("NO_PROXY", "collector.example")
    exporter = _exporter({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector.example:4318"})
    assert type(exporter._client._transport) is _ForkSafeUrllib3Transport


@pytest.mark.parametrize("encoder", ["direct", "upstream"])
@pytest.mark.parametrize("signal", ["logs", "traces", "metrics"])
def test_a_credential_provider_setting_reaches_upstream(
    monkeypatch: pytest.MonkeyPatch, encoder: str, signal: str
) -> None:
    """Upstream loads the provider's session only when no session is passed: a provider that is not
    installed fails the way upstream's stock exporter fails, so the setting was not ignored."""
    variable = f"OTEL_PYTHON_EXPORTER_OTLP_HTTP_{signal.upper()}_CREDENTIAL_PROVIDER"
    monkeypatch.setenv(variable, "not-installed")
    with pytest.raises(RuntimeError, match="'not-installed' not found"):
        _exporter({"RYTHMIQ_OTLP_ENCODER": encoder}, signal)


# The OTLP TLS settings (after ``OTEL_EXPORTER_OTLP_``) and the test files they name.
_TLS_FILES = {"CERTIFICATE": "ca.pem", "CLIENT_CERTIFICATE": "client.pem", "CLIENT_KEY": "client.key"}


def _openssl(*args: str) -> None:
    subprocess.run(["openssl", *args], check=True, capture_output=True)


@pytest.fixture(scope="module")
def certificates(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A CA, a server certificate for 127.0.0.1 and a client certificate, both signed by the CA."""
    path = tmp_path_factory.mktemp("tls")
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=test ca",
             "-keyout", str(path / "ca.key"), "-out", str(path / "ca.pem"))
    (path / "san.ext").write_text("subjectAltName=IP:127.0.0.1\n")
    for name in ("server", "client"):
        _openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", f"/CN={name}",
                 "-keyout", str(path / f"{name}.key"), "-out", str(path / f"{name}.csr"))
        _openssl("x509", "-req", "-in", str(path / f"{name}.csr"), "-CA", str(path / "ca.pem"),
                 "-CAkey", str(path / "ca.key"), "-CAcreateserial", "-days", "2",
                 "-extfile", str(path / "san.ext"), "-out", str(path / f"{name}.pem"))
    return path


@pytest.fixture
def tls_capture(certificates: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[OtlpCapture, str]]:
    """The capture server behind TLS that requires a client certificate signed by the test CA.

    Without ``REQUESTS_CA_BUNDLE``/``CURL_CA_BUNDLE``: ``requests`` lets them override the OTLP
    certificate setting (``test_the_otlp_certificate_setting_wins_over_requests_ca_bundle``).
    """
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH, cafile=str(certificates / "ca.pem"))
    context.load_cert_chain(str(certificates / "server.pem"), str(certificates / "server.key"))
    context.verify_mode = ssl.CERT_REQUIRED
    capture = OtlpCapture()
    capture._server.socket = context.wrap_socket(capture._server.socket, server_side=True)
    with capture:
        yield capture, capture.url.replace("http://", "https://")


@pytest.mark.parametrize("prefix", ["OTEL_EXPORTER_OTLP_", "OTEL_EXPORTER_OTLP_LOGS_"])
def test_both_transports_trust_the_configured_ca_and_present_the_client_certificate(
    monkeypatch: pytest.MonkeyPatch, certificates: Path, tls_capture: tuple[OtlpCapture, str], prefix: str
) -> None:
    capture, url = tls_capture
    monkeypatch.setenv(f"{prefix}CERTIFICATE", str(certificates / "ca.pem"))
    monkeypatch.setenv(f"{prefix}CLIENT_CERTIFICATE", str(certificates / "client.pem"))
    monkeypatch.setenv(f"{prefix}CLIENT_KEY", str(certificates / "client.key"))
    records = _log_records(3)
    for encoder in ("direct", "upstream"):
        exporter = _exporter({"OTEL_EXPORTER_OTLP_ENDPOINT": url, "RYTHMIQ_OTLP_ENCODER": encoder})
        assert exporter.export(records).name == "SUCCESS"
        exporter.shutdown()
    direct, upstream = capture.requests
    assert direct.message == upstream.message


def test_the_otlp_certificate_setting_wins_over_requests_ca_bundle(
    monkeypatch: pytest.MonkeyPatch, certificates: Path, tls_capture: tuple[OtlpCapture, str]
) -> None:
    """``requests`` takes ``REQUESTS_CA_BUNDLE`` over the session's CA file, so upstream's stock exporter
    silently ignores ``OTEL_EXPORTER_OTLP_CERTIFICATE`` where that is set; ours trusts the OTLP setting
    (and uses the bundle only when no OTLP certificate is set, as ``requests`` does then)."""
    capture, url = tls_capture
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(certificates / "server.pem"))  # not the CA: trusts nothing
    for name, file in _TLS_FILES.items():
        monkeypatch.setenv(f"OTEL_EXPORTER_OTLP_{name}", str(certificates / file))
    exporter = _exporter({"OTEL_EXPORTER_OTLP_ENDPOINT": url})
    assert exporter.export(_log_records(1)).name == "SUCCESS"
    exporter.shutdown()
    assert len(capture.requests) == 1


@pytest.mark.parametrize("missing", ["CERTIFICATE", "CLIENT_CERTIFICATE"])
def test_both_transports_fail_without_the_ca_or_the_client_certificate(
    monkeypatch: pytest.MonkeyPatch, certificates: Path, tls_capture: tuple[OtlpCapture, str], missing: str
) -> None:
    capture, url = tls_capture
    for name, file in _TLS_FILES.items():
        if name != missing:
            monkeypatch.setenv(f"OTEL_EXPORTER_OTLP_{name}", str(certificates / file))
    for encoder in ("direct", "upstream"):
        environ = {"OTEL_EXPORTER_OTLP_TIMEOUT": "2", "RYTHMIQ_OTLP_ENCODER": encoder}
        exporter = _exporter({"OTEL_EXPORTER_OTLP_ENDPOINT": url, **environ})
        assert exporter.export(_log_records(1)).name == "FAILURE"
        exporter.shutdown()
    assert capture.requests == []


def test_both_transports_report_a_refused_batch_alike() -> None:
    with OtlpCapture() as capture:
        capture.status = 400
        for encoder in ("direct", "upstream"):
            environ = {"OTEL_EXPORTER_OTLP_ENDPOINT": capture.url, "RYTHMIQ_OTLP_ENCODER": encoder}
            assert _exporter(environ).export(_log_records(2)).name == "FAILURE"
        assert len(capture.rejected) + len(capture.requests) == 2


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_forked_child_exports_over_a_pool_of_its_own() -> None:
    with OtlpCapture() as capture:
        exporter = _exporter({"OTEL_EXPORTER_OTLP_ENDPOINT": capture.url})
        assert exporter.export(_log_records(1)).name == "SUCCESS"
        parent_pool = exporter._client._transport._pool
        pid = os.fork()
        if pid == 0:  # the child: a new pool, and it works
            renewed = exporter._client._transport._pool is not parent_pool
            os._exit(0 if renewed and exporter.export(_log_records(2)).name == "SUCCESS" else 1)
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0
        assert exporter.export(_log_records(3)).name == "SUCCESS"
        sizes = [len(r.message.resource_logs[0].scope_logs[0].log_records) for r in capture.requests]
        assert sorted(sizes) == [1, 2, 3]
        exporter.shutdown()


@pytest.mark.parametrize("signal", ["logs", "traces", "metrics"])
def test_each_signal_takes_its_own_tls_files_over_the_general_ones(
    monkeypatch: pytest.MonkeyPatch, certificates: Path, signal: str
) -> None:
    for name, file in _TLS_FILES.items():
        monkeypatch.setenv(f"OTEL_EXPORTER_OTLP_{name}", "/nowhere/general.pem")
        monkeypatch.setenv(f"OTEL_EXPORTER_OTLP_{signal.upper()}_{name}", str(certificates / file))
    transport = _exporter({}, signal)._client._transport
    assert transport._settings == (
        str(certificates / "ca.pem"),
        (str(certificates / "client.pem"), str(certificates / "client.key")),
    )


@pytest.mark.parametrize("variable", ["REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"])
def test_without_an_otlp_certificate_both_transports_trust_the_requests_ca_bundle(
    monkeypatch: pytest.MonkeyPatch, certificates: Path, tls_capture: tuple[OtlpCapture, str], variable: str
) -> None:
    capture, url = tls_capture
    monkeypatch.setenv(variable, str(certificates / "ca.pem"))
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE", str(certificates / "client.pem"))
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_CLIENT_KEY", str(certificates / "client.key"))
    for encoder in ("direct", "upstream"):
        exporter = _exporter({"OTEL_EXPORTER_OTLP_ENDPOINT": url, "RYTHMIQ_OTLP_ENCODER": encoder})
        assert exporter.export(_log_records(1)).name == "SUCCESS"
        exporter.shutdown()
    assert len(capture.requests) == 2


def test_a_netrc_entry_or_a_ca_directory_keeps_the_requests_transport(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """``requests`` would send the netrc login (over the OTLP ``authorization`` header) and read a CA
    directory; urllib3 would do neither, so those environments keep ``requests``."""
    netrc = tmp_path / "netrc"
    netrc.write_text("machine collector.example login otlp password secret\n")
    monkeypatch.setenv("NETRC", str(netrc))
    endpoint = {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector.example:4318"}
    assert type(_exporter(endpoint)._client._transport) is RequestsHTTPTransport
    assert type(_exporter({})._client._transport) is _ForkSafeUrllib3Transport  # localhost: no entry
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_CERTIFICATE", str(tmp_path))
    assert type(_exporter({})._client._transport) is RequestsHTTPTransport
