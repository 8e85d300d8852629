"""``rythmiq-otel up`` serves the dashboards beside the sink and says how to log in; ``rythmiq-otel
dashboard`` serves them alone. Real processes, the embedded PostgreSQL, real HTTP."""

from __future__ import annotations

import os
import re
import shutil
import socket
import stat
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from rythmiq_otel.store import _embedded

ROOT = Path(__file__).parents[2]

pytestmark = pytest.mark.slow


@pytest.fixture
def data_dir() -> Iterator[Path]:
    # Not pytest's tmp_path: its parents are private to root, and the embedded server runs as its own user.
    path = Path(tempfile.mkdtemp(prefix="rythmiq-dashboard-up-"))
    yield path
    _embedded.stop(path / "postgres")
    shutil.rmtree(path, ignore_errors=True)


def _start(args: list[str], env: dict[str, str], until: str) -> tuple[subprocess.Popen, list[str]]:
    proc = subprocess.Popen([sys.executable, "-m", "rythmiq_otel", *args], env=env, cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines: list[str] = []
    assert proc.stdout is not None
    while not any(line.startswith(until) for line in lines):
        line = proc.stdout.readline()
        assert line, f"{args[0]} exited early: {lines}"
        lines.append(line.strip())
    return proc, lines


def _dashboard_url(lines: list[str]) -> str:
    match = next(re.match(r"dashboard: (http://\S+)/operations", line) for line in lines
                 if line.startswith("dashboard: http"))
    assert match is not None
    return match[1]


def test_up_serves_the_dashboards_with_a_kept_token(data_dir: Path) -> None:
    env = {k: v for k, v in os.environ.items()
           if k not in ("RYTHMIQ_SINK_TOKEN", "DATABASE_URL", "RYTHMIQ_DASHBOARD_TOKEN")}
    env |= {"RYTHMIQ_DATA_DIR": str(data_dir), "RYTHMIQ_DASHBOARD_PORT": "0"}
    proc, lines = _start(["up", "--port", "0"], env, "export OTEL_EXPORTER_OTLP_HEADERS")
    try:
        url = _dashboard_url(lines)
        kept = data_dir / "dashboard-token"
        token = kept.read_text().strip()
        assert stat.S_IMODE(kept.stat().st_mode) == 0o600
        assert any(f"token {token} (kept in {kept}" in line for line in lines)
        assert httpx.get(f"{url}/operations").status_code == 303
        assert httpx.get(f"{url}/operations.json").status_code == 401
        page = httpx.get(f"{url}/operations.json", headers={"Authorization": f"Bearer {token}"}, timeout=30)
        assert page.status_code == 200
        assert page.json()["panels"]["jobs"]["rows"] == [{"jobs": 0, "previous": 0}]
    finally:
        proc.terminate()
        rest, _ = proc.communicate(timeout=60)
    assert rest.strip().endswith("postgres: stopped")

    # The standalone command reuses the kept token, and starts the embedded server it needs.
    dashboard, lines = _start(["dashboard", "--port", "0"], env, "dashboard: log in")
    try:
        url = _dashboard_url(lines)
        empty = httpx.get(f"{url}/cost", headers={"Authorization": f"Bearer {token}"}, timeout=30)
        assert empty.status_code == 200 and "No cpu_metrics rows in this month" in empty.text
    finally:
        dashboard.terminate()
        dashboard.communicate(timeout=60)


def test_a_port_in_use_does_not_take_up_down(data_dir: Path) -> None:
    with socket_in_use() as port:
        env = {k: v for k, v in os.environ.items() if k not in ("RYTHMIQ_SINK_TOKEN", "DATABASE_URL")}
        env |= {"RYTHMIQ_DATA_DIR": str(data_dir), "RYTHMIQ_DASHBOARD_PORT": str(port)}
        proc, lines = _start(["up", "--port", "0"], env, "export OTEL_EXPORTER_OTLP_HEADERS")
        proc.terminate()
        proc.communicate(timeout=60)
        assert f"dashboard: not started: cannot listen on 127.0.0.1:{port} (Address already in use);" \
               " set RYTHMIQ_DASHBOARD_PORT" in lines, lines
        refused = subprocess.run([sys.executable, "-m", "rythmiq_otel", "dashboard", "--port", str(port)],
                                 env=env, cwd=ROOT, capture_output=True, text=True, timeout=60, check=False)
        assert refused.returncode == 2
        assert f"cannot listen on 127.0.0.1:{port}" in refused.stderr
        assert "RYTHMIQ_DASHBOARD_PORT" in refused.stderr


@contextmanager
def socket_in_use() -> Iterator[int]:
    """A port something already listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(1)
        yield sock.getsockname()[1]
