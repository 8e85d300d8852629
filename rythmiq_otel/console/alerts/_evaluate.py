"""Evaluating every rule at one moment, in one snapshot of the store.

All rules read one REPEATABLE READ snapshot, so a batch the sink commits halfway through an evaluation
cannot make one rule see it and the next not. The evaluation time is the database's ``now()`` unless
given, so the rules use the same clock as the rows' defaults whatever the machine running them says.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg

from ._rules import RuleResult, evaluate_rule
from ._settings import AlertSettings

#: A rule query that takes longer than this is cancelled: an evaluation must not pile up behind itself.
STATEMENT_TIMEOUT_MS = 20_000


@dataclass(frozen=True)
class Evaluation:
    """Every rule's result at ``at``."""

    at: datetime
    results: tuple[RuleResult, ...]

    @property
    def firing(self) -> tuple[RuleResult, ...]:
        """The results that fire."""
        return tuple(result for result in self.results if result.state == "firing")

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready: ``{"evaluated_at", "firing", "rules": [...]}``."""
        return {
            "evaluated_at": self.at.isoformat(),
            "firing": [result.rule for result in self.firing],
            "rules": [result.as_dict() for result in self.results],
        }


def evaluate_in_transaction(
    conn: psycopg.Connection, settings: AlertSettings, at: datetime | None = None
) -> Evaluation:
    """Evaluate every rule inside the caller's open transaction."""
    conn.execute(f"SET LOCAL statement_timeout = {STATEMENT_TIMEOUT_MS}")
    if at is None:
        row = conn.execute("SELECT now()").fetchone()
        assert row is not None
        at = row[0]
    assert at is not None
    return Evaluation(at, tuple(evaluate_rule(conn, rule, at, settings) for rule in settings.rules))


def evaluate(conn: psycopg.Connection, settings: AlertSettings, at: datetime | None = None) -> Evaluation:
    """Evaluate every rule in a read-only snapshot of its own; writes nothing."""
    with conn.transaction():
        conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        return evaluate_in_transaction(conn, settings, at)
