"""``rythmiq-otel up``: the whole store in one foreground command -- Postgres, migrations, the sink.

For a newcomer's machine: with no ``DATABASE_URL`` it starts the embedded PostgreSQL (and stops it again on
exit if it started it), applies pending migrations (and a configured ``RYTHMIQ_CPU_BUDGET_HOURS``, as
``rythmiq-otel migrate`` does), and serves the sink until Ctrl-C or SIGTERM. Without
``RYTHMIQ_SINK_TOKEN`` it generates a token for this run and prints it with the endpoint, so the services
can be pointed at it straight away; a token from the environment is never printed (the printed line
refers to the variable instead).
"""

from __future__ import annotations

import signal
import sys
from collections.abc import Callable
from dataclasses import replace
from types import FrameType

import psycopg

from rythmiq_otel.store import _embedded, load_settings, migrate
from rythmiq_otel.store._db_config import write_configured_settings

from ._server import run
from ._settings import ENV_TOKEN, SinkSettings


def up(
    sink: SinkSettings,
    *,
    token_generated: bool = False,
    say: Callable[[str], None] = print,
    beside: Callable[[str], Callable[[], None]] | None = None,
) -> None:
    """Start (or reuse) Postgres, migrate, print how to connect, and serve until stopped.

    ``sink.database_url`` is ignored: the store settings decide (``DATABASE_URL`` or embedded).
    ``beside`` starts what runs next to the sink (the CLI passes the operator side: the dashboards) with
    the database URL once migrations are applied, and returns how to stop it; the store half never
    imports that side itself.
    """
    store = load_settings()
    started_here = False
    if store.database_url is not None:
        url = store.database_url
        say("postgres: DATABASE_URL")
    else:
        started_here = not _embedded.state(store.pgdata).running
        url = _embedded.start(store.pgdata).url()
        say(f"postgres: embedded, data in {store.pgdata}")
    stop_beside: Callable[[], None] | None = None
    try:
        with psycopg.connect(url, autocommit=True) as conn:
            applied = migrate(conn)
            write_configured_settings(conn, store)
        say(f"migrations: {len(applied)} applied" if applied else "migrations: up to date")
        if token_generated:
            say(f"token: {sink.token}  (generated for this run; set RYTHMIQ_SINK_TOKEN to keep one)")
        settings = replace(sink, database_url=url)
        stop_beside = beside(url) if beside is not None else None

        def announce(line: str) -> None:
            say(line)
            endpoint = line.split(" ")[4]
            say(f"export OTEL_EXPORTER_OTLP_ENDPOINT={endpoint}")
            if settings.token and not settings.insecure_no_auth:
                # A token from the environment is a secret someone else manages: name it, never print it.
                token = settings.token if token_generated else "${" + ENV_TOKEN + "}"
                say(f'export OTEL_EXPORTER_OTLP_HEADERS="Authorization=Bearer%20{token}"')
            say("Ctrl-C stops the sink" + (" and the embedded PostgreSQL" if started_here else ""))

        # uvicorn shuts down gracefully on SIGTERM, then re-raises it; turn that into SystemExit so the
        # embedded server is stopped below instead of the process dying with it still running.
        signal.signal(signal.SIGTERM, _exit_on_signal)
        run(settings, announce=announce)
    finally:
        if stop_beside is not None:
            stop_beside()
        if started_here:
            _embedded.stop(store.pgdata)
            say("postgres: stopped")


def _exit_on_signal(signum: int, frame: FrameType | None) -> None:
    sys.exit(128 + signum)
