"""The collector as a real child process: ephemeral localhost ports, its own queue dir, health and metrics.

Ports are chosen once per :class:`CollectorProcess` and kept across restarts, so a restarted collector
comes back where its clients and its (persistent) queue expect it.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

_SAMPLE = re.compile(r"^(?P<name>[a-zA-Z_:][\w:]*)(?:\{(?P<labels>[^}]*)\})?\s+(?P<value>\S+)$")
_LABEL = re.compile(r'(\w+)="([^"]*)"')
EMIT = Path(__file__).with_name("_emit.py")


def free_ports(count: int) -> list[int]:
    """``count`` different TCP ports on 127.0.0.1 that nothing listens on right now (all bound at once, so
    none is handed out twice)."""
    sockets = [socket.socket() for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [int(sock.getsockname()[1]) for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def free_port() -> int:
    """A TCP port on 127.0.0.1 nothing listens on right now."""
    return free_ports(1)[0]


def wait_healthy(port: int, process: subprocess.Popen[bytes], timeout: float) -> bool:
    """Poll the health check on ``port`` until it answers 200 (True), ``process`` exits or ``timeout``
    seconds pass (False)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and process.poll() is None:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=1) as answer:
                if answer.status == 200:
                    return True
        except OSError:  # not listening yet, or not healthy yet (urllib's errors are OSErrors)
            pass
        time.sleep(0.1)
    return False


class CollectorProcess:
    """One collector on ``configs`` exporting to ``sink_url``, with fast retries for tests."""

    def __init__(
        self,
        binary: Path,
        configs: Sequence[Path],
        *,
        sink_url: str,
        storage_dir: Path,
        log_path: Path,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.binary = binary
        self.configs = list(configs)
        self.log_path = log_path
        self.grpc_port, self.http_port, self.health_port, self.metrics_port = free_ports(4)
        self.env = {
            **{key: value for key, value in os.environ.items() if not key.startswith(("RYTHMIQ_", "OTEL_"))},
            "RYTHMIQ_SINK_ENDPOINT": sink_url,
            "RYTHMIQ_SINK_TOKEN": "collector-test-token",
            "RYTHMIQ_COLLECTOR_STORAGE_DIR": str(storage_dir),
            "RYTHMIQ_COLLECTOR_GRPC_ENDPOINT": f"127.0.0.1:{self.grpc_port}",
            "RYTHMIQ_COLLECTOR_HTTP_ENDPOINT": f"127.0.0.1:{self.http_port}",
            "RYTHMIQ_COLLECTOR_HEALTH_ENDPOINT": f"127.0.0.1:{self.health_port}",
            "RYTHMIQ_COLLECTOR_METRICS_PORT": str(self.metrics_port),
            "RYTHMIQ_COLLECTOR_RETRY_INITIAL_INTERVAL": "200ms",
            "RYTHMIQ_COLLECTOR_RETRY_MAX_INTERVAL": "1s",
            **(env or {}),
        }
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def otlp_http_url(self) -> str:
        """Where services send OTLP/HTTP."""
        return f"http://127.0.0.1:{self.http_port}"

    def start(self, timeout: float = 30.0) -> CollectorProcess:
        """Start the collector and wait until its health check answers 200."""
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [str(self.binary), *(f"--config={path}" for path in self.configs)],
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        if wait_healthy(self.health_port, self.process, timeout):
            return self
        if self.process.poll() is not None:
            raise RuntimeError(f"collector exited with {self.process.returncode}: {self.log_tail()}")
        self.kill()
        raise RuntimeError(f"collector not healthy after {timeout} s: {self.log_tail()}")

    def kill(self) -> None:
        """SIGKILL: no shutdown hooks, no flush -- what a crash or the OOM killer does."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)

    def log_tail(self, chars: int = 2000) -> str:
        """The end of the collector's own log, for failure messages."""
        return self.log_path.read_text(errors="replace")[-chars:]

    def metric(self, name: str, **labels: str) -> float:
        """One of the collector's own metrics (Prometheus text), summed over the samples with ``labels``."""
        with urllib.request.urlopen(f"http://127.0.0.1:{self.metrics_port}/metrics", timeout=5) as answer:
            text = answer.read().decode()
        total = 0.0
        for line in text.splitlines():
            match = _SAMPLE.match(line)
            if match is None or match["name"] != name:
                continue
            sample_labels = dict(_LABEL.findall(match["labels"] or ""))
            if all(sample_labels.get(key) == value for key, value in labels.items()):
                total += float(match["value"])
        return total

    def wait_for_metric(self, name: str, minimum: float, timeout: float = 30.0, **labels: str) -> float:
        """Poll until metric ``name`` (with ``labels``) reaches ``minimum``; returns the last value."""
        deadline = time.monotonic() + timeout
        value = 0.0
        while time.monotonic() < deadline:
            value = self.metric(name, **labels)
            if value >= minimum:
                return value
            time.sleep(0.2)
        raise AssertionError(f"{name}{labels or ''} stayed at {value} (< {minimum}) for {timeout} s")


#: The ``start_collector`` fixture: ``start(configs, sink_url, *, name=..., **env) -> CollectorProcess``.
CollectorFactory = Callable[..., CollectorProcess]


def emit(spec_path: Path, endpoint: str, timeout: float = 60.0) -> None:
    """Run the real SDK client of ``_emit.py`` against ``endpoint`` and require it to succeed."""
    result = subprocess.run(
        [sys.executable, str(EMIT), str(spec_path), endpoint],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
