"""Admission and memory, against the sink as a process: requests count from their first byte, bytes in
flight are bounded, heads are bounded in size and time, ``/readyz`` is cached, one request cannot expand
into gigabytes -- and the sink's peak RSS stays under the bound docs/sink.md states for the defaults."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from urllib.parse import urlsplit

import httpx
import psycopg
import pytest
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceResponse
from opentelemetry.proto.metrics.v1.metrics_pb2 import Metric

from rythmiq_otel.store.sink._http_guard import HEADER_TIMEOUT_SECONDS, MAX_HEADER_BYTES
from tests.store.sink import otlp_builders as otlp
from tests.store.sink.sink_helpers import AUTH, TOKEN, sink_popen

pytestmark = pytest.mark.slow
PROTOBUF = {"Content-Type": "application/x-protobuf", **AUTH}
MIB = 1024 * 1024
#: docs/sink.md, "Memory": the sink's RSS at the defaults stays under this.
RSS_BOUND_MB = 600


def _kib(pid: int, key: str) -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith(key):
                return int(line.split()[1])
    raise AssertionError(f"{key} missing for pid {pid}")


@contextmanager
def _connection(url: str) -> Iterator[socket.socket]:
    parts = urlsplit(url)
    sock = socket.create_connection((parts.hostname, parts.port), timeout=30)
    try:
        yield sock
    finally:
        sock.close()


def _head(declared: int | None = None, *, chunked: bool = False) -> bytes:
    lines = ["POST /v1/logs HTTP/1.1", "Host: sink", f"Authorization: Bearer {TOKEN}",
             "Content-Type: application/x-protobuf"]
    if declared is not None:
        lines.append(f"Content-Length: {declared}")
    if chunked:
        lines.append("Transfer-Encoding: chunked")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def _status(sock: socket.socket, timeout: float = 10) -> int | None:
    """The status code of a response already sent, or None if none arrives within ``timeout``."""
    sock.settimeout(timeout)
    try:
        data = sock.recv(4096)
    except (TimeoutError, ConnectionResetError):
        return None
    return int(data.split(b" ", 2)[1]) if data.startswith(b"HTTP/1.1") else None


def _distinct_attribute_logs(records: int, start_ns: int) -> bytes:
    """The costliest shape per byte: every record with 60 attributes no other record repeats."""
    return otlp.logs_request([
        otlp.log_record("", time_ns=start_ns - i, attributes={f"k{j}": i * 100 + j for j in range(60)})
        for i in range(records)
    ]).SerializeToString()


@pytest.fixture
def sink(database_url: str) -> Iterator[tuple[str, int]]:
    with sink_popen(database_url) as (url, proc):
        httpx.get(f"{url}/readyz", timeout=10)
        yield url, proc.pid


def test_slow_uploads_are_refused_early_and_full_bodies_keep_rss_under_the_bound(
    sink: tuple[str, int], database_url: str,
) -> None:
    url, pid = sink
    idle = _kib(pid, "VmRSS") // 1024
    codes: list[int | None] = []
    with ExitStack() as stack:
        # 40 uploads of 15 MiB, each stopped after 1 MiB: the first four fill the 64 MiB budget; the rest
        # are 429 as soon as their head arrives, before their bodies are read.
        for _ in range(40):
            sock = stack.enter_context(_connection(url))
            sock.sendall(_head(15 * MIB) + b"\0" * MIB)
            codes.append(_status(sock, timeout=0.5))
        assert codes.count(429) == 36 and codes[:4] == [None] * 4, codes
        held = _kib(pid, "VmRSS") // 1024
        assert held - idle < 100, (idle, held)
        scrape = httpx.get(f"{url}/metrics", headers=AUTH, timeout=10).text
        assert f"rythmiq_sink_buffered_bytes {4 * 15 * MIB}.0" in scrape

    body = _distinct_attribute_logs(16_000, time.time_ns())
    stored: list[int] = []

    def post() -> None:
        while True:
            response = httpx.post(f"{url}/v1/logs", content=body, headers=PROTOBUF, timeout=300)
            if response.status_code == 200:
                stored.append(1)
                return
            assert response.status_code == 429, response.text
            time.sleep(0.2)

    threads = [threading.Thread(target=post) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(600)
    assert len(stored) == 8
    with psycopg.connect(database_url) as conn:
        assert conn.execute("SELECT count(*) FROM logs").fetchone() == (16_000,)  # the same records 8 times
    peak = _kib(pid, "VmHWM") // 1024
    print(f"sink RSS: idle {idle} MB, 4 slow uploads held {held} MB, peak {peak} MB")
    assert peak < RSS_BOUND_MB, f"peak RSS {peak} MB (idle {idle} MB)"


def test_streamed_bodies_are_counted_as_they_arrive_and_429_past_the_byte_budget(
    sink: tuple[str, int],
) -> None:
    url, _ = sink
    chunk = b"%x\r\n%s\r\n" % (MIB, b"\0" * MIB)
    refused = 0
    with ExitStack() as stack:
        for _ in range(8):  # 8 x 10 MiB without Content-Length: past 64 MiB the sink answers 429
            sock = stack.enter_context(_connection(url))
            sock.sendall(_head(chunked=True))
            try:
                for _ in range(10):
                    sock.sendall(chunk)
            except (BrokenPipeError, ConnectionResetError):
                pass
            refused += _status(sock, timeout=1) == 429
        assert refused >= 2


def test_a_huge_head_is_431_at_once_and_a_silent_connection_is_closed(sink: tuple[str, int]) -> None:
    url, pid = sink
    cpu_before = _cpu_ticks(pid)
    with _connection(url) as sock:
        sock.sendall(b"POST /v1/logs HTTP/1.1\r\nHost: sink\r\nAuthorization: Bearer ")
        try:
            for _ in range(64):  # up to 64 MiB of token, as the attack sent; refused at the first MiB
                sock.sendall(b"a" * MIB)
        except (BrokenPipeError, ConnectionResetError):
            pass
        assert _status(sock) == 431
    assert _cpu_ticks(pid) - cpu_before < 100  # well under a second of CPU
    silent = []
    with ExitStack() as stack:
        for _ in range(50):
            sock = stack.enter_context(_connection(url))
            sock.sendall(b"POST /v1/logs HTTP/1.1\r\nHost: sink\r\n")  # and never the rest
            silent.append(sock)
        time.sleep(HEADER_TIMEOUT_SECONDS + 1)
        for sock in silent:
            sock.settimeout(2)
            assert sock.recv(1) == b""  # closed by the sink
    assert MAX_HEADER_BYTES < MIB
    assert httpx.post(f"{url}/v1/logs", content=b"", headers=PROTOBUF, timeout=10).status_code == 200


def _cpu_ticks(pid: int) -> int:
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def test_a_readyz_flood_costs_postgres_at_most_a_connection_a_second(
    sink: tuple[str, int], database_url: str,
) -> None:
    url, _ = sink
    name = psycopg.conninfo.conninfo_to_dict(database_url)["dbname"]

    def sessions() -> int:
        with psycopg.connect(database_url) as conn:
            row = conn.execute("SELECT sessions FROM pg_stat_database WHERE datname = %s", (name,)).fetchone()
        assert row is not None
        return int(row[0])

    before = sessions()
    started = time.monotonic()
    with httpx.Client(timeout=10) as client:
        answers = {client.get(f"{url}/readyz").status_code for _ in range(300)}
    elapsed = time.monotonic() - started
    assert answers == {200}
    # one per second of flood at most, plus this test's own two connections
    assert sessions() - before <= elapsed + 3


def test_too_many_items_is_413_and_a_point_with_millions_of_buckets_is_rejected_alone(
    sink: tuple[str, int],
) -> None:
    url, pid = sink
    now = time.time_ns()
    many = otlp.logs_request([otlp.log_record("", time_ns=now - i) for i in range(16_385)])
    response = httpx.post(f"{url}/v1/logs", content=many.SerializeToString(), headers=PROTOBUF, timeout=60)
    assert response.status_code == 413
    message = response.content.decode(errors="replace")
    assert "request carries 16385 log records, over the limit of 16384" in message

    huge = Metric(name="exp")
    huge.exponential_histogram.aggregation_temporality = 1
    point = huge.exponential_histogram.data_points.add(start_time_unix_nano=now - 10**9, time_unix_nano=now,
                                                       scale=0, count=4_000_000)
    point.positive.bucket_counts.extend([1] * 4_000_000)
    good = otlp.sum_metric("good", [(now - 10**9, now, 1.0, {})])
    before = _kib(pid, "VmRSS") // 1024
    response = httpx.post(f"{url}/v1/metrics", content=otlp.metrics_request([huge, good]).SerializeToString(),
                          headers=PROTOBUF, timeout=60)
    assert response.status_code == 200
    partial = ExportMetricsServiceResponse.FromString(response.content).partial_success
    assert partial.rejected_data_points == 1 and "4000000 buckets (limit 1024)" in partial.error_message
    assert _kib(pid, "VmRSS") // 1024 - before < 200


def test_a_body_slower_than_the_read_timeout_is_408_and_frees_its_place(database_url: str) -> None:
    with sink_popen(database_url, env={"RYTHMIQ_SINK_READ_TIMEOUT_SECONDS": "1"}) as (url, _):
        with _connection(url) as sock:
            sock.sendall(_head(1000) + b"\0" * 10)  # and the other 990 bytes never
            assert _status(sock, timeout=10) == 408
        scrape = httpx.get(f"{url}/metrics", headers=AUTH, timeout=10).text
        assert "rythmiq_sink_buffered_bytes 0.0" in scrape and "rythmiq_sink_queue_depth 0.0" in scrape
