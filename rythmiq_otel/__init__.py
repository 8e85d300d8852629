"""rythmiq-otel: the OpenTelemetry distribution for Rythmiq One.

The in-process API (``configure``, the spec's logger factory, correlation and payload helpers) is
re-exported here lazily, so importing ``rythmiq_otel.store`` (the sink) never loads the OpenTelemetry SDK.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

# Public name -> module that defines it. The in-process half's own __all__ is the source of truth; a test
# checks the two agree.
_DISTRO_EXPORTS: tuple[str, ...] = ()


def __getattr__(name: str) -> Any:
    if name in _DISTRO_EXPORTS:
        return getattr(importlib.import_module("rythmiq_otel.distro"), name)
    raise AttributeError(f"module 'rythmiq_otel' has no attribute {name!r}")


__all__ = ["__version__"]  # plus every name in _DISTRO_EXPORTS, listed literally
