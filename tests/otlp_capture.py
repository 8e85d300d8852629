"""A real OTLP/HTTP receiver for tests: what a service actually put on the wire, decoded.

Tests of the in-process half must see the bytes an exporter sends, not what an in-memory exporter was
handed, so this is a stdlib ``http.server`` on 127.0.0.1 with an ephemeral port, run in a thread. It decodes
``/v1/logs``, ``/v1/traces`` and ``/v1/metrics`` protobuf bodies (gzip or not) with the
``opentelemetry.proto`` classes, keeps every decoded request and its raw body, and flattens them into plain
dicts (log records, spans, metric points) that tests can assert on.

Use it as the ``otlp_capture`` pytest fixture (import the fixture into a conftest), or directly::

    with OtlpCapture() as capture:
        env = {"OTEL_EXPORTER_OTLP_ENDPOINT": capture.url, ...}
        subprocess.run([...], env=env)
        capture.wait_for_logs(3)

Child processes receive ``capture.url`` through ``OTEL_EXPORTER_OTLP_ENDPOINT``; the server lives in the
test process, so every child's requests land in the same object.
"""

from __future__ import annotations

import gzip
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from google.protobuf.message import DecodeError, Message
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import (
    ExportLogsServiceRequest,
    ExportLogsServiceResponse,
)
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
    ExportMetricsServiceResponse,
)
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue

__all__ = ["CapturedRequest", "OtlpCapture", "any_value", "attributes", "otlp_capture"]

_SIGNALS: dict[str, tuple[type[Message], type[Message]]] = {
    "/v1/logs": (ExportLogsServiceRequest, ExportLogsServiceResponse),
    "/v1/traces": (ExportTraceServiceRequest, ExportTraceServiceResponse),
    "/v1/metrics": (ExportMetricsServiceRequest, ExportMetricsServiceResponse),
}


@dataclass(frozen=True)
class CapturedRequest:
    """One POST as received: path, headers, raw (still compressed) body and the decoded message."""

    path: str
    headers: dict[str, str]
    raw_body: bytes
    message: Message


def any_value(value: AnyValue) -> Any:
    """Turn an OTLP ``AnyValue`` into the plain Python value it carries (lists and dicts recursively)."""
    kind = value.WhichOneof("value")
    if kind is None:
        return None
    if kind == "array_value":
        return [any_value(item) for item in value.array_value.values]
    if kind == "kvlist_value":
        return attributes(value.kvlist_value.values)
    return getattr(value, kind)


def attributes(pairs: Iterable[KeyValue]) -> dict[str, Any]:
    """Turn a repeated ``KeyValue`` field into a dict."""
    return {pair.key: any_value(pair.value) for pair in pairs}


