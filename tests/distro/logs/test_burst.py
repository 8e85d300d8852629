"""A burst of log calls loses no record at the default settings: a real process, a real sink, rows counted.

50 threads log 200 lines each under ``rythmiq-otel instrument`` (default batch settings, environment set
before start-up) into a ``rythmiq-otel sink`` process writing to Postgres; every line must become a
``logs`` row. Where a record is still dropped (the export path stalled), the count is in a metric and one
WARN JSON line -- checked with a sink that is not there at all.
"""

from __future__ import annotations

import json
import socket
import subprocess
from collections.abc import Callable

import psycopg
import pytest

from rythmiq_otel.distro.logs._backpressure import DROPPED_METRIC
from tests.otlp_capture import OtlpCapture
from tests.store.sink.sink_helpers import TOKEN, sink_process, wait_until

THREADS, LINES = 50, 200
BURST = f"""
import logging, threading
log = logging.getLogger("burst")

def run(n):
    for i in range(200):
        log.info("burst line", extra={{"extra": {{"thread": n, "i": i}}}})

threads = [threading.Thread(target=run, args=(n,)) for n in range({THREADS})]
for t in threads: t.start()
for t in threads: t.join()
"""


def _burst_rows(database_url: str) -> int:
    with psycopg.connect(database_url) as conn:
        row = conn.execute("SELECT count(*) FROM logs WHERE message = 'burst line'").fetchone()
    return int(row[0]) if row else 0


@pytest.mark.slow
def test_a_burst_of_10000_lines_becomes_10000_log_rows(
    run_instrumented: Callable[..., subprocess.CompletedProcess[str]], database_url: str
) -> None:
    with sink_process(database_url) as url:
        result = run_instrumented(
            BURST, timeout=120,
            OTEL_EXPORTER_OTLP_ENDPOINT=url, OTEL_EXPORTER_OTLP_HEADERS=f"Authorization=Bearer {TOKEN}",
            OTEL_BLRP_SCHEDULE_DELAY="1000",  # the defaults, not the fixture's short delay
            OTEL_TRACES_EXPORTER="none", OTEL_METRICS_EXPORTER="none",
        )
        assert result.returncode == 0, result.stderr
        lines = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
        assert sum(line["message"] == "burst line" for line in lines) == THREADS * LINES
        assert not [line for line in lines if line["level"] == "WARN"], lines[:3]
        assert "Queue full" not in result.stdout + result.stderr
        wait_until(lambda: _burst_rows(database_url) >= THREADS * LINES, what="every burst line in logs",
                   timeout=60)
        assert _burst_rows(database_url) == THREADS * LINES


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.slow
def test_records_dropped_behind_a_dead_endpoint_are_counted_and_reported_once(
    run_instrumented: Callable[..., subprocess.CompletedProcess[str]], otlp_capture: OtlpCapture
) -> None:
    result = run_instrumented(
        BURST.replace("range(200)", "range(40)"), timeout=120,
        OTEL_EXPORTER_OTLP_LOGS_ENDPOINT=f"http://127.0.0.1:{_closed_port()}/v1/logs",
        OTEL_BLRP_MAX_QUEUE_SIZE="64", OTEL_BLRP_MAX_EXPORT_BATCH_SIZE="64",
        OTEL_TRACES_EXPORTER="none", RYTHMIQ_SHUTDOWN_TIMEOUT="3000",
    )
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    assert sum(line["message"] == "burst line" for line in lines) == THREADS * 40  # stdout keeps every line
    reports = [line for line in lines if line["message"].startswith("Dropped ")]
    assert [line["level"] for line in reports] == ["WARN"]
    dropped = reports[0]["extra"]["dropped_log_records"]
    assert 0 < dropped < THREADS * 40
    assert "Queue full" not in result.stdout + result.stderr
    points = [p for p in otlp_capture.metric_points() if p["name"] == DROPPED_METRIC]
    assert points and {p["temporality"] for p in points} == {1}  # delta, the distro's default
    # the report's own OTel record may meet the full queue too: counted, in no line
    assert sum(p["value"] for p in points) in (dropped, dropped + 1)
