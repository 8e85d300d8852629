"""Through a real worker process and a real sink: runtime metrics land in ``metric_points`` under
OpenTelemetry's names, and ``ENABLE_METRICS_PERSISTENCE=false`` stops every metrics write (``metric_points``
and ``cpu_metrics``) while the job's lifecycle still reaches ``job_runs``."""

from __future__ import annotations

import subprocess
import uuid
from collections.abc import Callable

import psycopg
import pytest

from rythmiq_otel.distro.metrics._runtime import PROCESS_METRICS
from tests.otlp_capture import OtlpCapture
from tests.store.sink.sink_helpers import TOKEN, sink_process, wait_until

JOB = """
from rythmiq_otel.distro import job_context, stage_context
with job_context({{"job_id": "{job_id}"}}):
    with stage_context("ocr"):
        sum(i * i for i in range(200_000))
"""


def _count(database_url: str, sql: str, *args: object) -> int:
    with psycopg.connect(database_url) as conn:
        row = conn.execute(sql, args).fetchone()
    return int(row[0]) if row else 0


def _run_job(run: Callable[..., subprocess.CompletedProcess[str]], url: str, **env: str) -> str:
    job_id = str(uuid.uuid4())
    result = run(JOB.format(job_id=job_id), OTEL_EXPORTER_OTLP_ENDPOINT=url,
                 OTEL_EXPORTER_OTLP_HEADERS=f"Authorization=Bearer {TOKEN}", **env)
    assert result.returncode == 0, result.stderr
    return job_id


@pytest.mark.slow
def test_metrics_persistence_switch_and_runtime_metrics_through_the_sink(
    run_instrumented: Callable[..., subprocess.CompletedProcess[str]], database_url: str
) -> None:
    with sink_process(database_url) as url:
        job_on = _run_job(run_instrumented, url)
        cpu_rows = "SELECT count(*) FROM cpu_metrics WHERE job_id = %s"
        wait_until(lambda: _count(database_url, cpu_rows, job_on) == 1, what="the job's cpu_metrics row")
        wait_until(lambda: _count(database_url, "SELECT count(*) FROM metric_points WHERE metric_name = "
                                  "'process.cpu.time'") > 0, what="runtime metrics in metric_points")
        with psycopg.connect(database_url) as conn:
            names = {row[0] for row in conn.execute("SELECT DISTINCT metric_name FROM metric_points")}
        assert set(PROCESS_METRICS) - {"process.open_file_descriptor.count"} <= names, names
        assert not {name for name in names if name.startswith(("system.", "process.runtime."))}

        before = _count(database_url, "SELECT count(*) FROM metric_points")
        job_off = _run_job(run_instrumented, url, ENABLE_METRICS_PERSISTENCE="false")
        wait_until(lambda: _count(database_url, "SELECT count(*) FROM job_runs WHERE job_id = %s AND "
                                  "status = 'completed'", job_off) == 1, what="the job_runs row of the job")
        assert _count(database_url, cpu_rows, job_off) == 0
        assert _count(database_url, "SELECT count(*) FROM metric_points") == before


def test_runtime_metrics_are_off_by_default_for_the_api_and_on_when_asked(
    run_instrumented: Callable[..., subprocess.CompletedProcess[str]], otlp_capture: OtlpCapture
) -> None:
    code = "import time; time.sleep(0.5)"
    assert run_instrumented(code, RYTHMIQ_SERVICE="api").returncode == 0
    assert not [p for p in otlp_capture.metric_points() if p["name"].startswith("process.")]
    assert run_instrumented(code, RYTHMIQ_SERVICE="api", RYTHMIQ_RUNTIME_METRICS="true").returncode == 0
    assert {p["name"] for p in otlp_capture.metric_points()} >= {"process.cpu.time", "process.memory.usage"}
