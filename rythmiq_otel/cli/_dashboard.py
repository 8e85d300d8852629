"""Subcommands of the operator side: ``dashboard`` (the pages, read-only) and ``grafana`` (export).

``rythmiq-otel dashboard`` reads ``RYTHMIQ_DASHBOARD_*`` (see
``rythmiq_otel/console/dashboards/_settings.py``) and the store's ``DATABASE_URL`` / ``RYTHMIQ_DATA_DIR``;
flags override the environment. ``up`` starts the same server beside the sink through :func:`beside_sink`.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

from ._errors import CommandError, guarded


def register(subparsers: argparse._SubParsersAction) -> None:
    """Register ``dashboard`` and ``grafana``."""
    dashboard = subparsers.add_parser(
        "dashboard", help="serve the operations, cost and product dashboards and the job trace page"
    )
    dashboard.add_argument("--host", help="interface to bind (env RYTHMIQ_DASHBOARD_HOST, default 127.0.0.1)")
    dashboard.add_argument("--port", type=int,
                           help="TCP port, 0 for any (env RYTHMIQ_DASHBOARD_PORT, default 4321)")
    dashboard.set_defaults(handler=_dashboard)

    grafana = subparsers.add_parser(
        "grafana", help="write the dashboards as Grafana JSON + provisioning files (PostgreSQL data source)"
    )
    grafana.add_argument("--out", type=Path, required=True,
                         help="directory to write into (created if missing)")
    grafana.set_defaults(handler=_grafana)


def _dashboard(args: argparse.Namespace) -> int:
    from rythmiq_otel.console.dashboards._server import serve
    from rythmiq_otel.console.dashboards._settings import load_dashboard_settings
    from rythmiq_otel.store import resolve_database_url

    settings = guarded(lambda: load_dashboard_settings(host=args.host, port=args.port))
    url = guarded(lambda: resolve_database_url(start=True))
    try:
        serve(settings, url, say=lambda line: print(line, flush=True))
    except OSError as err:
        raise CommandError(f"cannot listen on {settings.host}:{settings.port} ({err.strerror}); set another"
                           " with --port or RYTHMIQ_DASHBOARD_PORT") from err
    return 0


def beside_sink(say: Callable[[str], None]) -> Callable[[str], Callable[[], None]]:
    """What ``up`` starts next to the sink, given the database URL: the alert loop and the dashboard
    server, each on a thread. Returns how to stop them. One that cannot start (port in use, bad setting)
    is reported in one line and does not take the store down with it."""

    def start(database_url: str) -> Callable[[], None]:
        from ._alerts import start_beside_sink as start_alerts

        stop_alerts = start_alerts(database_url, say)
        stop_dashboard = _start_dashboard(database_url, say)

        def stop() -> None:
            stop_alerts()
            stop_dashboard()

        return stop

    return start


def _start_dashboard(database_url: str, say: Callable[[str], None]) -> Callable[[], None]:
    from rythmiq_otel.console.dashboards._server import DashboardThread
    from rythmiq_otel.console.dashboards._settings import load_dashboard_settings
    from rythmiq_otel.store import StoreError

    try:
        settings = load_dashboard_settings()
    except (StoreError, OSError) as err:  # a bad variable, or a data directory it cannot write
        say(f"dashboard: not started: {err}")
        return lambda: None
    try:
        server = DashboardThread(settings, database_url)
    except OSError as err:
        say(f"dashboard: not started: cannot listen on {settings.host}:{settings.port} ({err.strerror});"
            " set RYTHMIQ_DASHBOARD_PORT")
        return lambda: None
    for line in server.start():
        say(line)
    return server.stop


def _grafana(args: argparse.Namespace) -> int:
    from rythmiq_otel.console.dashboards._grafana import write_provisioning

    for path in write_provisioning(args.out):
        print(f"wrote {path}")
    return 0
