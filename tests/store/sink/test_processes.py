"""The sink as a real process: upstream exporters against it, Postgres restarted under load, two replicas,
the CLI's one-line failures, and ``rythmiq-otel trace`` reading back what was stored."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import psycopg
import pytest

from rythmiq_otel.store import _embedded, migrate
from tests.store.sink import otlp_builders as otlp
from tests.store.sink.job_events import lifecycle, new_job
from tests.store.sink.sink_helpers import AUTH, ROOT, TOKEN, sink_process, wait_until

pytestmark = pytest.mark.slow
PROTOBUF = {"Content-Type": "application/x-protobuf", **AUTH}
CLIENT = Path(__file__).parent / "clients" / "upstream_exporters.py"


def _post_until_accepted(url: str, body: bytes, *, deadline: float = 60, codes: list[int] | None = None,
                         path: str = "/v1/logs") -> list[int]:
    """What an OTLP exporter does: retry 429/503 (honouring Retry-After) and transport errors.

    Every status seen is appended to ``codes`` as it arrives (0 for a transport error).
    """
    codes = [] if codes is None else codes
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        try:
            response = httpx.post(f"{url}{path}", content=body, headers=PROTOBUF, timeout=10)
        except httpx.TransportError:
            codes.append(0)
            time.sleep(0.2)
            continue
        codes.append(response.status_code)
        if response.status_code == 200:
            return codes
        assert response.status_code in (429, 503), response.text
        time.sleep(min(float(response.headers.get("retry-after", "1")), 0.5))
    raise AssertionError(f"never accepted: {codes[-5:]}")


def _count(url: str, table: str = "logs") -> int:
    with psycopg.connect(url) as conn:
        row = conn.execute(f"SELECT count(*) FROM {table}").fetchone()
    assert row is not None
    return int(row[0])


def test_the_upstream_python_exporters_are_accepted_and_mapped(database_url: str) -> None:
    job_id = str(uuid.uuid4())
    with sink_process(database_url) as url:
        result = subprocess.run([sys.executable, str(CLIENT), url, TOKEN, job_id],
                                check=False, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    with psycopg.connect(database_url) as conn:
        logs = conn.execute("SELECT event_name, level, service, stage, error_stage, trace_id, correlation_id"
                            " FROM logs WHERE job_id = %s ORDER BY timestamp", (job_id,)).fetchall()
        spans = conn.execute("SELECT name, service, correlation_id FROM spans ORDER BY start_time").fetchall()
        metrics = conn.execute("SELECT metric_name, kind, temporality, value, count, bucket_counts"
                               " FROM metric_points ORDER BY metric_name").fetchall()
        run = conn.execute("SELECT status, execution_temperature, error_code FROM job_runs"
                           " WHERE job_id = %s", (job_id,)).fetchone()
        errors = conn.execute("SELECT error_code, error_stage, processing_path FROM error_events").fetchall()
    assert [(e, lvl, svc) for e, lvl, svc, *_ in logs] == [
        ("job.started", "INFO", "worker"), ("stage.completed", "INFO", "worker"),
        ("job.failed", "ERROR", "worker")]
    assert logs[1][3] == "ocr" and logs[2][4] == "ocr"
    trace_ids = {row[5] for row in logs}
    assert len(trace_ids) == 1 and str(uuid.UUID(hex=trace_ids.pop())) == str(logs[0][6])
    assert [s[0] for s in spans] == ["job", "stage ocr"] and spans[0][1] == "worker"
    assert spans[0][2] == logs[0][6]
    assert [(m[0], m[1], m[2]) for m in metrics] == [
        ("rythmiq_job_cpu_seconds", "histogram", "cumulative"), ("rythmiq_jobs_total", "sum", "cumulative")]
    assert metrics[1][3] == 1.0 and metrics[0][4] == 1 and sum(metrics[0][5]) == 1
    assert run == ("failed", "cold", "OCR_FAILURE")
    assert errors == [("OCR_FAILURE", "ocr", "fast")]


@pytest.fixture
def own_postgres() -> Iterator[tuple[Path, str]]:
    """A Postgres server of this test's own, so the test may stop and restart it."""
    root = Path(tempfile.mkdtemp(prefix="rythmiq-sink-restart-"))
    pgdata = root / "postgres"
    try:
        url = _embedded.start(pgdata).url()
        with psycopg.connect(url, autocommit=True) as conn:
            migrate(conn)
        yield pgdata, url
    finally:
        _embedded.stop(pgdata)
        shutil.rmtree(root, ignore_errors=True)


