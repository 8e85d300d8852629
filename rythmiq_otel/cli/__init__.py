"""The ``rythmiq-otel`` command: a thin dispatcher over the two halves.

Each ``_<area>.py`` module registers its subcommands with ``register(subparsers)`` and imports its half
only when one of its commands runs, so ``rythmiq-otel --help`` stays fast and the sink never loads the SDK.
A handler returns the process exit status; a ``CommandError`` becomes one line on stderr and exit 2.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from . import _alerts, _collector, _dashboard, _distro, _sink, _store
from ._errors import CommandError

__all__ = ["CommandError", "main"]

_AREAS = (_store, _sink, _distro, _collector, _dashboard, _alerts)


def build_parser() -> argparse.ArgumentParser:
    """Return the full argument parser with every area's subcommands registered."""
    parser = argparse.ArgumentParser(
        prog="rythmiq-otel",
        description="OpenTelemetry distribution for Rythmiq One: instrument services, run the store.",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for area in _AREAS:
        area.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.handler(args) or 0)
    except CommandError as err:
        print(f"rythmiq-otel {args.command}: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
