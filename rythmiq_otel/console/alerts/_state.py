"""Recording an evaluation: each rule's current state, the incidents it opens and resolves, the outbox.

A rule going to ``firing`` with no open incident opens one; back to ``ok`` (or turned off) resolves it;
``warning`` and ``insufficient_data`` leave an open incident open (the rule is not known to be fixed).
Each transition writes its notification into the ``alert_notifications`` outbox in the same
transaction, so the post (``_webhook.py``) happens once per transition whatever crashes in between.

Recording is serialised by a transaction-level advisory lock taken with ``pg_try_advisory_xact_lock``:
with two ``up`` processes on one database, the second finds the lock taken and skips its round instead of
evaluating the same minute twice -- the rule that the state machine sees each evaluation in order.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, Final

import psycopg

from ._evaluate import Evaluation, evaluate_in_transaction
from ._rules import RuleResult
from ._settings import AlertSettings

#: Advisory lock key of the alert round ("rythmiq.alerts", fixed; distinct from maintenance's).
ALERTS_LOCK_KEY: Final = 0x5259_4D51_414C_5254


def record(
    conn: psycopg.Connection, settings: AlertSettings, at: datetime | None = None
) -> Evaluation | None:
    """Evaluate every rule and record the states, incidents and notifications, in one transaction.

    Returns ``None`` without evaluating when another evaluator holds the lock (it is doing this round).
    ``conn`` must be in autocommit mode (the transaction is this function's).
    """
    with conn.transaction():
        # READ COMMITTED, unlike evaluate(): a REPEATABLE READ snapshot would be taken by the lock call
        # itself, possibly just before the previous holder committed, and this round would then not see
        # the incident that round opened. Each statement after the lock sees every committed round.
        row = conn.execute("SELECT pg_try_advisory_xact_lock(%s)", (ALERTS_LOCK_KEY,)).fetchone()
        if not row or not row[0]:
            return None
        evaluation = evaluate_in_transaction(conn, settings, at)
        for result in evaluation.results:
            _apply(conn, result, evaluation.at, settings)
    return evaluation


def _apply(conn: psycopg.Connection, result: RuleResult, at: datetime, settings: AlertSettings) -> None:
    previous = conn.execute("SELECT state, since FROM alert_states WHERE rule = %s",
                            (result.rule,)).fetchone()
    since = previous[1] if previous and previous[0] == result.state else at
    incident = conn.execute(
        "SELECT id, opened_at, peak_value FROM alert_incidents"
        " WHERE rule = %s AND resolved_at IS NULL",
        (result.rule,),
    ).fetchone()
    incident_id = incident[0] if incident else None
    if result.state == "firing" and incident is None:
        incident_id = _open(conn, result, at, settings)
    elif result.state == "firing" and incident is not None:
        conn.execute("UPDATE alert_incidents SET peak_value = greatest(peak_value, %s) WHERE id = %s",
                     (result.value, incident_id))
    elif result.state in ("ok", "off") and incident is not None:
        _resolve(conn, result, at, settings, incident)
        incident_id = None
    conn.execute("""
        INSERT INTO alert_states (rule, title, state, value, threshold, warning, unit, window_text, sample,
                                  min_sample, summary, since, evaluated_at, incident_id)
        VALUES (%(rule)s, %(title)s, %(state)s, %(value)s, %(threshold)s, %(warning)s, %(unit)s, %(window)s,
                %(sample)s, %(min_sample)s, %(summary)s, %(since)s, %(at)s, %(incident)s)
        ON CONFLICT (rule) DO UPDATE SET
            title = EXCLUDED.title, state = EXCLUDED.state, value = EXCLUDED.value,
            threshold = EXCLUDED.threshold, warning = EXCLUDED.warning, unit = EXCLUDED.unit,
            window_text = EXCLUDED.window_text, sample = EXCLUDED.sample, min_sample = EXCLUDED.min_sample,
            summary = EXCLUDED.summary, since = EXCLUDED.since, evaluated_at = EXCLUDED.evaluated_at,
            incident_id = EXCLUDED.incident_id
    """, {**_columns(result), "since": since, "at": at, "incident": incident_id})


def _columns(result: RuleResult) -> dict[str, Any]:
    return {"rule": result.rule, "title": result.title, "state": result.state, "value": result.value,
            "threshold": result.threshold, "warning": result.warning, "unit": result.unit,
            "window": result.window, "sample": result.sample, "min_sample": result.min_sample,
            "summary": result.summary()}


def _open(conn: psycopg.Connection, result: RuleResult, at: datetime, settings: AlertSettings) -> int:
    row = conn.execute("""
        INSERT INTO alert_incidents (rule, title, opened_at, value, peak_value, threshold, unit, window_text,
                                     summary)
        VALUES (%(rule)s, %(title)s, %(at)s, %(value)s, %(value)s, %(threshold)s, %(unit)s, %(window)s,
                %(summary)s)
        RETURNING id
    """, {**_columns(result), "at": at}).fetchone()
    assert row is not None
    _notify(conn, row[0], "opened", settings, {
        **_payload(result, settings), "incident_id": row[0], "started_at": at.isoformat(),
        "resolved_at": None,
    })
    return int(row[0])


def _resolve(conn: psycopg.Connection, result: RuleResult, at: datetime, settings: AlertSettings,
             incident: tuple[Any, ...]) -> None:
    incident_id, opened_at, peak = incident
    resolution = "rule turned off" if result.state == "off" else "back to ok"
    conn.execute(
        "UPDATE alert_incidents SET resolved_at = %s, resolved_value = %s, resolution = %s WHERE id = %s",
        (at, result.value, resolution, incident_id),
    )
    _notify(conn, incident_id, "resolved", settings, {
        **_payload(result, settings), "incident_id": incident_id, "started_at": opened_at.isoformat(),
        "resolved_at": at.isoformat(), "peak_value": peak, "resolution": resolution,
    })


def _payload(result: RuleResult, settings: AlertSettings) -> dict[str, Any]:
    """What a notification says about the rule (the transition-specific keys are added by the caller)."""
    status = "firing" if result.state == "firing" else "resolved"
    text = f"[{status.upper()}] {result.summary()}"
    payload: dict[str, Any] = {
        "text": text,  # what chat tools (Slack, Mattermost, Teams workflows) show
        "status": status,
        "rule": result.rule,
        "title": result.title,
        "value": result.value,
        "threshold": result.threshold,
        "unit": result.unit,
        "window": result.window,
        "sample": result.sample,
        "summary": result.summary(),
        "detail": result.detail,
    }
    if settings.dashboard_url:
        payload["dashboard_url"] = settings.dashboard_url
        payload["text"] = f"{text} {settings.dashboard_url}"
    return payload


def _notify(conn: psycopg.Connection, incident_id: int, transition: str, settings: AlertSettings,
            payload: dict[str, Any]) -> None:
    """Queue the post of one transition (only when a webhook is configured: no backlog of stale pages
    is sent the day one is)."""
    if settings.webhook_url is None:
        return
    conn.execute(
        "INSERT INTO alert_notifications (incident_id, transition, payload) VALUES (%s, %s, %s)"
        " ON CONFLICT (incident_id, transition) DO NOTHING",
        (incident_id, transition, json.dumps({"transition": transition, **payload})),
    )