def test_postgres_restart_mid_stream_gives_503_then_recovers_with_no_loss_and_no_duplicates(
    own_postgres: tuple[Path, str],
) -> None:
    pgdata, url = own_postgres
    bodies = [otlp.logs_request([otlp.log_record(f"b{b} r{i}") for i in range(50)]).SerializeToString()
              for b in range(40)]
    seen: list[int] = []
    with sink_process(url) as sink:
        def stream() -> None:
            for body in bodies:
                _post_until_accepted(sink, body, codes=seen)
                time.sleep(0.02)

        client = threading.Thread(target=stream)
        client.start()
        wait_until(lambda: len(seen) >= 5, what="the first batches")
        _embedded.stop(pgdata)
        wait_until(lambda: 503 in seen, what="a 503 while Postgres is down")
        _embedded.start(pgdata)
        client.join(90)
        assert httpx.get(f"{sink}/readyz").status_code == 200
        metrics = httpx.get(f"{sink}/metrics", headers=AUTH).text
    assert not client.is_alive()
    assert _count(url) == 40 * 50
    assert 'code="503"' in metrics


def test_two_replicas_one_with_two_workers_store_every_record_once(database_url: str) -> None:
    jobs = [new_job() for _ in range(3)]
    requests = [r for job in jobs for r in lifecycle(job)]
    bodies = [r.SerializeToString() for r in requests]
    # The second replica runs two worker processes on one socket (the --workers path of `run`).
    with sink_process(database_url) as first, sink_process(database_url, "--workers", "2") as second:
        threads = [
            threading.Thread(target=lambda u=u, order=order: [
                _post_until_accepted(u, bodies[i]) for i in order])
            for u, order in ((first, range(len(bodies))), (second, reversed(range(len(bodies)))))
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
    assert _count(database_url) == len(requests) + len(jobs)  # one request per job carries two records
    with psycopg.connect(database_url) as conn:
        statuses = conn.execute("SELECT status, count(*) FROM job_runs GROUP BY status").fetchall()
        cpu = _count(database_url, "cpu_metrics")
    assert statuses == [("completed", 3)] and cpu == 3


def test_sink_without_a_token_fails_with_one_line_and_exit_2(database_url: str) -> None:
    env = {k: v for k, v in os.environ.items() if k != "RYTHMIQ_SINK_TOKEN"}
    result = subprocess.run([sys.executable, "-m", "rythmiq_otel", "sink", "--port", "0"],
                            env={**env, "DATABASE_URL": database_url}, capture_output=True, text=True,
                            timeout=30, cwd=ROOT, check=False)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "rythmiq-otel sink: RYTHMIQ_SINK_TOKEN is not set; set it to the bearer token clients will send, "
        "or pass --insecure-no-auth for local development"]


def test_trace_prints_the_whole_job_timeline_in_time_order(database_url: str) -> None:
    job = new_job()
    with sink_process(database_url) as url:
        for request in reversed(lifecycle(job, failed=True)):
            _post_until_accepted(url, request.SerializeToString())
        created_ns = lifecycle(job)[0].resource_logs[0].scope_logs[0].log_records[0].time_unix_nano
        span = otlp.spans_request([otlp.span("POST /jobs", trace_id=job.trace_id, span_id=b"\x05" * 8,
                                             start_ns=created_ns - 1000)])
        _post_until_accepted(url, span.SerializeToString(), path="/v1/traces")
    env = {**os.environ, "DATABASE_URL": database_url}
    by_job = subprocess.run([sys.executable, "-m", "rythmiq_otel", "trace", job.job_id], env=env,
                            capture_output=True, text=True, timeout=30, cwd=ROOT, check=False)
    by_correlation = subprocess.run(
        [sys.executable, "-m", "rythmiq_otel", "trace", job.correlation_id],
        env=env, capture_output=True, text=True, timeout=30, cwd=ROOT, check=False,
    )
    assert by_job.returncode == 0, by_job.stderr
    assert by_job.stdout == by_correlation.stdout
    lines = by_job.stdout.splitlines()
    events = [line.split()[4] for line in lines[:-1]]
    assert events == ["server", "job.created", "job.started", "job.metrics_summary", "job.failed",
                      "webhook.processed"]
    assert [line.split()[1] for line in lines[:-1]] == ["api", "api", "worker", "worker", "worker", "webhook"]
    assert "error_code=OCR_FAILURE" in lines[4]
    assert lines[-1] == "-- 5 log record(s), 1 span(s) across api, webhook, worker"
    as_json = subprocess.run([sys.executable, "-m", "rythmiq_otel", "trace", "--json", job.job_id], env=env,
                             capture_output=True, text=True, timeout=30, cwd=ROOT, check=False)
    entries = [json.loads(line) for line in as_json.stdout.splitlines()]
    assert [e["event"] for e in entries] == events
    assert {e["job_id"] for e in entries if e["kind"] == "log"} == {job.job_id}
    missing = subprocess.run([sys.executable, "-m", "rythmiq_otel", "trace", "not-a-uuid"], env=env,
                             capture_output=True, text=True, timeout=30, cwd=ROOT, check=False)
    assert missing.returncode == 2 and "is not a correlation_id, job_id or trace id" in missing.stderr


