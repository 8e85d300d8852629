"""Start the example system as real processes: ``start_system()`` in a test, ``python -m examples.run``.

The api and webhook run under ``rythmiq-otel instrument -- python -m uvicorn ...``; the job platform
stand-in (not a Rythmiq service, not instrumented) runs the workers under ``rythmiq-otel instrument``.
Every process binds 127.0.0.1 on a free port, writes its stdout (the JSON log lines) to a file in
``log_dir``, and exports OTLP to ``otlp_endpoint`` (or nowhere when it is ``None``).

    with start_system(otlp_endpoint=capture.url, log_dir=tmp_path) as system:
        httpx.post(f"{system.api_url}/jobs", headers=system.auth_headers, json={"filename": "a.pdf"})
        system.wait_for_job(job_id)
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import httpx

from examples._instrumented import instrumented

__all__ = ["ExampleSystem", "start_system"]

API_TOKEN = "demo-token"
API_USER = "user-0001"
_TERMINAL = ("completed", "failed")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class ExampleSystem:
    """The running system: its URLs, where each process writes its JSON log lines, and the processes."""

    api_url: str
    webhook_url: str
    camber_url: str
    log_dir: Path
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    _logs: list[IO[bytes]] = field(default_factory=list)
    auth_headers: dict[str, str] = field(default_factory=lambda: {"Authorization": f"Bearer {API_TOKEN}"})

    def log_files(self) -> list[Path]:
        """Every JSON-lines file written so far: api.jsonl, webhook.jsonl, worker-<n>.jsonl."""
        return sorted(self.log_dir.glob("*.jsonl"))

    def wait_for_job(self, job_id: str, *, timeout: float = 30) -> dict[str, Any]:
        """Poll ``GET /jobs/{job_id}`` until the job is completed or failed; returns the final body."""
        deadline = time.monotonic() + timeout
        while True:
            body = httpx.get(f"{self.api_url}/jobs/{job_id}", headers=self.auth_headers, timeout=10).json()
            if body.get("status") in _TERMINAL:
                return body
            if time.monotonic() > deadline:
                raise TimeoutError(f"job {job_id} still {body.get('status')!r} after {timeout} s")
            time.sleep(0.1)

    def start(self, name: str, command: list[str], env: dict[str, str], *, log_name: str = "") -> None:
        """Start one process with its stdout (and stderr) appended to ``log_dir/<log_name>``."""
        log = open(self.log_dir / (log_name or f"{name}.jsonl"), "ab")  # noqa: SIM115 -- closed by stop()
        self._logs.append(log)
        errors = subprocess.STDOUT if log_name else None
        self.processes[name] = subprocess.Popen(command, stdout=log, stderr=errors, env=env, cwd=self.log_dir)

    def wait_until(self, predicate: Callable[[], bool], *, timeout: float = 20) -> bool:
        """Poll ``predicate`` until it is true (True) or ``timeout`` seconds pass (False)."""
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                return False
            time.sleep(0.1)
        return True

    def stop(self) -> None:
        """SIGTERM every process (so each flushes its telemetry), wait for it, close the log files."""
        for process in self.processes.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.processes.values():
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        for log in self._logs:
            log.close()


def _wait_ready(url: str, process: subprocess.Popen[bytes], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{url} exited with status {process.returncode} before it was ready")
        with contextlib.suppress(httpx.TransportError):
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return
        time.sleep(0.05)
    raise TimeoutError(f"{url}/healthz did not answer within {timeout} s")


@contextlib.contextmanager
def start_system(
    *,
    otlp_endpoint: str | None,
    log_dir: Path,
    pool_size: int = 1,
    env: Mapping[str, str] | None = None,
    ready_timeout: float = 30,
) -> Iterator[ExampleSystem]:
    """Start api, webhook and the job platform (with its worker pool); stop them all on exit.

    Args:
        otlp_endpoint: base OTLP/HTTP endpoint for every service (``OTEL_EXPORTER_OTLP_ENDPOINT``), or
            ``None`` to export nothing (JSON logs only).
        log_dir: where each process's stdout goes (``<name>.jsonl``) and the example's SQLite file lives.
        pool_size: reusable worker processes in the platform's pool (warm after their first job).
        env: extra environment for every process (e.g. ``LOG_LEVEL``, ``OTEL_*``), winning over defaults.
    """
    log_dir.mkdir(parents=True, exist_ok=True)
    ports = {name: _free_port() for name in ("api", "webhook", "camber")}
    urls = {name: f"http://127.0.0.1:{port}" for name, port in ports.items()}
    base = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(Path(__file__).resolve().parent.parent),
                                                    os.environ.get("PYTHONPATH")])),
        "EXAMPLE_DB": str(log_dir / "jobs.sqlite3"),
        "EXAMPLE_API_TOKENS": f"{API_TOKEN}:{API_USER}",
        "CAMBER_URL": urls["camber"],
        "CAMBER_PORT": str(ports["camber"]),
        "CAMBER_WEBHOOK_URL": f"{urls['webhook']}/webhooks/camber",
        "CAMBER_WEBHOOK_SECRET": "example-webhook-secret",
        "CAMBER_POOL_SIZE": str(pool_size),
        "CAMBER_LOG_DIR": str(log_dir),
        "OTEL_BSP_SCHEDULE_DELAY": "200",
        "OTEL_BLRP_SCHEDULE_DELAY": "200",
        "OTEL_METRIC_EXPORT_INTERVAL": "1000",
    }
    if otlp_endpoint is None:
        base.update(OTEL_TRACES_EXPORTER="none", OTEL_METRICS_EXPORTER="none", OTEL_LOGS_EXPORTER="none")
    else:
        base["OTEL_EXPORTER_OTLP_ENDPOINT"] = otlp_endpoint
    base.update(env or {})
    services = {
        name: instrumented("-m", "uvicorn", f"examples.{name}:app", "--host", "127.0.0.1",
                            "--port", str(ports[name]), "--no-access-log")
        for name in ("webhook", "api")
    }
    system = ExampleSystem(urls["api"], urls["webhook"], urls["camber"], log_dir)
    try:
        for name, command in services.items():
            identity = {"RYTHMIQ_SERVICE": name, "OTEL_SERVICE_NAME": f"rythmiq-{name}"}
            system.start(name, command, {**base, **identity})
        system.start("camber", [sys.executable, "-m", "examples.camber"], base, log_name="camber.out")
        for name, process in system.processes.items():
            _wait_ready(urls[name], process, ready_timeout)
        yield system
    finally:
        system.stop()


def main() -> None:
    """``python -m examples.run [--otlp-endpoint URL] [--log-dir DIR]``: run until Ctrl-C."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--otlp-endpoint", default=os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT"))
    parser.add_argument("--log-dir", type=Path, default=None)
    parser.add_argument("--pool-size", type=int, default=2)
    args = parser.parse_args()
    log_dir = args.log_dir or Path(tempfile.mkdtemp(prefix="rythmiq-example-"))
    with start_system(otlp_endpoint=args.otlp_endpoint, log_dir=log_dir, pool_size=args.pool_size) as system:
        print(f"api      {system.api_url}  (Authorization: Bearer {API_TOKEN})")
        print(f"webhook  {system.webhook_url}")
        print(f"camber   {system.camber_url}")
        print(f"logs     {log_dir}")
        with contextlib.suppress(KeyboardInterrupt):
            signal.pause()


if __name__ == "__main__":
    main()
