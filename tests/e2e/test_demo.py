"""``make run`` as a user runs it: ``python -m examples.demo --jobs 6`` as a real process.

It starts the embedded PostgreSQL (in a data directory of its own), the sink, the collector when one is
built (else the services export straight to the sink), the example system and the traffic; the test
checks what a user would: exit 0, a summary that shows the jobs, the jobs' rows in the tables the
dashboards read, and no process of the run left behind. Every port comes from a variable, so the run
clashes with nothing else on the machine.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from tests.collector._process import free_ports

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
JOBS = 6


def _rythmiq_otel(env: dict[str, str], *arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "rythmiq_otel", *arguments], env=env, capture_output=True,
                          text=True, check=False, timeout=60)


@pytest.fixture
def demo_env() -> Iterator[dict[str, str]]:
    """The environment of one demo run: its own data directory, free ports, a marker to find its processes.

    The data directory is not under pytest's ``tmp_path``: the embedded server may run as another user,
    and concurrent pytest runs reset ``/tmp/pytest-of-<user>`` to 0700 (docs/store.md).
    """
    data_dir = Path(tempfile.mkdtemp(prefix="rythmiq-demo-test-"))
    http, grpc, health, metrics = free_ports(4)
    env = {
        **{key: value for key, value in os.environ.items()
           if key not in ("DATABASE_URL", "RYTHMIQ_SINK_TOKEN", "OTEL_EXPORTER_OTLP_HEADERS")},
        "RYTHMIQ_DATA_DIR": str(data_dir),
        "RYTHMIQ_SINK_PORT": "0",
        "RYTHMIQ_DASHBOARD_PORT": "0",
        "RYTHMIQ_COLLECTOR_HTTP_ENDPOINT": f"localhost:{http}",
        "RYTHMIQ_COLLECTOR_GRPC_ENDPOINT": f"localhost:{grpc}",
        "RYTHMIQ_COLLECTOR_HEALTH_ENDPOINT": f"localhost:{health}",
        "RYTHMIQ_COLLECTOR_METRICS_PORT": str(metrics),
        "RYTHMIQ_DEMO_TEST_MARKER": uuid.uuid4().hex,
    }
    try:
        yield env
    finally:
        _rythmiq_otel(env, "db", "stop")
        shutil.rmtree(data_dir, ignore_errors=True)


def _processes_of_the_run(env: dict[str, str]) -> list[str]:
    """Command lines of live processes carrying the run's marker (every child inherits the environment)
    or naming its data directory (the embedded PostgreSQL, started through pg_ctl)."""
    marker = f"RYTHMIQ_DEMO_TEST_MARKER={env['RYTHMIQ_DEMO_TEST_MARKER']}".encode()
    data_dir = env["RYTHMIQ_DATA_DIR"].encode()
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or int(proc.name) == os.getpid():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes()
            environ = (proc / "environ").read_bytes()
            state = (proc / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state != "Z" and (marker in environ.split(b"\0") or data_dir in cmdline):
            found.append(cmdline.replace(b"\0", b" ").decode(errors="replace"))
    return found


def _demo(env: dict[str, str], *arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "examples.demo", *arguments], cwd=REPO, env=env,
                          capture_output=True, text=True, check=False, timeout=120)


@pytest.mark.parametrize("route", ["collector", "direct"])
def test_demo_runs_the_whole_system_then_stops_everything(demo_env: dict[str, str], route: str) -> None:
    result = _demo(demo_env, "--jobs", str(JOBS), *(["--no-collector"] if route == "direct" else []))

    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert f"landed     all {JOBS} job(s)" in out
    # the traffic's fixed cycle: jobs 3 and 6 of 7 fail, with the first two error codes
    assert re.search(rf"jobs 24h {JOBS} +\(completed 4, failed 2, in progress 0\)", out), out
    assert "error rate 33.3%" in out
    assert "OCR_FAILURE" in out and "CORRUPT_DATA" in out
    # through the collector when one is built (and not --no-collector), else straight to the sink
    sink = re.search(r"^store      sink (\S+)", out, re.MULTILINE)
    exports_to = re.search(r"^services .* -> (\S+)$", out, re.MULTILINE)
    via_collector = re.search(r"^collector  http://\S+ -> sink", out, re.MULTILINE) is not None
    assert sink and exports_to
    assert (exports_to.group(1) == sink.group(1)) is not via_collector
    assert not (route == "direct" and via_collector)
    trace = re.search(r"rythmiq-otel trace ([0-9a-f-]{36})$", out, re.MULTILINE)
    assert trace is not None
    assert "stopped    embedded PostgreSQL" in out
    assert _processes_of_the_run(demo_env) == []

    started = _rythmiq_otel(demo_env, "db", "start")
    assert started.returncode == 0, started.stderr
    url = _rythmiq_otel(demo_env, "db", "url").stdout.strip()
    with psycopg.connect(url) as conn:
        jobs = dict(conn.execute("SELECT job_id, status FROM job_runs").fetchall())
        cpu = {row[0] for row in conn.execute("SELECT job_id FROM cpu_metrics")}
        logged = {row[0] for row in conn.execute("SELECT DISTINCT job_id FROM logs WHERE job_id IS NOT NULL")}
        errors = conn.execute("SELECT count(*) FROM error_events").fetchone()
        correlation_ids = {str(row[0]) for row in conn.execute("SELECT correlation_id FROM job_runs")}
    assert sorted(jobs.values()) == ["completed"] * 4 + ["failed"] * 2
    assert cpu == set(jobs) == logged
    assert errors == (2,)
    assert trace.group(1) in correlation_ids


def test_backfill_first_then_the_live_run_and_not_twice(demo_env: dict[str, str]) -> None:
    arguments = ("--jobs", "2", "--no-collector", "--backfill-days", "2", "--backfill-jobs-per-day", "300")
    result = _demo(demo_env, *arguments)
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    sent = re.search(r"^history    ([\d,]+) jobs \(.*\) in \d+ s; rollups and views refreshed$", out,
                     re.MULTILINE)
    assert sent, out
    history = int(sent.group(1).replace(",", ""))
    assert 400 < history < 800
    assert out.index("history    ") < out.index("services   ")  # the history before the live system
    assert "landed     all 2 job(s)" in out

    again = _demo(demo_env, *arguments)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "history    already in the store" in again.stdout
    assert _processes_of_the_run(demo_env) == []
    assert _rythmiq_otel(demo_env, "db", "start").returncode == 0
    url = _rythmiq_otel(demo_env, "db", "url").stdout.strip()
    with psycopg.connect(url) as conn:
        days = conn.execute("SELECT count(DISTINCT created_at::date) FROM job_runs").fetchone()
        total = conn.execute("SELECT count(*) FROM job_runs").fetchone()
        daily = conn.execute("SELECT count(*) FROM cpu_metrics_daily").fetchone()
    assert days is not None and days[0] >= 2 and daily is not None and daily[0] >= 2
    assert total == (history + 4,)


def test_bad_input_is_one_line(demo_env: dict[str, str]) -> None:
    bad_jobs = _demo(demo_env, "--jobs", "zero")
    assert (bad_jobs.returncode, bad_jobs.stdout) == (2, "")
    assert bad_jobs.stderr.count("\n") == 1
    assert "--jobs" in bad_jobs.stderr and "'zero'" in bad_jobs.stderr
    bad_days = _demo(demo_env, "--backfill-days", "91")
    assert (bad_days.returncode, bad_days.stdout) == (2, "")
    assert "--backfill-days" in bad_days.stderr and "from 0 to 90" in bad_days.stderr

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        in_use = _demo({**demo_env, "RYTHMIQ_SINK_PORT": str(port)}, "--jobs", "1", "--no-collector")
    assert in_use.returncode == 2
    assert re.fullmatch(rf"python -m examples\.demo: port {port} \(sink\) is not free \(Address already in "
                        r"use\); set another, e\.g\. RYTHMIQ_SINK_PORT=\d+, or stop what is using it\n",
                        in_use.stderr), in_use.stderr
    assert _processes_of_the_run(demo_env) == []
