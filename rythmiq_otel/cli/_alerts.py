"""Subcommands of the operator area: ``alerts check`` (every rule's state; exit 1 when one fires).

Configured by ``RYTHMIQ_ALERT*`` (see ``rythmiq_otel/console/alerts/_settings.py``) and the store's
``DATABASE_URL`` / ``RYTHMIQ_DATA_DIR``. Imports happen inside the handlers so ``--help`` stays fast.
Exit status, for cron and CI: 0 nothing fires, 1 something fires, 2 the rules could not be evaluated.
"""

from __future__ import annotations

import argparse
import json

from ._errors import CommandError, first_line, guarded
from ._store import _connect, _settings

#: ``alerts check`` exit status when at least one rule fires (2 is "could not evaluate", as everywhere).
EXIT_FIRING = 1

_STATE_TEXT = {"firing": "FIRING", "warning": "warning", "ok": "ok", "insufficient_data": "not enough data",
               "off": "off"}


def register(subparsers: argparse._SubParsersAction) -> None:
    """Register ``alerts check``."""
    alerts = subparsers.add_parser("alerts", help="the alert rules over the store (error rate, latency, CPU)")
    actions = alerts.add_subparsers(dest="alerts_command", metavar="ACTION", required=True)
    check = actions.add_parser(
        "check", help="evaluate every rule now and print its state (exit 1 when one fires, 2 when it cannot)"
    )
    check.add_argument("--json", action="store_true", help="one JSON document instead of text")
    check.set_defaults(handler=_check)


def _check(args: argparse.Namespace) -> int:
    import psycopg

    from rythmiq_otel.console.alerts import evaluate, load_alert_settings

    settings = guarded(load_alert_settings)
    with _connect(_settings()) as conn:
        try:
            evaluation = evaluate(conn, settings)
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