class OtlpCapture:
    """An OTLP/HTTP server on 127.0.0.1 that records what it receives; ``url`` is the base endpoint.

    ``status`` (default 200) is the HTTP status every request is answered with, so tests can make the
    endpoint fail. Non-protobuf or undecodable bodies are answered 400 and recorded in ``rejected``.
    """

    def __init__(self) -> None:
        self.requests: list[CapturedRequest] = []
        self.rejected: list[tuple[str, bytes]] = []
        self.status = 200
        self._changed = threading.Condition()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """The base endpoint, as ``OTEL_EXPORTER_OTLP_ENDPOINT`` expects it (no signal path)."""
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> OtlpCapture:
        """Serve in a daemon thread; returns self."""
        self._thread = threading.Thread(target=self._server.serve_forever, name="otlp-capture", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and release the port."""
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> OtlpCapture:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ---------------------------------------------------------------------------------------------------
    # What was received, flattened
    # ---------------------------------------------------------------------------------------------------
    def messages(self, path: str) -> list[Message]:
        """Decoded requests received on one signal path (``/v1/logs``, ``/v1/traces``, ``/v1/metrics``)."""
        with self._changed:
            return [request.message for request in self.requests if request.path == path]

    def log_records(self) -> list[dict[str, Any]]:
        """Every log record received, in arrival order, as a plain dict.

        Keys: ``body``, ``severity_number``, ``severity_text``, ``time_unix_nano``,
        ``observed_time_unix_nano``, ``trace_id`` / ``span_id`` (hex, "" when absent), ``event_name``,
        ``attributes``, ``resource`` (resource attributes) and ``scope`` (scope name).
        """
        return [
            {
                "body": any_value(record.body),
                "severity_number": record.severity_number,
                "severity_text": record.severity_text,
                "time_unix_nano": record.time_unix_nano,
                "observed_time_unix_nano": record.observed_time_unix_nano,
                "trace_id": record.trace_id.hex(),
                "span_id": record.span_id.hex(),
                "event_name": record.event_name,
                "attributes": attributes(record.attributes),
                "resource": resource,
                "scope": scope,
            }
            for record, resource, scope in self._items(
                "/v1/logs", "resource_logs", "scope_logs", "log_records"
            )
        ]

    def spans(self) -> list[dict[str, Any]]:
        """Every span received, as a plain dict (ids in hex, ``events`` as ``[{name, attributes}]``)."""
        return [
            {
                "name": span.name,
                "trace_id": span.trace_id.hex(),
                "span_id": span.span_id.hex(),
                "parent_span_id": span.parent_span_id.hex(),
                "kind": span.kind,
                "start_time_unix_nano": span.start_time_unix_nano,
                "end_time_unix_nano": span.end_time_unix_nano,
                "status_code": span.status.code,
                "status_message": span.status.message,
                "attributes": attributes(span.attributes),
                "events": [
                    {"name": event.name, "attributes": attributes(event.attributes)} for event in span.events
                ],
                "resource": resource,
                "scope": scope,
            }
            for span, resource, scope in self._items("/v1/traces", "resource_spans", "scope_spans", "spans")
        ]

    def metric_points(self) -> list[dict[str, Any]]:
        """Every metric data point received, one dict per point.

        Keys: ``name``, ``kind`` (sum/gauge/histogram), ``temporality`` (1 delta, 2 cumulative),
        ``is_monotonic``, ``attributes``, ``resource``, and ``value`` (sum/gauge) or ``count``, ``sum``,
        ``bounds``, ``bucket_counts`` (histogram).
        """
        points = []
        for metric, resource, _ in self._items("/v1/metrics", "resource_metrics", "scope_metrics", "metrics"):
            points.extend(_points(metric, resource))
        return points

    def _items(
        self, path: str, resource_field: str, scope_field: str, item_field: str
    ) -> Iterator[tuple[Any, dict[str, Any], str]]:
        """Walk request -> resource -> scope -> item, the nesting all three OTLP signals share."""
        for message in self.messages(path):
            for resource_group in getattr(message, resource_field):
                resource = attributes(resource_group.resource.attributes)
                for scope_group in getattr(resource_group, scope_field):
                    for item in getattr(scope_group, item_field):
                        yield item, resource, scope_group.scope.name

    # ---------------------------------------------------------------------------------------------------
    # Waiting
    # ---------------------------------------------------------------------------------------------------
    def wait_until(self, predicate: Callable[[], bool], timeout: float = 10.0) -> bool:
        """Block until ``predicate()`` is true (re-checked on every request) or ``timeout`` seconds pass."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while not predicate():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._changed.wait(min(remaining, 0.2))
        return True

    def wait_for_logs(self, count: int, timeout: float = 10.0) -> list[dict[str, Any]]:
        """Wait for at least ``count`` log records and return all of them (fewer if the timeout passed)."""
        self.wait_until(lambda: len(self.log_records()) >= count, timeout)
        return self.log_records()

    def wait_for_spans(self, count: int, timeout: float = 10.0) -> list[dict[str, Any]]:
        """Wait for at least ``count`` spans and return all of them (fewer if the timeout passed)."""
        self.wait_until(lambda: len(self.spans()) >= count, timeout)
        return self.spans()

    def wait_for_metric(self, name: str, timeout: float = 10.0) -> list[dict[str, Any]]:
        """Wait until a point of metric ``name`` arrived and return all points of that metric."""
        self.wait_until(lambda: any(p["name"] == name for p in self.metric_points()), timeout)
        return [point for point in self.metric_points() if point["name"] == name]

    def clear(self) -> None:
        """Forget everything received so far."""
        with self._changed:
            self.requests.clear()
            self.rejected.clear()

    # ---------------------------------------------------------------------------------------------------
    def _record(self, path: str, headers: dict[str, str], raw: bytes) -> int:
        signal = _SIGNALS.get(path)
        if signal is None:
            return 404
        request_type, _ = signal
        body = gzip.decompress(raw) if headers.get("content-encoding") == "gzip" else raw
        message = request_type()
        try:
            message.ParseFromString(body)
        except DecodeError:
            with self._changed:
                self.rejected.append((path, raw))
            return 400
        with self._changed:
            self.requests.append(CapturedRequest(path, headers, raw, message))
            self._changed.notify_all()
        return self.status

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        capture = self

        class _Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                headers = {key.lower(): value for key, value in self.headers.items()}
                status = capture._record(self.path, headers, raw)
                signal = _SIGNALS.get(self.path)
                payload = signal[1]().SerializeToString() if signal and status == 200 else b""
                self.send_response(status)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def do_GET(self) -> None:
                # `rythmiq-otel doctor` probes the endpoint; any HTTP answer proves it is reachable.
                self.send_response(405)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                """Keep the test output clean; requests are inspected through the capture instead."""

        return _Handler


def _points(metric: Any, resource: dict[str, Any]) -> list[dict[str, Any]]:
    """Flatten one OTLP ``Metric`` into one dict per data point."""
    kind = metric.WhichOneof("data")
    data = getattr(metric, kind)
    base = {"name": metric.name, "kind": kind, "resource": resource, "unit": metric.unit}
    points = []
    for point in data.data_points:
        entry = {
            **base,
            "attributes": attributes(point.attributes),
            "start_time_unix_nano": point.start_time_unix_nano,
            "time_unix_nano": point.time_unix_nano,
            "temporality": getattr(data, "aggregation_temporality", 0),
            "is_monotonic": getattr(data, "is_monotonic", False),
        }
        if kind == "histogram":
            entry.update(
                count=point.count,
                sum=point.sum,
                bounds=list(point.explicit_bounds),
                bucket_counts=list(point.bucket_counts),
            )
        else:
            entry["value"] = point.as_double if point.WhichOneof("value") == "as_double" else point.as_int
        points.append(entry)
    return points


@pytest.fixture
def otlp_capture() -> Iterator[OtlpCapture]:
    """A running :class:`OtlpCapture` for one test; stopped afterwards."""
    with OtlpCapture() as capture:
        yield capture
