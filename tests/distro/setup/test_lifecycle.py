"""Shutdown flushes on normal exit and SIGTERM; a forked child exports its own signals, once, no deadlock.

The batch delays are set far beyond the test's patience (60 s), so a record only reaches the receiver if
the shutdown path flushed it.
"""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from tests.distro.log_lines import parse_lines
from tests.instrumented import RYTHMIQ_OTEL
from tests.otlp_capture import OtlpCapture

pytestmark = pytest.mark.slow

Run = Callable[..., subprocess.CompletedProcess[str]]
NEVER_ON_ITS_OWN = {"OTEL_BLRP_SCHEDULE_DELAY": "60000", "OTEL_BSP_SCHEDULE_DELAY": "60000",
                    "OTEL_METRIC_EXPORT_INTERVAL": "60000"}

LOG_AND_SPAN = """
from opentelemetry import trace
from rythmiq_otel import get_worker_logger
with trace.get_tracer("t").start_as_current_span("job"):
    get_worker_logger("w").info("Job completed", extra={"event": "job.completed"})
"""


def test_normal_exit_flushes_pending_records_and_spans(
    run_instrumented: Run, otlp_capture: OtlpCapture
) -> None:
    result = run_instrumented(LOG_AND_SPAN, **NEVER_ON_ITS_OWN)
    assert result.returncode == 0, result.stderr
    assert [r["body"] for r in otlp_capture.wait_for_logs(1, timeout=5)] == ["Job completed"]
    assert [s["name"] for s in otlp_capture.wait_for_spans(1, timeout=5)] == ["job"]


