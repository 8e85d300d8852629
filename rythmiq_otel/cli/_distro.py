"""Subcommands of the distro area: ``instrument`` (run a command with the hook) and ``doctor``.

``rythmiq-otel instrument -- CMD ...`` works like ``opentelemetry-instrument``: it puts the package's
sitecustomize directory first on PYTHONPATH (the user's PYTHONPATH stays after it) and replaces itself
with the command, so the command and every Python child it starts (uvicorn and gunicorn workers,
multiprocessing) run ``initialize()`` at interpreter start and pick up the rythmiq-otel distro.
"""

from __future__ import annotations

import argparse
import os
import shutil
from pathlib import Path

from ._errors import CommandError

_AUTO_DIR = str(Path(__file__).resolve().parent.parent / "distro" / "auto")


def register(subparsers: argparse._SubParsersAction) -> None:
    """Register ``instrument`` and ``doctor``."""
    instrument = subparsers.add_parser(
        "instrument",
        help="run a command with rythmiq-otel auto-instrumentation",
        description="Run CMD with the rythmiq-otel sitecustomize hook first on PYTHONPATH.",
    )
    # dest "argv": the dispatcher's own "command" attribute holds the subcommand name.
    instrument.add_argument("argv", nargs=argparse.REMAINDER, metavar="-- CMD ...")
    instrument.set_defaults(handler=_instrument)

    doctor = subparsers.add_parser(
        "doctor",
        help="print the effective configuration and check the OTLP endpoint answers",
        description="Print the configuration a service would use here (secrets masked), probe the endpoints.",
    )
    doctor.set_defaults(handler=_doctor)


def instrumented_pythonpath(current: str | None) -> str:
    """PYTHONPATH with the hook directory first and the user's entries after it (no duplicates of ours)."""
    entries = [entry for entry in (current or "").split(os.pathsep) if entry and entry != _AUTO_DIR]
    return os.pathsep.join([_AUTO_DIR, *entries])


def _instrument(args: argparse.Namespace) -> int:
    command = list(args.argv)
    if command[:1] == ["--"]:
        command = command[1:]
    if not command:
        raise CommandError("instrument needs a command, e.g. `rythmiq-otel instrument -- python app.py`.")
    executable = shutil.which(command[0])
    if executable is None:
        raise CommandError(f"cannot run {command[0]!r}: no such executable on PATH.")
    os.environ["PYTHONPATH"] = instrumented_pythonpath(os.environ.get("PYTHONPATH"))
    # Pick our distro and configurator even when other distros are installed alongside.
    os.environ.setdefault("OTEL_PYTHON_DISTRO", "rythmiq_otel")
    os.environ.setdefault("OTEL_PYTHON_CONFIGURATOR", "rythmiq_otel")
    os.execv(executable, [command[0], *command[1:]])
    return 0  # not reached: execv replaces the process


def _doctor(args: argparse.Namespace) -> int:
    from rythmiq_otel.distro.setup._doctor import describe, probe
    from rythmiq_otel.distro.setup._settings import load_settings

    settings = load_settings()
    for line in describe(settings):
        print(line)
    probes = probe(settings)
    for result in probes:
        status = "ok" if result.ok else "FAIL"
        print(f"{status} {result.signal} endpoint {result.endpoint}: {result.detail}")
    return 0 if all(result.ok for result in probes) else 1
