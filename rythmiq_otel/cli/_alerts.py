"""Subcommands of the operator area that judge the store: ``alerts check [--json] [--notify]`` (every
rule's state) and ``report [--json]`` (the spec's §7.5 definition of done, answered from the data).

Configured by ``RYTHMIQ_ALERT*`` (see ``rythmiq_otel/console/alerts/_settings.py``) and the store's
``DATABASE_URL`` / ``RYTHMIQ_DATA_DIR``. Imports happen inside the handlers so ``--help`` stays fast.
Exit status, for cron and CI: 0 nothing fires / everything passes, 1 something fires / fails, 2 the store
could not be read.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable

from ._errors import CommandError, first_line, guarded
from ._store import _connect, _settings, require_migrated

#: Exit status when a rule fires or a question fails (2 is "could not evaluate", as everywhere).
EXIT_FIRING = EXIT_FAILED = 1

_STATE_TEXT = {"firing": "FIRING", "warning": "warning", "ok": "ok", "insufficient_data": "not enough data",
               "off": "off"}


def register(subparsers: argparse._SubParsersAction) -> None:
    """Register ``alerts check`` and ``report``."""
    alerts = subparsers.add_parser("alerts", help="the alert rules over the store (error rate, latency, CPU)")
    actions = alerts.add_subparsers(dest="alerts_command", metavar="ACTION", required=True)
    check = actions.add_parser(
        "check", help="evaluate every rule now and print its state (exit 1 when one fires, 2 when it cannot)"
    )
    check.add_argument("--json", action="store_true", help="one JSON document instead of text")
    check.add_argument(
        "--notify", action="store_true",
        help="also record the states, open/resolve incidents and post due webhooks (what `up` does every "
             "minute; for cron when `up` is not running)",
    )
    check.set_defaults(handler=_check)

    report = subparsers.add_parser(
        "report", help="answer the spec's §7.5 definition-of-done questions from the data (1: one fails)"
    )
    report.add_argument("--json", action="store_true", help="one JSON document instead of text")
    report.set_defaults(handler=_report)


def _check(args: argparse.Namespace) -> int:
    import psycopg

    from rythmiq_otel.console.alerts import deliver_due, evaluate, load_alert_settings, record

    settings = guarded(load_alert_settings)
    with _connect(_settings()) as conn:
        require_migrated(conn)
        try:
            # --notify: record this evaluation, unless another evaluator is recording one right now (then
            # it reports, and that one's states and posts stand).
            evaluation = (record(conn, settings) if args.notify else None) or evaluate(conn, settings)
            if args.notify:
                deliver_due(conn, settings)
        except psycopg.Error as err:
            raise CommandError(f"cannot evaluate the rules: {first_line(err)}") from err
    if args.json:
        print(json.dumps(evaluation.as_dict(), indent=2))
    else:
        for result in evaluation.results:
            print(f"{_STATE_TEXT[result.state]:<16} {result.summary()}")
        firing = [result.rule for result in evaluation.firing]
        print(f"firing: {', '.join(firing)}" if firing else "nothing fires")
    return EXIT_FIRING if evaluation.firing else 0


def _report(args: argparse.Namespace) -> int:
    from rythmiq_otel.console._report import build_report, render

    with _connect(_settings()) as conn:
        require_migrated(conn)
        report = build_report(conn)
    if args.json:
        print(json.dumps(report.as_dict(), indent=2, default=str))
    else:
        for line in render(report):
            print(line)
    return 0 if report.passed else EXIT_FAILED


def start_beside_sink(database_url: str, say: Callable[[str], None]) -> Callable[[], None]:
    """Start the alert loop ``up`` runs next to the sink; returns how to stop it.

    A bad ``RYTHMIQ_ALERT*`` setting is one line and the alerts stay off: ingestion must not stop for an
    alert typo, and the line says what to fix (``alerts check`` shows the same sentence with exit 2).
    """
    from rythmiq_otel.console.alerts import load_alert_settings, start_alert_loop
    from rythmiq_otel.store import SettingsError

    try:
        settings = load_alert_settings()
    except SettingsError as err:
        say(f"alerts: not started: {err}")
        return lambda: None
    return start_alert_loop(database_url, settings, say)
