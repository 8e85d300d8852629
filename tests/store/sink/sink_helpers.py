"""Helpers of the sink tests: a real HTTP server around a sink app, a sink process, waiting."""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import uvicorn
from starlette.applications import Starlette

from rythmiq_otel.store.sink import SinkSettings

ROOT = Path(__file__).resolve().parents[3]
TOKEN = "test-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@contextmanager
def serve(app: Starlette) -> Iterator[str]:
    """Run ``app`` under uvicorn on 127.0.0.1 with an ephemeral port in a thread; yield its base URL."""
    from rythmiq_otel.store.sink._server import bind

    sock = bind("127.0.0.1", 0)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=lambda: asyncio.run(server.serve(sockets=[sock])), daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


def settings(**overrides: object) -> SinkSettings:
    values: dict[str, object] = {"database_url": "", "token": TOKEN, "retry_after_seconds": 1}
    values.update(overrides)
    return SinkSettings(**values)  # type: ignore[arg-type]


@contextmanager
def sink_process(database_url: str, *extra: str, env: dict[str, str] | None = None) -> Iterator[str]:
    """``rythmiq-otel sink`` as a real process on an ephemeral port; yields its base URL."""
    with sink_popen(database_url, *extra, env=env) as (url, _):
        yield url


@contextmanager
def sink_popen(database_url: str, *extra: str, env: dict[str, str] | None = None,
               ) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    """``sink_process`` that also yields the process (its pid, for memory and CPU readings)."""
    environment = {**os.environ, "DATABASE_URL": database_url, "RYTHMIQ_SINK_TOKEN": TOKEN, **(env or {})}
    proc = subprocess.Popen(
        [sys.executable, "-m", "rythmiq_otel", "sink", "--port", "0", "--maintenance-interval", "0", *extra],
        env=environment, stderr=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=ROOT,
    )
    try:
        assert proc.stderr is not None
        line = proc.stderr.readline()
        match = re.search(r"http://127\.0\.0\.1:\d+", line)
        assert match, f"sink did not start: {line}{proc.stderr.read()}"
        threading.Thread(target=proc.stderr.read, daemon=True).start()
        url = match.group(0)
        wait_until(lambda: _healthy(url), what="sink /healthz")
        yield url, proc
    finally:
        proc.terminate()
        proc.wait(20)


def _healthy(url: str) -> bool:
    try:
        return httpx.get(f"{url}/healthz", timeout=2).status_code == 200
    except httpx.TransportError:
        return False


def wait_until(condition: Callable[[], bool], *, what: str, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)
