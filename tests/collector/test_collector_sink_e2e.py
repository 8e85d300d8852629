"""Issue 6 end to end: the example system -> the collector -> ``rythmiq-otel sink`` -> Postgres.

Everything is a real process: api, webhook, the job platform and its worker under ``rythmiq-otel
instrument``, the built collector with the bundled config, the sink, the embedded Postgres.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from examples.run import ExampleSystem, start_system
from rythmiq_otel import pii
from rythmiq_otel.store.collector import config_files
from tests.canary_emitter import CORPUS as CANARY_CORPUS
from tests.canary_emitter import EMIT_CANARIES
from tests.collector._process import CollectorFactory, CollectorProcess, free_port
from tests.instrumented import RYTHMIQ_OTEL
from tests.pii_canaries import assert_no_canary, find_canaries
from tests.store.sink.sink_helpers import TOKEN, sink_process

pytestmark = [pytest.mark.collector, pytest.mark.slow]

# Four jobs -- fast path, standard path, standard with OCR rollback, a failure -- with fixed quality (the
# simulation is otherwise seeded by the random job id), one after another so cold/warm starts repeat.
JOBS = (
    {"filename": "scan-001.pdf", "page_count": 1, "quality_hint": 0.9},
    {"filename": "scan-002.pdf", "page_count": 2, "quality_hint": 0.7},
    {"filename": "scan-003.pdf", "page_count": 1, "quality_hint": 0.5},
    {"filename": "scan-004.pdf", "page_count": 1, "quality_hint": 0.7, "fail_with": "OCR_FAILURE"},
)
# What a row is, minus what differs between any two runs (ids, timestamps, durations, measured values).
PROJECTIONS = {
    "logs": "SELECT service, level, event_name, stage, error_code, error_stage, http_method, http_path, "
            "http_status, message, attributes, extra FROM logs",
    "spans": "SELECT service, name, kind, status_code, attributes FROM spans",
    "job_runs": "SELECT status, processing_path, execution_temperature, error_code, error_stage "
                "FROM job_runs",
    "cpu_metrics": "SELECT execution_temperature, processing_path FROM cpu_metrics",
    "error_events": "SELECT error_code, error_stage, processing_path FROM error_events",
}
TERMINAL = "('completed', 'failed')"
DIRECT_HEADERS = {"OTEL_EXPORTER_OTLP_HEADERS": f"Authorization=Bearer%20{TOKEN}"}


def _shape(value: Any) -> Any:
    """A column as comparable across runs: jsonb as its sorted keys, text with its numbers blanked.

    Keys an earlier layer already redacted are left out: the collector deletes a blocked key where the
    SDK replaced its value with a marker, the one place where the two paths legitimately differ. Numbers
    in text are ports and sizes that change from run to run.
    """
    if isinstance(value, dict):
        return tuple(sorted(key for key, item in value.items() if not pii.is_marker(item)))
    if isinstance(value, str):
        return re.sub(r"\d+", "N", value)
    return value


def _snapshot(database_url: str) -> dict[str, Counter[tuple[Any, ...]]]:
    with psycopg.connect(database_url) as conn:
        return {
            table: Counter(tuple(_shape(value) for value in row) for row in conn.execute(query).fetchall())
            for table, query in PROJECTIONS.items()
        }


def _json_lines(system: ExampleSystem) -> int:
    return sum(1 for path in system.log_files() for line in path.read_text().splitlines() if line.strip())


def _settled(database_url: str, lines: int, timeout: float = 60) -> dict[str, Counter[tuple[Any, ...]]]:
    """The snapshot once every job and a ``logs`` row per JSON line (``lines``) are stored and nothing new
    has arrived for two seconds (exports and retries have drained; a quiet spell alone can be a collector
    that is merely slow on a loaded machine)."""
    deadline = time.monotonic() + timeout
    previous = _snapshot(database_url)
    while time.monotonic() < deadline:
        time.sleep(2)
        current = _snapshot(database_url)
        stored = sum(current["job_runs"].values()) >= len(JOBS) and sum(current["logs"].values()) >= lines
        if current == previous and stored:
            return current
        previous = current
    raise AssertionError(f"the tables never settled: {({t: sum(c.values()) for t, c in previous.items()})}")


def _finished(system: ExampleSystem, job_id: str) -> bool:
    """The webhook has processed the job (read from its JSON log lines: polling the api would add
    requests, and so rows, that differ from run to run)."""
    webhook = system.log_dir / "webhook.jsonl"
    return webhook.exists() and any(
        f'"job_id":"{job_id}"' in line and '"event":"webhook.processed"' in line
        for line in webhook.read_text().splitlines()
    )


def _run_jobs(system: ExampleSystem) -> list[str]:
    job_ids = []
    for job in JOBS:
        response = httpx.post(f"{system.api_url}/jobs", json=job, headers=system.auth_headers, timeout=10)
        assert response.status_code == 201, response.text
        job_ids.append(response.json()["job_id"])
        assert system.wait_until(lambda: _finished(system, job_ids[-1]), timeout=30), job_ids[-1]
    return job_ids


@pytest.fixture
def collector_to(start_collector: CollectorFactory) -> Callable[[str], CollectorProcess]:
    """A sidecar collector exporting to the sink at ``sink_url`` with the sink's token."""
    return lambda sink_url: start_collector(config_files("sidecar"), sink_url, RYTHMIQ_SINK_TOKEN=TOKEN)


def _sink(database_url: str, port: int) -> AbstractContextManager[str]:
    # sink_process passes --port 0; a later --port wins, so the sink comes back on the same port.
    return sink_process(database_url, "--port", str(port))


