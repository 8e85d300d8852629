"""The package resolves together with the common contrib instrumentations, all on one release train.

Requirements that were minimum versions only let pip pick an instrumentation from another train (or an
ancient one) next to ours. This asks a current pip, in a throwaway venv, to resolve the package with
httpx, requests, psycopg, sqlalchemy, redis, logging and system-metrics instrumentations -- a dry run,
nothing installed -- and checks there is no conflict and every OpenTelemetry piece is from one train.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]
CONTRIB = ("httpx", "requests", "psycopg", "sqlalchemy", "redis", "logging", "system-metrics")
# Versioned with the SDK (1.x) rather than with the instrumentation betas (0.x).
STABLE = {
    "opentelemetry-api", "opentelemetry-sdk", "opentelemetry-proto", "opentelemetry-exporter-otlp-proto-http",
    "opentelemetry-exporter-otlp-proto-common", "opentelemetry-exporter-otlp-proto-grpc",
}


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_the_package_resolves_with_the_common_contrib_instrumentations(tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    pip = [str(venv / "bin" / "python"), "-m", "pip", "--disable-pip-version-check"]
    subprocess.run([*pip, "install", "-q", "--upgrade", "pip"], check=True, timeout=300)
    report = tmp_path / "report.json"
    result = subprocess.run(
        [*pip, "install", "--dry-run", "--ignore-installed", "--quiet", "--report", str(report), str(ROOT),
         *(f"opentelemetry-instrumentation-{name}" for name in CONTRIB)],
        capture_output=True, text=True, timeout=300, check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    versions = {
        item["metadata"]["name"].lower(): Version(item["metadata"]["version"])
        for item in json.loads(report.read_text())["install"]
        if item["metadata"]["name"].lower().startswith("opentelemetry")
    }
    assert {f"opentelemetry-instrumentation-{name}" for name in CONTRIB} <= set(versions)
    stable = {name: v for name, v in versions.items() if name in STABLE}
    betas = {name: v for name, v in versions.items() if name not in STABLE}
    # one train: the SDK's minor line and the one beta release every contrib package pins exactly
    assert len({(v.major, v.minor) for v in stable.values()}) == 1, stable
    assert len(set(betas.values())) == 1, betas
    assert {(v.major, v.minor) for v in stable.values()} == {(1, 45)}
    assert {(v.major, v.minor) for v in betas.values()} == {(0, 66)}
