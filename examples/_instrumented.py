"""The command line that runs a Python module of the example under the distro: ``rythmiq-otel instrument``."""

from __future__ import annotations

import sys


def instrumented(*arguments: str) -> list[str]:
    """``python -m rythmiq_otel instrument -- python <arguments>`` with this interpreter (no PATH lookup)."""
    return [sys.executable, "-m", "rythmiq_otel", "instrument", "--", sys.executable, *arguments]
