"""The OTLP/HTTP protocol over real HTTP: auth, status codes, partial_success, backpressure, probes.

The writer here is the in-memory one (``MemoryWriter``) so each status code is provoked exactly; the
Postgres-backed path is covered in test_writer.py and the process tests.
"""

from __future__ import annotations

import gzip
import json
import threading
import time

import httpx
import pytest
from google.rpc import status_pb2
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceResponse

from rythmiq_otel.store.sink import MemoryWriter, SettingsError, create_app, load_settings
from rythmiq_otel.store.sink._pii_layer import PiiLayer
from rythmiq_otel.store.sink._rows import Batch
from tests.store.sink import otlp_builders as otlp
from tests.store.sink.sink_helpers import AUTH, serve, settings

PROTOBUF = {"Content-Type": "application/x-protobuf", **AUTH}


def _logs_body(n: int = 3) -> bytes:
    return otlp.logs_request([otlp.log_record(f"r{i}") for i in range(n)]).SerializeToString()


def test_requests_without_the_bearer_token_are_401_and_store_nothing(
    memory_sink: str, memory_writer: MemoryWriter
) -> None:
    for headers in ({"Content-Type": "application/x-protobuf"},
                    {"Content-Type": "application/x-protobuf", "Authorization": "Bearer wrong"}):
        response = httpx.post(f"{memory_sink}/v1/logs", content=_logs_body(), headers=headers)
        assert response.status_code == 401
    assert httpx.get(f"{memory_sink}/metrics").status_code == 401
    as_json = httpx.post(f"{memory_sink}/v1/logs", json={}, headers={"Authorization": "Bearer wrong"})
    assert as_json.status_code == 401 and as_json.json()["message"] == "missing or wrong bearer token"
    assert memory_writer.logs == {}


def test_a_protobuf_export_is_acknowledged_after_the_write(
    memory_sink: str, memory_writer: MemoryWriter
) -> None:
    response = httpx.post(f"{memory_sink}/v1/logs", content=_logs_body(3), headers=PROTOBUF)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/x-protobuf"
    assert not ExportLogsServiceResponse.FromString(response.content).HasField("partial_success")
    assert len(memory_writer.logs) == 3


def test_gzip_bodies_are_accepted(memory_sink: str, memory_writer: MemoryWriter) -> None:
    response = httpx.post(f"{memory_sink}/v1/logs", content=gzip.compress(_logs_body(2)),
                          headers={**PROTOBUF, "Content-Encoding": "gzip"})
    assert response.status_code == 200 and len(memory_writer.logs) == 2


def test_rejected_items_are_reported_in_partial_success_and_the_rest_stored(
    memory_sink: str, memory_writer: MemoryWriter
) -> None:
    body = otlp.logs_request([otlp.log_record("ok"), otlp.log_record("no time", time_ns=0, observed_ns=0)])
    response = httpx.post(f"{memory_sink}/v1/logs", content=body.SerializeToString(), headers=PROTOBUF)
    partial = ExportLogsServiceResponse.FromString(response.content).partial_success
    assert response.status_code == 200
    assert partial.rejected_log_records == 1 and "time_unix_nano=0" in partial.error_message
    assert [row.message for row in memory_writer.logs.values()] == ["ok"]


def test_json_requests_get_json_responses(memory_sink: str, memory_writer: MemoryWriter) -> None:
    body = {"resourceSpans": [{"scopeSpans": [{"spans": [
        {"traceId": "7c9e6679742540de944be07fc1f90ae7", "spanId": "0102030405060708", "name": "ok",
         "startTimeUnixNano": str(time.time_ns()), "endTimeUnixNano": str(time.time_ns())},
        {"traceId": "", "spanId": "", "name": "no ids", "startTimeUnixNano": str(time.time_ns())},
    ]}]}]}
    response = httpx.post(f"{memory_sink}/v1/traces", json=body, headers=AUTH)
    assert response.status_code == 200
    assert response.json()["partialSuccess"]["rejectedSpans"] == "1"
    assert [s.name for s in memory_writer.spans.values()] == ["ok"]


@pytest.mark.parametrize(("headers", "body", "status", "message"), [
    ({"Content-Type": "text/plain"}, b"x", 415, "Content-Type 'text/plain' is not supported"),
    ({"Content-Type": "application/x-protobuf"}, b"\xff\xff\xff", 400, "not a protobuf"),
    ({"Content-Type": "application/x-protobuf", "Content-Encoding": "gzip"}, gzip.compress(b"\0" * 5000),
     413, "over the limit of 4096 bytes"),
    ({"Content-Type": "application/x-protobuf"}, b"\0" * 5000, 413, "over the limit of 4096 bytes"),
])
def test_unusable_bodies_get_the_otlp_status_code_and_a_one_line_reason(
    headers: dict[str, str], body: bytes, status: int, message: str
) -> None:
    writer = MemoryWriter()
    with serve(create_app(settings(max_body_bytes=4096), writer=writer, scrubber=PiiLayer())) as url:
        response = httpx.post(f"{url}/v1/logs", content=body, headers={**headers, **AUTH})
    assert response.status_code == status
    assert message in status_pb2.Status.FromString(response.content).message
    assert writer.batches == 0