@pytest.fixture
def direct_database(migrated_database_factory: Callable[[], str]) -> str:
    return migrated_database_factory()


def test_the_collector_path_writes_the_same_rows_as_the_direct_path(
    collector_to: Callable[[str], CollectorProcess], database_url: str, direct_database: str, tmp_path: Path
) -> None:
    with _sink(direct_database, free_port()) as sink_url:
        with start_system(otlp_endpoint=sink_url, log_dir=tmp_path / "direct", env=DIRECT_HEADERS) as system:
            _run_jobs(system)
        direct = _settled(direct_database, _json_lines(system))

    with _sink(database_url, free_port()) as sink_url:
        collector = collector_to(sink_url)
        with start_system(otlp_endpoint=collector.otlp_http_url, log_dir=tmp_path / "collector") as system:
            _run_jobs(system)
        via_collector = _settled(database_url, _json_lines(system))

    assert sum(direct["logs"].values()) > 0 and sum(direct["spans"].values()) > 0
    for table in PROJECTIONS:
        assert via_collector[table] == direct[table], table


def _count(database_url: str, query: str) -> int:
    with psycopg.connect(database_url) as conn:
        row = conn.execute(query).fetchone()
    assert row is not None
    return int(row[0])


def _wait_for(condition: Callable[[], bool], timeout: float) -> None:
    """Poll ``condition`` once a second until it holds or ``timeout`` seconds pass (the caller asserts)."""
    deadline = time.monotonic() + timeout
    while not condition() and time.monotonic() < deadline:
        time.sleep(1)


def test_jobs_run_while_the_sink_is_down_for_30_s_all_arrive_once(
    collector_to: Callable[[str], CollectorProcess], database_url: str, tmp_path: Path
) -> None:
    port = free_port()
    outage = 30.0
    with _sink(database_url, port) as sink_url:
        collector = collector_to(sink_url)
    # The sink is down from here on; the services only know the collector.
    with start_system(otlp_endpoint=collector.otlp_http_url, log_dir=tmp_path / "system") as system:
        stopped = time.monotonic()
        job_ids: list[str] = []
        while time.monotonic() - stopped < outage - 5:
            job_ids += _run_jobs(system)
        time.sleep(max(0.0, outage - (time.monotonic() - stopped)))
        assert collector.metric("otelcol_exporter_sent_log_records") == 0
        assert collector.metric("otelcol_exporter_queue_size") >= 1
        with _sink(database_url, port):
            system.stop()  # flush every service's telemetry into the collector
            lines = _json_lines(system)
            expected_jobs = len(job_ids)
            _settled_counts(database_url, lines, expected_jobs)


def _settled_counts(database_url: str, lines: int, jobs: int, timeout: float = 90) -> None:
    """Wait until Postgres holds one log row per JSON line and every job; then require exactly that."""
    _wait_for(
        lambda: _count(database_url, "SELECT count(*) FROM logs") >= lines
        and _count(database_url, f"SELECT count(*) FROM job_runs WHERE status IN {TERMINAL}") >= jobs,
        timeout,
    )
    time.sleep(3)  # anything still in flight would show up as a duplicate now
    assert _count(database_url, "SELECT count(*) FROM logs") == lines
    assert _count(database_url, "SELECT count(*) FROM job_runs") == jobs
    assert _count(database_url, "SELECT count(*) FROM cpu_metrics") == jobs


@pytest.mark.parametrize("guard", ["off", "on"])  # the collector and the sink alone; all three layers
def test_no_canary_reaches_postgres_with_the_sdk_guard_off_or_on(
    collector_to: Callable[[str], CollectorProcess], database_url: str, tmp_path: Path, guard: str
) -> None:
    port = free_port()
    with _sink(database_url, port) as sink_url:
        collector = collector_to(sink_url)
        env = {
            **{key: value for key, value in os.environ.items() if not key.startswith(("RYTHMIQ_", "OTEL_"))},
            "OTEL_EXPORTER_OTLP_ENDPOINT": collector.otlp_http_url,
            "OTEL_BLRP_MAX_QUEUE_SIZE": "50000",
            "OTEL_BSP_MAX_QUEUE_SIZE": "5000",
            "RYTHMIQ_SERVICE": "worker",
            "RYTHMIQ_PII_GUARD": guard,  # off: the collector and the sink must hold on their own
            # ~4000 records behind a collector doing the PII work: let the exit flush them all.
            "RYTHMIQ_SHUTDOWN_TIMEOUT": "120000",
        }
        service = subprocess.run(
            [RYTHMIQ_OTEL, "instrument", "--", sys.executable, "-c", EMIT_CANARIES],
            env=env, capture_output=True, text=True, timeout=120, check=False,
        )
        assert service.returncode == 0, service.stderr[-2000:]
        emitted = json.loads(service.stderr.strip().splitlines()[-1])["emitted"]
        if guard == "off":
            assert find_canaries(service.stdout, CANARY_CORPUS)  # the guard really was off
        else:
            assert_no_canary(service.stdout, CANARY_CORPUS)
            assert_no_canary(service.stderr, CANARY_CORPUS)

        _wait_for(lambda: _count(database_url, "SELECT count(*) FROM logs") >= emitted, timeout=240)
        assert _count(database_url, "SELECT count(*) FROM logs") >= emitted
        with psycopg.connect(database_url) as conn:
            for table in ("logs", "spans", "metric_points", "error_events", "job_runs", "cpu_metrics"):
                rows = conn.execute(f"SELECT t::text FROM {table} t").fetchall()  # every column, as text
                assert_no_canary("\n".join(row[0] for row in rows), CANARY_CORPUS)
