"""``OTEL_EXPORTER_OTLP_INSECURE`` for gRPC, seen on the wire: a real process exports one span to a socket
that records the first bytes it receives -- a TLS ClientHello (0x16) or HTTP/2's plaintext preface."""

from __future__ import annotations

import socket
import subprocess
import threading
from collections.abc import Callable, Iterator

import pytest

SPAN = "from opentelemetry import trace\ntrace.get_tracer('t').start_span('work').end()\n"
PREFACE = b"PRI * HTTP/2.0"


@pytest.fixture
def first_bytes() -> Iterator[tuple[int, list[bytes]]]:
    """A listening socket on an ephemeral port; the first bytes of each connection are appended."""
    received: list[bytes] = []
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(0.2)
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except TimeoutError:
                continue
            with conn:
                conn.settimeout(5)
                try:
                    received.append(conn.recv(len(PREFACE)))
                except OSError:
                    received.append(b"")

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield server.getsockname()[1], received
    stop.set()
    thread.join(2)
    server.close()


@pytest.mark.parametrize(("insecure", "plaintext"), [("true", True), (None, False)])
def test_insecure_decides_tls_for_an_endpoint_without_a_scheme(
    run_instrumented: Callable[..., subprocess.CompletedProcess[str]],
    first_bytes: tuple[int, list[bytes]],
    insecure: str | None,
    plaintext: bool,
) -> None:
    port, received = first_bytes
    env = {
        "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "grpc",
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": f"127.0.0.1:{port}",
        "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT": "1000", "RYTHMIQ_SHUTDOWN_TIMEOUT": "2000",
        "OTEL_METRICS_EXPORTER": "none", "OTEL_LOGS_EXPORTER": "none",
    }
    if insecure is not None:
        env["OTEL_EXPORTER_OTLP_TRACES_INSECURE"] = insecure
    result = run_instrumented(SPAN, **env)
    assert result.returncode == 0, result.stderr
    assert received, "the exporter never connected"
    assert received[0].startswith(PREFACE) is plaintext, received[0]
    if not plaintext:
        assert received[0][:1] == b"\x16"  # a TLS handshake record