def test_sigterm_flushes_then_dies_by_sigterm(
    instrumented_env: dict[str, str], otlp_capture: OtlpCapture
) -> None:
    code = LOG_AND_SPAN + "import sys, time\nprint('', flush=True)\ntime.sleep(60)\n"
    process = subprocess.Popen(
        [RYTHMIQ_OTEL, "instrument", "--", sys.executable, "-c", code],
        env={**instrumented_env, **NEVER_ON_ITS_OWN},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        # Up to the empty marker line: the span has ended, the process now sleeps. The JSON line is
        # written by the background thread, so it may come before or after the marker -- but before the exit.
        lines = []
        for line in process.stdout:
            if line == "\n":
                break
            lines.append(line)
        process.send_signal(signal.SIGTERM)
        lines += process.stdout.readlines()
        process.wait(timeout=20)
    finally:
        process.kill()
    assert process.returncode == -signal.SIGTERM
    assert [line["message"] for line in parse_lines("".join(lines))] == ["Job completed"]
    assert [r["body"] for r in otlp_capture.wait_for_logs(1, timeout=5)] == ["Job completed"]
    assert [s["name"] for s in otlp_capture.wait_for_spans(1, timeout=5)] == ["job"]


OS_FORK = """
import os, sys
from opentelemetry import trace
from rythmiq_otel import get_worker_logger
log = get_worker_logger("w")
log.info("before fork")
pid = os.fork()
if pid == 0:
    with trace.get_tracer("t").start_as_current_span("child job"):
        log.info("in child")
    sys.exit(0)
_, status = os.waitpid(pid, 0)
assert os.waitstatus_to_exitcode(status) == 0
log.info("parent after child")
"""


def test_an_os_fork_child_exports_its_own_records_and_nothing_twice(
    run_instrumented: Run, otlp_capture: OtlpCapture
) -> None:
    # Block-buffered stdout (no PYTHONUNBUFFERED): a line still buffered at fork would be written twice.
    result = run_instrumented(OS_FORK, timeout=30, PYTHONUNBUFFERED="", **NEVER_ON_ITS_OWN)
    assert result.returncode == 0, result.stderr
    assert sorted(line["message"] for line in parse_lines(result.stdout)) == [
        "before fork", "in child", "parent after child"
    ]
    records = otlp_capture.wait_for_logs(3, timeout=10)
    assert sorted(r["body"] for r in records) == ["before fork", "in child", "parent after child"]
    assert [s["name"] for s in otlp_capture.wait_for_spans(1, timeout=5)] == ["child job"]


MULTIPROCESSING_FORK = """
import multiprocessing
from opentelemetry import trace
from rythmiq_otel import get_worker_logger
log = get_worker_logger("w")

def work(n):
    with trace.get_tracer("t").start_as_current_span(f"stage {n}"):
        log.info("in child", extra={"extra": {"n": n}})

if __name__ == "__main__":
    log.info("parent")
    context = multiprocessing.get_context("fork")
    children = [context.Process(target=work, args=(n,)) for n in range(3)]
    for child in children:
        child.start()
    for child in children:
        child.join(20)
        assert child.exitcode == 0, child.exitcode
"""


def test_multiprocessing_fork_children_flush_at_exit(
    run_instrumented: Run, otlp_capture: OtlpCapture
) -> None:
    result = run_instrumented(MULTIPROCESSING_FORK, timeout=40, **NEVER_ON_ITS_OWN)
    assert result.returncode == 0, result.stderr
    assert len(parse_lines(result.stdout)) == 4
    records = otlp_capture.wait_for_logs(4, timeout=10)
    assert sorted(r["attributes"].get("extra.n", -1) for r in records) == [-1, 0, 1, 2]
    spans = otlp_capture.wait_for_spans(3, timeout=5)
    assert sorted(s["name"] for s in spans) == ["stage 0", "stage 1", "stage 2"]


def _free_port() -> int:
    """A local TCP port nobody listens on right now (for a server the test starts)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


GUNICORN_APP = """
from rythmiq_otel import get_api_logger
log = get_api_logger("app")
log.info("loaded in the master")

def app(environ, start_response):
    log.info("handled in a worker")
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"ok"]
"""


def test_gunicorn_preload_workers_export_after_the_fork(
    instrumented_env: dict[str, str], otlp_capture: OtlpCapture, tmp_path: Path
) -> None:
    (tmp_path / "preload_app.py").write_text(GUNICORN_APP)
    port = _free_port()
    gunicorn = str(Path(sys.executable).with_name("gunicorn"))
    process = subprocess.Popen(
        [RYTHMIQ_OTEL, "instrument", "--", gunicorn, "--preload", "--workers", "2", "--bind",
         f"127.0.0.1:{port}", "--chdir", str(tmp_path), "preload_app:app"],
        env={**instrumented_env, "RYTHMIQ_SERVICE": "api"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 20
        answered = 0
        while answered < 4 and time.monotonic() < deadline:
            try:
                answered += httpx.get(f"http://127.0.0.1:{port}/", timeout=2).status_code == 200
            except httpx.TransportError:
                time.sleep(0.1)
        assert answered == 4
        assert otlp_capture.wait_until(
            lambda: sum(r["body"] == "handled in a worker" for r in otlp_capture.log_records()) == 4, 10
        )
    finally:
        process.send_signal(signal.SIGTERM)
        stdout, _ = process.communicate(timeout=20)
    lines = parse_lines(stdout)
    assert [line["message"] for line in lines].count("handled in a worker") == 4
    assert [line["message"] for line in lines].count("loaded in the master") == 1
    assert sum(r["body"] == "loaded in the master" for r in otlp_capture.log_records()) == 1


ASGI_APP = """
async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": b"ok"})
"""


def test_uvicorn_under_instrument_keeps_every_stdout_line_json_and_flushes_on_sigterm(
    instrumented_env: dict[str, str], otlp_capture: OtlpCapture, tmp_path: Path
) -> None:
    (tmp_path / "asgi_app.py").write_text(ASGI_APP)
    port = _free_port()
    uvicorn = str(Path(sys.executable).with_name("uvicorn"))
    process = subprocess.Popen(
        [RYTHMIQ_OTEL, "instrument", "--", uvicorn, "asgi_app:app", "--port", str(port), "--app-dir",
         str(tmp_path)],
        env={**instrumented_env, "RYTHMIQ_SERVICE": "api", **NEVER_ON_ITS_OWN},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                assert httpx.get(f"http://127.0.0.1:{port}/", timeout=2).status_code == 200
                break
            except httpx.TransportError:
                time.sleep(0.1)
    finally:
        process.send_signal(signal.SIGTERM)
        stdout, stderr = process.communicate(timeout=20)
    # uvicorn shuts down gracefully, then re-raises the SIGTERM it captured: the process dies by it, as it
    # would uninstrumented (our handler flushes first).
    assert process.returncode == -signal.SIGTERM, stderr
    lines = parse_lines(stdout)
    access = [line for line in lines if '"GET / HTTP/1.1" 200' in line["message"]]
    assert len(access) == 1
    assert access[0]["service"] == "api"
    # Exported only by the shutdown flush: the batch delays are 60 s.
    assert otlp_capture.wait_until(
        lambda: any('"GET / HTTP/1.1" 200' in r["body"] for r in otlp_capture.log_records()), 5
    )


def test_an_unreachable_endpoint_delays_exit_by_at_most_the_shutdown_timeout(
    run_instrumented: Run, otlp_capture: OtlpCapture
) -> None:
    otlp_capture.status = 503  # every export is retried until its own 10 s timeout
    started = time.monotonic()
    result = run_instrumented(LOG_AND_SPAN, RYTHMIQ_SHUTDOWN_TIMEOUT="1500", **NEVER_ON_ITS_OWN)
    elapsed = time.monotonic() - started
    assert result.returncode == 0, result.stderr
    assert elapsed < 8, elapsed  # interpreter start-up + 1.5 s, far below 3 x 10 s of retries
    messages = [line["message"] for line in parse_lines(result.stdout)]
    assert messages[0] == "Job completed"
    assert messages[-1] == (
        "Telemetry export did not finish within RYTHMIQ_SHUTDOWN_TIMEOUT (1.5 s); "
        "pending records were dropped."
    )
    assert otlp_capture.messages("/v1/logs")  # it did try
