"""Instrumented child processes for tests: the ``rythmiq-otel`` command and the fixtures that run under it.

``instrumented_env`` is an environment that points a child process at the ``otlp_capture`` receiver with
short export delays; ``run_instrumented`` runs Python code under ``rythmiq-otel instrument`` in a real child
process and returns its completed process. Test packages use them by importing the fixtures.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.otlp_capture import OtlpCapture

__all__ = ["RYTHMIQ_OTEL", "instrumented_env", "run_instrumented"]

RYTHMIQ_OTEL = str(Path(sys.executable).with_name("rythmiq-otel"))
# Variables of the developer's shell that would change what a child process does.
_INHERITED_PREFIXES = ("OTEL_", "RYTHMIQ_", "LOG_LEVEL", "ENABLE_METRICS_PERSISTENCE", "PYTHONPATH")


@pytest.fixture
def instrumented_env(otlp_capture: OtlpCapture) -> dict[str, str]:
    """A clean environment exporting to ``otlp_capture`` with sub-second batch delays."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(_INHERITED_PREFIXES)}
    env.update({
        "OTEL_EXPORTER_OTLP_ENDPOINT": otlp_capture.url,
        "OTEL_BSP_SCHEDULE_DELAY": "100",
        "OTEL_BLRP_SCHEDULE_DELAY": "100",
        "OTEL_METRIC_EXPORT_INTERVAL": "200",
        "RYTHMIQ_SERVICE": "worker",
        "PYTHONUNBUFFERED": "1",
    })
    return env


@pytest.fixture
def run_instrumented(
    instrumented_env: dict[str, str],
) -> Callable[..., subprocess.CompletedProcess[str]]:
    """Run ``code`` with ``rythmiq-otel instrument -- python -c code``; extra env entries override."""

    def run(code: str, timeout: float = 30, **env: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [RYTHMIQ_OTEL, "instrument", "--", sys.executable, "-c", code],
            env={**instrumented_env, **env},
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    return run
