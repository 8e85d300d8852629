"""Subcommands of the store area: ``db start|stop|status|url``, ``migrate [--dry-run]``, ``maintain``.

Configured by ``DATABASE_URL``, ``RYTHMIQ_DATA_DIR`` and ``RYTHMIQ_CPU_BUDGET_HOURS`` (see
``rythmiq_otel/store/_settings.py``). Store imports happen inside the handlers so ``--help`` stays fast.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from ._errors import CommandError, first_line, guarded

if TYPE_CHECKING:
    import psycopg

    from rythmiq_otel.store import StoreSettings

# `db status` exit code when the embedded server is stopped (as `pg_ctl status` and LSB init scripts).
EXIT_NOT_RUNNING = 3


def register(subparsers: argparse._SubParsersAction) -> None:
    """Register ``db``, ``migrate`` and ``maintain``."""
    db = subparsers.add_parser("db", help="manage the embedded PostgreSQL (no-ops when DATABASE_URL is set)")
    actions = db.add_subparsers(dest="db_command", metavar="ACTION", required=True)
    for name, handler, text in (
        ("start", _db_start, "start the embedded server (initialising its data dir on first use)"),
        ("stop", _db_stop, "stop the embedded server, also when the process that started it is gone"),
        ("status", _db_status, "say whether the embedded server runs (exit 3 when stopped)"),
        ("url", _db_url, "print the connection string (psql and psycopg accept it)"),
    ):
        actions.add_parser(name, help=text).set_defaults(handler=handler)

    migrate = subparsers.add_parser("migrate", help="apply pending migrations to the store's database")
    migrate.add_argument("--dry-run", action="store_true", help="list the pending migrations, apply nothing")
    migrate.set_defaults(handler=_migrate)

    maintain = subparsers.add_parser(
        "maintain", help="one maintenance pass: partitions, rollups, retention, view refresh"
    )
    maintain.set_defaults(handler=_maintain)


def _settings() -> StoreSettings:
    from rythmiq_otel.store import load_settings

    return guarded(load_settings)


def _embedded_pgdata(without_it: str) -> Path | None:
    """The embedded server's PGDATA, or ``None`` after saying why it is not used (DATABASE_URL is set)."""
    from rythmiq_otel.store._database_url import redact_url

    settings = _settings()
    if settings.database_url is None:
        return settings.pgdata
    print(f"DATABASE_URL is set ({redact_url(settings.database_url)}); {without_it}")
    return None


def _db_start(args: argparse.Namespace) -> int:
    from rythmiq_otel.store import _embedded

    pgdata = _embedded_pgdata("the store uses that server, so no embedded server is started")
    if pgdata is not None:
        before = guarded(lambda: _embedded.state(pgdata))
        state = guarded(lambda: _embedded.start(pgdata))
        verb = "already running" if before.running else "started"
        print(f"{verb}: PostgreSQL (pid {state.pid}) in {pgdata}")
        print(state.url())
    return 0


def _db_stop(args: argparse.Namespace) -> int:
    from rythmiq_otel.store import _embedded

    pgdata = _embedded_pgdata("there is no embedded server to stop")
    if pgdata is not None:
        stopped = guarded(lambda: _embedded.stop(pgdata))
        print(f"{'stopped' if stopped else 'not running'}: PostgreSQL in {pgdata}")
    return 0


def _db_status(args: argparse.Namespace) -> int:
    from rythmiq_otel.store import _embedded

    pgdata = _embedded_pgdata("the embedded server is not used")
    if pgdata is None:
        return 0
    state = guarded(lambda: _embedded.state(pgdata))
    if not state.running:
        print(f"stopped: PostgreSQL in {pgdata}")
        return EXIT_NOT_RUNNING
    print(f"running: PostgreSQL (pid {state.pid}) in {pgdata}")
    print(state.url())
    return 0


def _db_url(args: argparse.Namespace) -> int:
    from rythmiq_otel.store import resolve_database_url

    settings = _settings()
    print(guarded(lambda: resolve_database_url(settings)))
    return 0


@contextmanager
def _connect(settings: StoreSettings) -> Iterator[psycopg.Connection]:
    """An autocommit connection to the store's database, or a one-line error saying why not."""
    import psycopg

    from rythmiq_otel.store import resolve_database_url
    from rythmiq_otel.store._database_url import redact_url

    url = guarded(lambda: resolve_database_url(settings))
    try:
        conn = psycopg.connect(url, autocommit=True, connect_timeout=10)
    except psycopg.Error as err:
        raise CommandError(f"cannot connect to {redact_url(url)}: {first_line(err)}") from err
    with conn:
        yield conn


def _migrate(args: argparse.Namespace) -> int:
    from rythmiq_otel.store import load_migrations, migrate
    from rythmiq_otel.store._db_config import write_configured_settings

    settings = _settings()
    known = guarded(load_migrations)
    with _connect(settings) as conn:
        done = guarded(lambda: migrate(conn, known, dry_run=args.dry_run))
        if not args.dry_run:
            write_configured_settings(conn, settings)
    verb = "pending" if args.dry_run else "applied"
    for migration in done:
        print(f"{verb}: {migration.name}")
    if not done:
        print(f"up to date: all {len(known)} migrations applied")
    return 0


def require_migrated(conn: psycopg.Connection) -> None:
    """A one-line ``CommandError`` when migrations are pending (the tables a command reads may be missing)."""
    from rythmiq_otel.store import pending_migrations

    pending = guarded(lambda: pending_migrations(conn))
    if pending:
        raise CommandError(
            f"{len(pending)} migrations are pending (first: {pending[0].name});"
            " run `rythmiq-otel migrate` first"
        )


def _maintain(args: argparse.Namespace) -> int:
    import psycopg

    from rythmiq_otel.store import run_maintenance

    with _connect(_settings()) as conn:
        require_migrated(conn)
        try:
            steps = run_maintenance(conn)
        except psycopg.Error as err:
            raise CommandError(f"maintenance failed: {first_line(err)}") from err
    for step in steps:
        print(step)
    return 0
