"""Protocol edges found by attacking the sink, each against the real process: the bearer scheme's case,
no redirect built from ``Host``, multi-member gzip and trailing garbage, histograms validated over HTTP,
``trace`` escaping what clients stored, and ``up`` keeping an environment token to itself."""

from __future__ import annotations

import gzip
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator

import httpx
import psycopg
import pytest
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceResponse

from tests.store.sink import otlp_builders as otlp
from tests.store.sink.sink_helpers import ROOT, TOKEN, sink_process

pytestmark = pytest.mark.slow
PROTOBUF = {"Content-Type": "application/x-protobuf"}


@pytest.fixture
def sink(database_url: str) -> Iterator[str]:
    with sink_process(database_url) as url:
        yield url


def _count(database_url: str) -> int:
    with psycopg.connect(database_url) as conn:
        row = conn.execute("SELECT count(*) FROM logs").fetchone()
    assert row is not None
    return int(row[0])


def test_auth_scheme_case_trailing_slash_and_gzip_members_over_http(sink: str, database_url: str) -> None:
    body = otlp.logs_request([otlp.log_record("one")]).SerializeToString()
    for scheme in ("bearer", "BEARER", "Bearer"):
        response = httpx.post(f"{sink}/v1/logs", content=body,
                              headers={**PROTOBUF, "Authorization": f"{scheme} {TOKEN}"}, timeout=10)
        assert response.status_code == 200, (scheme, response.status_code)
    for authorization in ("Basic " + TOKEN, "Bearer", TOKEN, f"Bearer {TOKEN}x"):
        response = httpx.post(f"{sink}/v1/logs", content=body,
                              headers={**PROTOBUF, "Authorization": authorization}, timeout=10)
        assert response.status_code == 401, authorization

    for authorization in ({}, {"Authorization": f"Bearer {TOKEN}"}):
        slash = httpx.post(f"{sink}/v1/logs/", content=body, timeout=10,
                           headers={**PROTOBUF, "Host": "evil.example", **authorization})
        assert slash.status_code == 404 and "location" not in slash.headers

    # One kept-alive connection: each request's head is bounded, never the bodies after it.
    large = otlp.logs_request([otlp.log_record("x" * 1000) for _ in range(100)]).SerializeToString()
    with httpx.Client(timeout=10, headers={**PROTOBUF, "Authorization": f"Bearer {TOKEN}"}) as client:
        assert [client.post(f"{sink}/v1/logs", content=large).status_code for _ in range(3)] == [200] * 3

    auth = {**PROTOBUF, "Authorization": f"Bearer {TOKEN}", "Content-Encoding": "gzip"}
    first = otlp.logs_request([otlp.log_record(f"first {i}") for i in range(3)]).SerializeToString()
    second = otlp.logs_request([otlp.log_record(f"second {i}") for i in range(4)]).SerializeToString()
    before = _count(database_url)
    # Two protobuf messages concatenated are one message with both lists: so are two gzip members.
    members = gzip.compress(first) + gzip.compress(second)
    assert httpx.post(f"{sink}/v1/logs", content=members, headers=auth, timeout=10).status_code == 200
    assert _count(database_url) == before + 7
    garbage = httpx.post(f"{sink}/v1/logs", content=gzip.compress(first) + b"\x00garbage", headers=auth,
                         timeout=10)
    assert garbage.status_code == 400 and b"trailing data after the gzip body" in garbage.content


def test_histograms_with_bad_bounds_sums_or_counts_are_rejected_in_partial_success(sink: str) -> None:
    now = time.time_ns()
    metrics = [
        otlp.histogram_metric("good", start_ns=now - 10, time_ns=now, bounds=[1.0], counts=[1, 1], total=2.0),
        otlp.histogram_metric("nan_bound", start_ns=now - 10, time_ns=now, bounds=[float("nan")],
                              counts=[1, 1], total=2.0),
        otlp.histogram_metric("unsorted", start_ns=now - 10, time_ns=now, bounds=[2.0, 1.0],
                              counts=[1, 1, 1], total=2.0),
        otlp.histogram_metric("nan_sum", start_ns=now - 10, time_ns=now, bounds=[1.0], counts=[1, 1],
                              total=float("nan")),
    ]
    wrong_count = otlp.histogram_metric("count", start_ns=now - 10, time_ns=now, bounds=[1.0], counts=[1, 1],
                                        total=2.0)
    wrong_count.histogram.data_points[0].count = 5
    response = httpx.post(f"{sink}/v1/metrics",
                          content=otlp.metrics_request([*metrics, wrong_count]).SerializeToString(),
                          headers={**PROTOBUF, "Authorization": f"Bearer {TOKEN}"}, timeout=10)
    assert response.status_code == 200
    partial = ExportMetricsServiceResponse.FromString(response.content).partial_success
    assert partial.rejected_data_points == 4
    assert "bucket bounds that are not finite, increasing" in partial.error_message


def test_trace_prints_control_characters_from_stored_rows_escaped(sink: str, database_url: str) -> None:
    correlation = uuid.uuid4()
    hostile = "done\x1b]0;owned\x07\x1b[2J\u202eevil\r"
    attributes = {"correlation_id": str(correlation), "event.name": "x\x1b[31m", "error_code": "E\x1b[8m"}
    record = otlp.log_record(hostile, attributes=attributes, level="ERROR")
    response = httpx.post(f"{sink}/v1/logs", content=otlp.logs_request([record]).SerializeToString(),
                          headers={**PROTOBUF, "Authorization": f"Bearer {TOKEN}"}, timeout=10)
    assert response.status_code == 200
    shown = subprocess.run([sys.executable, "-m", "rythmiq_otel", "trace", str(correlation)],
                           env={**os.environ, "DATABASE_URL": database_url}, capture_output=True, text=True,
                           timeout=30, cwd=ROOT, check=False)
    assert shown.returncode == 0, shown.stderr
    assert "\x1b" not in shown.stdout and "\x07" not in shown.stdout and "\u202e" not in shown.stdout
    assert "\r" not in shown.stdout
    assert r"done\x1b]0;owned\x07\x1b[2J\u202eevil\x0d" in shown.stdout
    assert r"x\x1b[31m" in shown.stdout and r"error_code=E\x1b[8m" in shown.stdout


def test_up_never_prints_a_token_that_came_from_the_environment(database_url: str) -> None:
    secret = "from-the-environment-" + uuid.uuid4().hex
    env = {**os.environ, "DATABASE_URL": database_url, "RYTHMIQ_SINK_TOKEN": secret}
    proc = subprocess.Popen([sys.executable, "-m", "rythmiq_otel", "up", "--port", "0",
                             "--maintenance-interval", "0"], env=env, cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines: list[str] = []
    try:
        assert proc.stdout is not None
        while not any(line.startswith("Ctrl-C") for line in lines):
            line = proc.stdout.readline()
            assert line, f"up exited early: {lines}"
            lines.append(line.strip())
    finally:
        proc.terminate()
        rest, _ = proc.communicate(timeout=60)
    output = "\n".join(lines) + rest
    assert secret not in output
    assert 'export OTEL_EXPORTER_OTLP_HEADERS="Authorization=Bearer%20${RYTHMIQ_SINK_TOKEN}"' in lines
    assert not any(line.startswith("token: ") for line in lines)
