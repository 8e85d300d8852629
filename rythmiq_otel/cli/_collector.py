"""Subcommands of the collector area: ``collector build | validate | run``.

``build`` makes our minimal otelcol distribution (Go required) in a cache directory; ``validate`` checks
a config with that binary; ``run`` starts it in the foreground (it replaces this process, so signals reach
the collector directly). ``--variant`` picks a deployment (sidecar, the agent/gateway tier, or the
Kubernetes node agent) and ``--config`` names config files explicitly. ``RYTHMIQ_COLLECTOR_BIN`` runs
another binary instead, such as upstream ``otelcol-contrib``.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

from ._errors import CommandError, guarded

if TYPE_CHECKING:
    from rythmiq_otel.store.collector import CollectorBinary


def register(subparsers: argparse._SubParsersAction) -> None:
    """Register ``collector build``, ``collector validate`` and ``collector run``."""
    from rythmiq_otel.store.collector import VARIANTS

    collector = subparsers.add_parser("collector", help="build, validate and run the collector sidecar")
    actions = collector.add_subparsers(dest="collector_command", metavar="ACTION", required=True)

    build = actions.add_parser("build", help="build the minimal collector (needs Go); prints its path")
    build.add_argument(
        "--if-go-available",
        action="store_true",
        help="without Go, say the collector tests will skip and exit 0 instead of failing",
    )
    build.add_argument("--force", action="store_true", help="rebuild even when the cache has this manifest")
    build.set_defaults(handler=_build)

    for name, handler, text in (
        ("validate", _validate, "check a collector config with the built binary"),
        ("run", _run, "run the collector in the foreground"),
    ):
        action = actions.add_parser(name, help=text)
        choice = action.add_mutually_exclusive_group()
        choice.add_argument(
            "--variant",
            choices=tuple(VARIANTS),
            default="sidecar",
            help=(
                "which bundled config: the sidecar (default), the agent / gateway of the gateway tier, "
                "or the Kubernetes node agent"
            ),
        )
        choice.add_argument(
            "--config",
            action="append",
            type=Path,
            metavar="PATH",
            help="a config file instead of a bundled variant (repeat to merge several, in order)",
        )
        action.set_defaults(handler=handler)


def _guarded_binary() -> CollectorBinary:
    from rythmiq_otel.store.collector import require_binary

    return guarded(require_binary)


def _configs(args: argparse.Namespace) -> list[Path]:
    from rythmiq_otel.store.collector import config_files

    if args.config:
        return [path.resolve() for path in args.config]
    return guarded(lambda: config_files(args.variant))


def _build(args: argparse.Namespace) -> int:
    from rythmiq_otel.store.collector import CollectorError, build, go_executable

    try:
        result = build(force=args.force)
    except CollectorError as err:
        if args.if_go_available and go_executable() is None:
            print(
                "rythmiq-otel collector build: Go is not installed, so the collector is not built and the "
                "collector tests will skip (install Go to run them)"
            )
            return 0
        raise CommandError(str(err)) from err
    how = f"built in {result.seconds:.0f} s" if result.built else "cached"
    print(f"{result.binary} ({how})")
    return 0


def _validate(args: argparse.Namespace) -> int:
    from rythmiq_otel.store.collector import validate

    binary = _guarded_binary()
    configs = _configs(args)
    guarded(lambda: validate(binary.path, configs))
    print(f"{' + '.join(str(path) for path in configs)}: valid ({binary.path.name})")
    return 0


def _run(args: argparse.Namespace) -> NoReturn:
    from rythmiq_otel.store.collector import run_argv, run_env

    binary = _guarded_binary()
    configs = _configs(args)
    argv = run_argv(binary.path, configs)
    sys.stdout.flush()
    os.execve(argv[0], argv, run_env())