def test_postgres_unavailable_is_503_with_retry_after_and_the_retry_lands_once(
    memory_sink: str, memory_writer: MemoryWriter
) -> None:
    memory_writer.fail_next = 1
    body = _logs_body(4)
    first = httpx.post(f"{memory_sink}/v1/logs", content=body, headers=PROTOBUF)
    assert first.status_code == 503 and first.headers["retry-after"] == "1"
    assert memory_writer.logs == {}
    assert httpx.post(f"{memory_sink}/v1/logs", content=body, headers=PROTOBUF).status_code == 200
    assert httpx.post(f"{memory_sink}/v1/logs", content=body, headers=PROTOBUF).status_code == 200
    assert len(memory_writer.logs) == 4


class _BlockingWriter(MemoryWriter):
    def __init__(self) -> None:
        super().__init__()
        self.entered = threading.Event()
        self.release = threading.Event()

    def write(self, batch: Batch) -> None:
        self.entered.set()
        self.release.wait(10)
        super().write(batch)


def test_over_capacity_is_429_with_retry_after_and_nothing_in_flight_is_lost() -> None:
    writer = _BlockingWriter()
    app = create_app(settings(max_inflight=1, max_queue=0), writer=writer, scrubber=PiiLayer())
    with serve(app) as url:
        results: list[int] = []
        first = threading.Thread(target=lambda: results.append(
            httpx.post(f"{url}/v1/logs", content=_logs_body(2), headers=PROTOBUF, timeout=20).status_code))
        first.start()
        assert writer.entered.wait(10)
        busy = httpx.post(f"{url}/v1/logs", content=_logs_body(1), headers=PROTOBUF)
        metrics = httpx.get(f"{url}/metrics", headers=AUTH).text
        writer.release.set()
        first.join(20)
    assert busy.status_code == 429 and busy.headers["retry-after"] == "1"
    assert "rythmiq_sink_inflight_requests 1.0" in metrics
    assert results == [200] and len(writer.logs) == 2


def test_probes_and_metrics() -> None:
    writer = MemoryWriter()
    state = {"reason": "Postgres is unreachable (OperationalError)"}
    app = create_app(settings(), writer=writer, scrubber=PiiLayer(), readiness=lambda: state["reason"],
                     gauges=lambda: {"rythmiq_jobs_in_progress": 3.0})
    with serve(app) as url:
        assert httpx.get(f"{url}/healthz").status_code == 200
        not_ready = httpx.get(f"{url}/readyz")
        state["reason"] = None
        ready = httpx.get(f"{url}/readyz")
        body = otlp.logs_request([otlp.log_record("mail jane@example.com"),
                                  otlp.log_record("x", time_ns=0, observed_ns=0)])
        httpx.post(f"{url}/v1/logs", content=body.SerializeToString(), headers=PROTOBUF)
        metrics = httpx.get(f"{url}/metrics", headers=AUTH).text
    assert not_ready.status_code == 503 and "unreachable" in not_ready.text
    assert ready.status_code == 200
    assert 'rythmiq_sink_records_accepted_total{signal="logs"} 1' in metrics
    assert 'rythmiq_sink_records_rejected_total{signal="logs"} 1' in metrics
    assert 'rythmiq_sink_pii_redactions_total{rule="email"} 1' in metrics
    assert 'rythmiq_sink_repairs_total{reason="log_without_valid_time"} 1' in metrics
    assert 'rythmiq_sink_responses_total{signal="logs",code="200"} 1' in metrics
    assert "rythmiq_jobs_in_progress 3.0" in metrics
    assert "rythmiq_sink_write_seconds_count{} 1" in metrics


def test_insecure_no_auth_accepts_requests_without_a_token() -> None:
    writer = MemoryWriter()
    app = create_app(settings(token=None, insecure_no_auth=True), writer=writer, scrubber=PiiLayer())
    with serve(app) as url:
        response = httpx.post(f"{url}/v1/logs", content=_logs_body(1),
                              headers={"Content-Type": "application/x-protobuf"})
    assert response.status_code == 200 and len(writer.logs) == 1


