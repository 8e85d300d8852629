"""Fixtures for the in-process half's tests: the real OTLP receiver and instrumented child processes.

``otlp_capture`` comes from ``tests/otlp_capture.py``; ``instrumented_env`` and ``run_instrumented`` from
``tests/instrumented.py``.
"""

from __future__ import annotations

from tests.instrumented import instrumented_env, run_instrumented
from tests.otlp_capture import otlp_capture

__all__ = ["instrumented_env", "otlp_capture", "run_instrumented"]
