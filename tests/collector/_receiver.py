"""A stand-in for the sink on a fixed port that can go down and come back: what the collector delivered.

``tests/otlp_capture.py`` binds a fresh ephemeral port per instance; the collector's exporter needs one
endpoint that refuses connections during an outage and then answers on the same port, so this receiver
keeps its port (and everything it received) across ``stop()`` / ``start()``. It acknowledges with 200 only
after recording, as the real sink acknowledges only after commit.
"""

from __future__ import annotations

import gzip
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest

from tests.otlp_capture import any_value, attributes


class RestartableReceiver:
    """OTLP/HTTP on ``127.0.0.1:port``: every body received (decompressed) and every log record decoded.

    ``status`` is the answer to every request (200 unless a test makes the sink reject data); bodies are
    recorded whatever the answer, decoded records only when the answer is 200.
    """

    def __init__(self, port: int) -> None:
        self.port = port
        self.status = 200
        self.bodies: list[tuple[str, bytes]] = []  # (path, decompressed body)
        self.logs: list[dict[str, Any]] = []
        self._changed = threading.Condition()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """The base endpoint for an OTLP/HTTP exporter."""
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> RestartableReceiver:
        """Listen (again) on the same port."""
        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), self._handler_class())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop listening: connections are refused until the next ``start()``."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)

    def wait_until(self, predicate: Callable[[], bool], timeout: float) -> bool:
        """Block until ``predicate()`` holds (re-checked on every request) or ``timeout`` seconds pass."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while not predicate():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._changed.wait(min(remaining, 0.5))
        return True

    def _record(self, path: str, body: bytes) -> None:
        records = []
        if path == "/v1/logs" and self.status == 200:
            request = ExportLogsServiceRequest()
            request.ParseFromString(body)
            for resource_logs in request.resource_logs:
                for scope_logs in resource_logs.scope_logs:
                    records += [
                        {
                            "body": any_value(record.body),
                            "attributes": attributes(record.attributes),
                            "trace_id": record.trace_id.hex(),
                            "resource": attributes(resource_logs.resource.attributes),
                        }
                        for record in scope_logs.log_records
                    ]
        with self._changed:
            self.bodies.append((path, body))
            self.logs += records
            self._changed.notify_all()

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class _Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                gzipped = self.headers.get("Content-Encoding") == "gzip"
                receiver._record(self.path, gzip.decompress(raw) if gzipped else raw)
                self.send_response(receiver.status)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                """Quiet: tests inspect what was received instead."""

        return _Handler