def test_settings_refuse_to_start_without_a_token_and_name_the_variable() -> None:
    with pytest.raises(SettingsError, match="RYTHMIQ_SINK_TOKEN is not set"):
        load_settings(database_url="x", environ={})
    with pytest.raises(SettingsError, match="RYTHMIQ_SINK_PORT='http' is not a valid int"):
        load_settings(database_url="x", environ={"RYTHMIQ_SINK_TOKEN": "t", "RYTHMIQ_SINK_PORT": "http"})
    parsed = load_settings(database_url="x", port=9000,
                           environ={"RYTHMIQ_SINK_TOKEN": "t", "RYTHMIQ_SINK_PORT": "1234"})
    assert (parsed.port, parsed.host, parsed.token) == (9000, "127.0.0.1", "t")


def test_settings_out_of_bounds_name_the_variable_and_the_value() -> None:
    environ = {"RYTHMIQ_SINK_TOKEN": "t", "RYTHMIQ_SINK_MAX_QUEUE": "-1"}
    with pytest.raises(SettingsError, match=r"^RYTHMIQ_SINK_MAX_QUEUE=-1 must be at least 0$"):
        load_settings(database_url="x", environ=environ)
    with pytest.raises(SettingsError, match=r"^RYTHMIQ_SINK_MAX_INFLIGHT=0 must be at least 1$"):
        load_settings(database_url="x", environ={"RYTHMIQ_SINK_TOKEN": "t"}, max_inflight=0)
    assert load_settings(database_url="x", environ={"RYTHMIQ_SINK_TOKEN": "t"}).port == 4320


def test_json_error_bodies_for_json_requests(memory_sink: str) -> None:
    response = httpx.post(f"{memory_sink}/v1/logs", content=b"{", headers={
        "Content-Type": "application/json", **AUTH})
    assert response.status_code == 400
    assert json.loads(response.content)["message"].startswith("body is not JSON")


def test_invalid_utf8_and_nul_bytes_over_http_land_in_postgres(pg_sink: str, database_url: str) -> None:
    import psycopg

    request = otlp.logs_request([otlp.log_record("caf\u00e9 \x00", attributes={"note": "\u00e9"}),
                                 otlp.log_record("plain")])
    body = request.SerializeToString().replace("\u00e9".encode(), b"\xff\xfe")
    response = httpx.post(f"{pg_sink}/v1/logs", content=body, headers=PROTOBUF)
    assert response.status_code == 200
    with psycopg.connect(database_url) as conn:
        rows = conn.execute("SELECT message, attributes->>'note' FROM logs ORDER BY message").fetchall()
    assert rows == [("caf\ufffd\ufffd \ufffd", "\ufffd\ufffd"), ("plain", None)]


class _PoisonWriter(MemoryWriter):
    def write(self, batch: Batch) -> None:
        if any(row.message == "poison" for row in batch.logs):
            raise RuntimeError("refused by the store")
        super().write(batch)


def test_an_unexpected_failure_is_a_500_for_that_request_and_the_sink_keeps_serving() -> None:
    writer = _PoisonWriter()
    with serve(create_app(settings(), writer=writer, scrubber=PiiLayer())) as url:
        poison = otlp.logs_request([otlp.log_record("poison")]).SerializeToString()
        failed = httpx.post(f"{url}/v1/logs", content=poison, headers=PROTOBUF)
        after = httpx.post(f"{url}/v1/logs", content=_logs_body(2), headers=PROTOBUF)
    assert failed.status_code == 500
    assert status_pb2.Status.FromString(failed.content).message.startswith("internal error")
    assert after.status_code == 200 and len(writer.logs) == 2


def test_admission_settings_parse_and_a_buffer_smaller_than_one_body_is_refused() -> None:
    environ = {"RYTHMIQ_SINK_TOKEN": "t", "RYTHMIQ_SINK_MAX_BUFFERED_BYTES": "1000",
               "RYTHMIQ_SINK_MAX_BODY_BYTES": "2000"}
    with pytest.raises(SettingsError, match=r"RYTHMIQ_SINK_MAX_BUFFERED_BYTES=1000 must be at least "
                                            r"RYTHMIQ_SINK_MAX_BODY_BYTES \(2000\)"):
        load_settings(database_url="x", environ=environ)
    parsed = load_settings(database_url="x", environ={**environ, "RYTHMIQ_SINK_MAX_BUFFERED_BYTES": "4000",
                                                      "RYTHMIQ_SINK_MAX_ITEMS": "10",
                                                      "RYTHMIQ_SINK_READ_TIMEOUT_SECONDS": "2.5"})
    assert (parsed.max_buffered_bytes, parsed.max_items, parsed.read_timeout_seconds) == (4000, 10, 2.5)
    with pytest.raises(SettingsError, match="RYTHMIQ_SINK_MAX_ITEMS=0 must be at least 1"):
        load_settings(database_url="x", environ={"RYTHMIQ_SINK_TOKEN": "t", "RYTHMIQ_SINK_MAX_ITEMS": "0"})