def test_up_starts_postgres_migrates_serves_and_stops_everything_on_sigterm() -> None:
    # Not pytest's tmp_path: its parents are private to root, and the embedded server runs as its own user.
    tmp_path = Path(tempfile.mkdtemp(prefix="rythmiq-up-"))
    env = {k: v for k, v in os.environ.items() if k not in ("RYTHMIQ_SINK_TOKEN", "DATABASE_URL")}
    env["RYTHMIQ_DATA_DIR"] = str(tmp_path)
    env["RYTHMIQ_DASHBOARD_PORT"] = "0"  # up serves the dashboards too (tests/console/test_up.py)
    proc = subprocess.Popen([sys.executable, "-m", "rythmiq_otel", "up", "--port", "0"], env=env, cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines: list[str] = []
    try:
        assert proc.stdout is not None
        while not any(line.startswith("export OTEL_EXPORTER_OTLP_HEADERS") for line in lines):
            line = proc.stdout.readline()
            assert line, f"up exited early: {lines}"
            lines.append(line.strip())
        endpoint = next(x for x in lines if x.startswith("export OTEL_EXPORTER_OTLP_ENDPOINT")).split("=")[1]
        token = next(x for x in lines if x.startswith("token: ")).split()[1]
        body = otlp.logs_request([otlp.log_record("hello from up")]).SerializeToString()
        headers = {"Content-Type": "application/x-protobuf"}
        assert httpx.post(f"{endpoint}/v1/logs", content=body, headers=headers).status_code == 401
        accepted = httpx.post(f"{endpoint}/v1/logs", content=body,
                              headers={**headers, "Authorization": f"Bearer {token}"})
        assert accepted.status_code == 200
        ready = httpx.get(f"{endpoint}/readyz")
        assert ready.status_code == 200, ready.text
    finally:
        proc.terminate()
        rest, _ = proc.communicate(timeout=60)
        _embedded.stop(tmp_path / "postgres")
        shutil.rmtree(tmp_path, ignore_errors=True)
    assert lines[0] == f"postgres: embedded, data in {tmp_path / 'postgres'}"
    assert lines[1].startswith("migrations: ") and lines[1].endswith(" applied")
    assert rest.strip().endswith("postgres: stopped")


def test_a_sink_started_while_postgres_is_down_answers_503_then_recovers_by_itself(
    own_postgres: tuple[Path, str],
) -> None:
    pgdata, url = own_postgres
    _embedded.stop(pgdata)
    body = otlp.logs_request([otlp.log_record(f"r{i}") for i in range(10)]).SerializeToString()
    with sink_process(url) as sink:
        down = httpx.post(f"{sink}/v1/logs", content=body, headers=PROTOBUF, timeout=30)
        not_ready = httpx.get(f"{sink}/readyz", timeout=30)
        _embedded.start(pgdata)
        codes = _post_until_accepted(sink, body)
    assert (down.status_code, down.headers["retry-after"]) == (503, "2")
    assert not_ready.status_code == 503 and "unreachable" in not_ready.text
    assert codes[-1] == 200 and _count(url) == 10


def test_the_upstream_exporter_rides_out_a_postgres_restart_with_no_loss(
    own_postgres: tuple[Path, str],
) -> None:
    pgdata, url = own_postgres
    client_script = Path(__file__).parent / "clients" / "upstream_log_stream.py"
    with sink_process(url) as sink:
        client = subprocess.Popen([sys.executable, str(client_script), sink, TOKEN, "40", "0.05"],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        assert client.stdout is not None
        while int(client.stdout.readline() or 40) < 10:  # ten records exported, then pull the plug
            pass
        _embedded.stop(pgdata)
        time.sleep(1.5)
        _embedded.start(pgdata)
        _, errors = client.communicate(timeout=120)
        metrics = httpx.get(f"{sink}/metrics", headers=AUTH).text
    assert client.returncode == 0, errors
    with psycopg.connect(url) as conn:
        seqs = [row[0] for row in conn.execute("SELECT (attributes->>'seq')::int FROM logs ORDER BY 1")]
    assert seqs == list(range(40))
    assert 'code="503"' in metrics
