"""Subcommands of the sink area: ``sink`` (the OTLP/HTTP receiver), ``up`` (Postgres + migrate + sink in
one foreground command) and ``trace`` (a job's timeline).

``rythmiq-otel sink`` reads ``RYTHMIQ_SINK_*`` (see ``rythmiq_otel/store/sink/_settings.py``) and the
store's ``DATABASE_URL`` / ``RYTHMIQ_DATA_DIR``; flags override the environment. Imports of the store
half happen inside the handlers so ``rythmiq-otel --help`` stays fast.
"""

from __future__ import annotations

import argparse
from dataclasses import replace
from typing import TYPE_CHECKING

from ._errors import CommandError, first_line, guarded

if TYPE_CHECKING:
    from rythmiq_otel.store.sink import SinkSettings


def register(subparsers: argparse._SubParsersAction) -> None:
    """Register ``sink``, ``up`` and ``trace``."""
    sink = subparsers.add_parser(
        "sink", help="run the OTLP/HTTP receiver that writes logs, traces and metrics to Postgres"
    )
    _sink_options(sink)
    sink.set_defaults(handler=_sink)
    up = subparsers.add_parser(
        "up", help="start Postgres (embedded unless DATABASE_URL), migrate, and run the sink until Ctrl-C"
    )
    _sink_options(up)
    up.set_defaults(handler=_up)

    trace = subparsers.add_parser(
        "trace", help="print one job's timeline (logs and spans of all services, in time order)"
    )
    trace.add_argument("identifier", help="a correlation_id (== trace id) or a job_id")
    trace.add_argument("--json", action="store_true", help="JSON lines instead of text")
    trace.set_defaults(handler=_trace)


def _sink_options(sink: argparse.ArgumentParser) -> None:
    sink.add_argument("--host", help="interface to bind (env RYTHMIQ_SINK_HOST, default 127.0.0.1)")
    sink.add_argument("--port", type=int, help="TCP port, 0 for any (env RYTHMIQ_SINK_PORT, default 4320)")
    sink.add_argument("--workers", type=int, help="decoding processes (env RYTHMIQ_SINK_WORKERS, default 1)")
    sink.add_argument("--max-body-bytes", type=int, help="largest request body (default 16 MiB)")
    sink.add_argument("--max-inflight", type=int, help="requests written at once per process (default 4)")
    sink.add_argument("--max-queue", type=int, help="requests waiting before 429 (default 64)")
    sink.add_argument("--maintenance-interval", type=float, dest="maintenance_interval_seconds",
                      help="seconds between maintenance rounds, 0 = off (default 300)")
    sink.add_argument("--insecure-no-auth", action="store_true", default=None,
                      help="development only: accept requests without RYTHMIQ_SINK_TOKEN")


def _database_url(*, start: bool) -> str:
    from rythmiq_otel.store import resolve_database_url

    return guarded(lambda: resolve_database_url(start=start))


def _settings(args: argparse.Namespace, *, token: str | None = None) -> SinkSettings:
    from rythmiq_otel.store.sink import load_settings

    overrides = {name: getattr(args, name) for name in (
        "host", "port", "workers", "max_body_bytes", "max_inflight", "max_queue",
        "maintenance_interval_seconds", "insecure_no_auth")}
    return guarded(lambda: load_settings(database_url="", token=token, **overrides))


def _up(args: argparse.Namespace) -> int:
    import secrets

    from rythmiq_otel.store.sink._up import up

    from ._dashboard import beside_sink

    generated = None
    try:
        settings = _settings(args)
    except CommandError as err:
        if "RYTHMIQ_SINK_TOKEN" not in str(err):
            raise
        # A newcomer's first run: no token configured, so make one for this run and print it.
        generated = secrets.token_urlsafe(24)
        settings = _settings(args, token=generated)
    token_generated = generated is not None
    def say(line: str) -> None:
        print(line, flush=True)

    guarded(lambda: up(settings, token_generated=token_generated, say=say, beside=beside_sink(say)))
    return 0


def _sink(args: argparse.Namespace) -> int:
    from rythmiq_otel.store.sink import run
    from rythmiq_otel.store.sink._probes import readiness

    settings = replace(_settings(args), database_url=_database_url(start=True))
    reason = readiness(settings.database_url)
    if reason is not None:
        print(f"rythmiq-otel sink: warning: not ready yet: {reason}", flush=True)
    run(settings)
    return 0


def _trace(args: argparse.Namespace) -> int:
    import psycopg

    from rythmiq_otel.store._trace import as_json, render, timeline

    url = _database_url(start=False)
    try:
        with psycopg.connect(url, connect_timeout=5) as conn:
            entries = timeline(conn, args.identifier)
    except ValueError as err:
        raise CommandError(str(err)) from err
    except psycopg.Error as err:
        raise CommandError(f"cannot read the store: {first_line(err)}") from err
    if not entries:
        raise CommandError(f"nothing stored for {args.identifier!r} (no log record or span carries it)")
    if args.json:
        print(as_json(entries))
    else:
        for line in render(entries):
            print(line)
    return 0
