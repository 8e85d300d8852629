"""The collector sidecar's tooling: build our minimal otelcol distribution, validate configs, run it.

The configs themselves live in the repository's ``collector/`` directory (shipped in the wheel as
``rythmiq_otel/_collector``). This subpackage only finds them, builds the binary the builder manifest
describes (Go required) and starts it; it imports nothing from the in-process half.

Configured by ``RYTHMIQ_COLLECTOR_DIR`` (build cache) and ``RYTHMIQ_COLLECTOR_BIN`` (use another binary,
such as upstream ``otelcol-contrib``); see ``_settings.py``.
"""

from __future__ import annotations

from ._binary import CollectorBinary, find_binary, require_binary, run_argv, run_env, validate
from ._build import BuildResult, build, go_executable
from ._errors import CollectorError
from ._files import VARIANTS, collector_dir, config_files, manifest_path

__all__ = [
    "VARIANTS",
    "BuildResult",
    "CollectorBinary",
    "CollectorError",
    "build",
    "collector_dir",
    "config_files",
    "find_binary",
    "go_executable",
    "manifest_path",
    "require_binary",
    "run_argv",
    "run_env",
    "validate",
]
