"""Subcommands of the distro area: ``instrument`` (run a command with the hook) and ``doctor``.

``rythmiq-otel instrument -- CMD ...`` works like ``opentelemetry-instrument``: it puts the package's
sitecustomize directory first on PYTHONPATH (the user's PYTHONPATH stays after it) and replaces itself
with the command, so the command and every Python child it starts (uvicorn and gunicorn workers,
multiprocessing) run ``initialize()`` at interpreter start and pick up the rythmiq-otel distro.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
from pathlib import Path

from ._errors import CommandError

_AUTO_DIR = str(Path(__file__).resolve().parent.parent / "distro" / "auto")


def register(subparsers: argparse._SubParsersAction) -> None:
    """Register ``instrument`` and ``doctor``."""
    instrument = subparsers.add_parser(
        "instrument",
        help="run a command with rythmiq-otel auto-instrumentation",
        description="Run CMD with the rythmiq-otel sitecustomize hook first on PYTHONPATH. Accepts "
        "opentelemetry-instrument's options before CMD (--traces_exporter console, --service_name x, ...).",
        # Every "-" word is ours to read (upstream's options, then the command's own): argparse sees none.
        prefix_chars="+",
        add_help=False,
    )
    # dest "argv": the dispatcher's own "command" attribute holds the subcommand name.
    instrument.add_argument("argv", nargs=argparse.REMAINDER, metavar="[--otel_option VALUE] [--] CMD")
    instrument.set_defaults(handler=_instrument, usage=instrument.format_help)

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


def upstream_options() -> dict[str, str]:
    """``opentelemetry-instrument``'s options: ``--traces_exporter`` -> ``OTEL_TRACES_EXPORTER``, and so on.

    Built as upstream builds them (every ``OTEL_*`` name of the ``opentelemetry_environment_variables``
    entry points, ``OTEL_`` / ``OTEL_PYTHON_`` dropped, lower-cased), so one command line works with either.
    """
    from importlib import import_module
    from importlib.metadata import entry_points

    options: dict[str, str] = {}
    for entry_point in entry_points(group="opentelemetry_environment_variables"):
        module = import_module(entry_point.value)
        for name in dir(module):
            if name.startswith("OTEL_"):
                options[re.sub(r"^OTEL_(PYTHON_)?", "", name).lower()] = name
    return options


def split_options(argv: list[str]) -> tuple[dict[str, str], list[str]]:
    """The environment the leading ``--option value`` / ``--option=value`` pairs set, and the command."""
    options: dict[str, str] | None = None
    environment: dict[str, str] = {}
    rest = list(argv)
    while rest and rest[0].startswith("--") and rest[0] != "--":
        flag, has_value, value = rest.pop(0)[2:].partition("=")
        options = upstream_options() if options is None else options
        if flag not in options:
            raise CommandError(
                f"unknown option --{flag}; expected an opentelemetry-instrument option such as "
                "--traces_exporter or --service_name, then the command."
            )
        if not has_value:
            if not rest:
                raise CommandError(f"option --{flag} needs a value.")
            value = rest.pop(0)
        environment[options[flag]] = value
    if rest[:1] == ["--"]:
        rest = rest[1:]
    return environment, rest


def _instrument(args: argparse.Namespace) -> int:
    if args.argv[:1] in (["-h"], ["--help"]):
        print(args.usage())
        return 0
    environment, command = split_options(list(args.argv))
    os.environ.update(environment)
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
