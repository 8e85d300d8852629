"""The demo's processes: each child in its own session, stopped with nothing left behind; port checks.

Why sessions: a Ctrl-C at the terminal goes to the whole foreground process group. With every child in a
session of its own, only the demo gets it, and it can stop the children in the order that loses no
telemetry (services, then collector, then store). Why the checks: a port already taken would otherwise
surface as a child's traceback in a log file; here it is one line naming the variable to change.
"""

from __future__ import annotations

import contextlib
import os
import queue
import signal
import socket
import subprocess
import threading
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path


class DemoError(Exception):
    """A failure the user can act on: printed as one line, exit status 2."""


class Child:
    """One child process in its own session, its output (stdout and stderr) copied to a log file.

    A reader thread keeps the last lines (for a one-line reason when the child fails) and, until the child
    is ready, hands every line to ``wait_for`` so start-up can follow what the child says.
    """

    def __init__(self, name: str, argv: list[str], env: dict[str, str], log_path: Path) -> None:
        self.name, self.log_path = name, log_path
        self.tail: deque[str] = deque(maxlen=40)
        self._lines: queue.Queue[str | None] = queue.Queue()
        self._starting = True
        self.process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env,
                                        start_new_session=True)
        self._reader = threading.Thread(target=self._read, name=f"{name}-output", daemon=True)
        self._reader.start()

    def _read(self) -> None:
        """Copy the output to the log until the child (and everything holding its pipe) is gone; the log
        belongs to this thread alone, so ``stop`` never closes it under a write."""
        assert self.process.stdout is not None
        with self.log_path.open("ab") as log:
            for raw in self.process.stdout:
                log.write(raw)
                log.flush()
                line = raw.decode(errors="replace").rstrip()
                self.tail.append(line)
                if self._starting:
                    self._lines.put(line)
        self._lines.put(None)

    def wait_for(self, ready: Callable[[str], bool], timeout: float,
                 on_line: Callable[[str], None] = lambda line: None) -> str:
        """Read the child's lines until ``ready(line)``; each one goes to ``on_line`` on the way."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                line = self._lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                raise DemoError(f"{self.name} did not start within {timeout:.0f} s "
                                f"(see {self.log_path})") from None
            if line is None:
                with contextlib.suppress(subprocess.TimeoutExpired):
                    self.process.wait(timeout=5)  # its output ended: let its exit status be known
                raise DemoError(f"{self.name} exited during start-up: {self.last_words()}")
            on_line(line)
            if ready(line):
                self._starting = False
                return line

    def last_words(self) -> str:
        """The child's last error line (or last line), cut to one screen line."""
        lines = [line.strip() for line in self.tail if line.strip()]
        errors = [line for line in lines if "error" in line.lower() or line.startswith("rythmiq-otel")]
        last = (errors or lines or [f"no output, exit status {self.process.poll()}"])[-1]
        return last if len(last) <= 300 else last[:297] + "..."

    def check_alive(self) -> None:
        if self.process.poll() is not None:
            raise DemoError(f"{self.name} stopped unexpectedly: {self.last_words()} (see {self.log_path})")

    def stop(self, sig: signal.Signals = signal.SIGTERM, timeout: float = 30) -> None:
        """Ask the child to stop (``sig``) and wait ``timeout`` s; then leave nothing of its process group.

        The group holds the child's own children too (the services' api, webhook, platform and workers):
        they get a few seconds to finish after the child is gone, then whatever is left is killed, so even
        a child that ignores ``sig`` or dies first orphans nothing.
        """
        if self.process.poll() is None:
            self.process.send_signal(sig)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=timeout)
        group = self.process.pid  # start_new_session: the child leads its own group
        deadline = time.monotonic() + (5 if self.process.poll() is not None else 0)
        while _group_alive(group) and time.monotonic() < deadline:
            time.sleep(0.1)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(group, signal.SIGKILL)
        self.process.wait()
        self._reader.join(timeout=5)


def _group_alive(group: int) -> bool:
    try:
        os.killpg(group, 0)
    except ProcessLookupError:
        return False
    return True


def _check_port(variable: str, value: str, what: str) -> None:
    """Fail with one line when the port in ``value`` (``port`` or ``host:port``, as ``variable`` holds it)
    cannot be bound, before a child fails with a traceback; the line suggests another value to set."""
    host, _, port_text = value.strip().rpartition(":")
    try:
        port = int(port_text)
    except ValueError:
        raise DemoError(f"{variable}={value!r} is not a port or host:port") from None
    if port == 0:
        return
    bind_host = "127.0.0.1" if host in ("", "localhost") else host.strip("[]")
    with socket.socket(socket.AF_INET6 if ":" in bind_host else socket.AF_INET) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the servers do: TIME_WAIT is fine
        try:
            probe.bind((bind_host, port))
        except OSError as err:
            other = port + 10000 if port + 10000 <= 65535 else port - 10000
            suggestion = f"{host}:{other}" if host else str(other)
            raise DemoError(f"port {port} ({what}) is not free ({err.strerror}); set another, e.g. "
                            f"{variable}={suggestion}, or stop what is using it") from None


# (variable, default, what) of every port the run listens on; the services take free ones themselves
_SINK_PORT = ("RYTHMIQ_SINK_PORT", "4320", "sink")
_COLLECTOR_PORTS = (  # the sidecar config's listeners, see collector/README.md
    ("RYTHMIQ_COLLECTOR_HTTP_ENDPOINT", "localhost:4318", "collector OTLP/HTTP"),
    ("RYTHMIQ_COLLECTOR_GRPC_ENDPOINT", "localhost:4317", "collector OTLP/gRPC"),
    ("RYTHMIQ_COLLECTOR_HEALTH_ENDPOINT", "localhost:13133", "collector health check"),
    ("RYTHMIQ_COLLECTOR_METRICS_PORT", "8888", "collector metrics"),
)


def check_ports(env: dict[str, str], *, collector: bool) -> None:
    """Every port the run will listen on, checked before anything starts."""
    for variable, default, what in (_SINK_PORT, *(_COLLECTOR_PORTS if collector else ())):
        _check_port(variable, env.get(variable, default), what)
