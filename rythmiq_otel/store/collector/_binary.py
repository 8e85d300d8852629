"""Find the collector binary and drive it: ``validate`` a config, or the argv and environment of ``run``."""

from __future__ import annotations

import os
import socket
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from ._build import cached_binary
from ._errors import CollectorError
from ._settings import (
    RYTHMIQ_COLLECTOR_BIN,
    RYTHMIQ_COLLECTOR_HOST_NAME,
    RYTHMIQ_COLLECTOR_STORAGE_DIR,
    binary_override,
    default_storage_dir,
)

MISSING_BINARY = (
    "no collector binary: run `rythmiq-otel collector build` (needs Go) or set "
    f"{RYTHMIQ_COLLECTOR_BIN} to an otelcol-contrib >= 0.161.0 binary"
)
_MAX_REASON = 400
_NESTED = "decoding failed due to the following error(s):"


@dataclass(frozen=True)
class CollectorBinary:
    """A runnable collector and where it came from (our cached build, or ``RYTHMIQ_COLLECTOR_BIN``)."""

    path: Path
    source: Literal["build", "env"]


def find_binary(env: Mapping[str, str] | None = None) -> CollectorBinary | None:
    """The collector to run, or ``None`` when nothing is built and no override is set.

    Raises:
        CollectorError: ``RYTHMIQ_COLLECTOR_BIN`` is set but names no executable file.
    """
    override = binary_override(env)
    if override is not None:
        if not (override.is_file() and os.access(override, os.X_OK)):
            raise CollectorError(f"{RYTHMIQ_COLLECTOR_BIN}={str(override)!r} is not an executable file")
        return CollectorBinary(override, "env")
    built = cached_binary()
    return CollectorBinary(built, "build") if built.is_file() else None


def require_binary() -> CollectorBinary:
    """Like :func:`find_binary`, but a missing binary is an error that says how to get one."""
    binary = find_binary()
    if binary is None:
        raise CollectorError(MISSING_BINARY)
    return binary


def _config_flags(configs: Sequence[Path]) -> list[str]:
    return [f"--config={path}" for path in configs]


def validate(binary: Path, configs: Sequence[Path]) -> None:
    """Check ``configs`` (merged in order) with the collector's own ``validate`` command.

    This parses every component's settings, OTTL statements included, without opening any port.

    Raises:
        CollectorError: the collector rejected the config; the message carries its first error line.
    """
    missing = [str(path) for path in configs if not path.is_file()]
    if missing:
        raise CollectorError(f"collector config not found: {', '.join(missing)}")
    result = subprocess.run(
        [str(binary), "validate", *_config_flags(configs)],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    if result.returncode != 0:
        names = " + ".join(path.name for path in configs)
        reason = _reason(result.stderr + result.stdout)
        raise CollectorError(f"{names} is not a valid collector config: {reason}")


def _reason(output: str) -> str:
    """The collector's error, nested causes joined on one line, shortened in the middle if huge.

    The collector prints ``Error: <outer>: decoding failed due to the following error(s):`` and then one
    line per nested cause; the innermost (last) names the bad key or statement, so it is always kept.
    """
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    start = next((i for i, line in enumerate(lines) if line.startswith("Error:")), max(len(lines) - 1, 0))
    parts = [line.removeprefix("Error: ").removesuffix(_NESTED).rstrip(": ") for line in lines[start:]]
    reason = ": ".join(part for part in parts if part) or "no output"
    if len(reason) > _MAX_REASON:  # OTTL errors quote whole statements, patterns included
        reason = f"{reason[: _MAX_REASON // 2]} ... {reason[-_MAX_REASON // 2 :]}"
    return reason


def run_argv(binary: Path, configs: Sequence[Path]) -> list[str]:
    """The command line that runs the collector on ``configs``."""
    return [str(binary), *_config_flags(configs)]


def run_env(env: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment for ``collector run``: the caller's, plus defaults a non-root user can live with.

    The config's own queue directory default (``/var/lib/otelcol/rythmiq``) suits a container or a
    service account; from the command line we default to the user data directory instead, and name the
    host, which the config cannot discover by itself.
    """
    merged = dict(os.environ if env is None else env)
    merged.setdefault(RYTHMIQ_COLLECTOR_STORAGE_DIR, str(default_storage_dir()))
    merged.setdefault(RYTHMIQ_COLLECTOR_HOST_NAME, socket.gethostname())
    return merged
