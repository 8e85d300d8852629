"""Alert state and notifications: an incident opens when a rule fires and resolves when it is back to ok,
and a real HTTP receiver gets exactly one post per transition -- across many evaluations, with two
evaluators racing on one database, through failures and retries."""

from __future__ import annotations

import hashlib
import hmac
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta

import psycopg
import pytest

from rythmiq_otel.console.alerts import (
    AlertSettings,
    deliver_due,
    load_alert_settings,
    record,
    start_alert_loop,
)
from tests.console import rows
from tests.console.webhook_receiver import Receiver, webhook_receiver


@pytest.fixture
def conn(database_url: str) -> Iterator[psycopg.Connection]:
    with psycopg.connect(database_url, autocommit=True) as connection:
        yield connection


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with webhook_receiver() as running:
        yield running


def settings_for(receiver: Receiver | None, **env: str) -> AlertSettings:
    environ = {"RYTHMIQ_ALERT_WEBHOOK_URL": receiver.url} if receiver else {}
    return load_alert_settings({**environ, **env})


def states(conn: psycopg.Connection) -> dict[str, str]:
    return dict(conn.execute("SELECT rule, state FROM alert_states").fetchall())


def test_many_evaluations_post_one_open_and_one_resolve(conn: psycopg.Connection, receiver: Receiver) -> None:
    settings = settings_for(receiver, RYTHMIQ_ALERT_DASHBOARD_URL="https://ops.example.com/operations")
    assert record(conn, settings) is not None
    assert states(conn)["error_rate"] == "insufficient_data"
    rows.failing_hour(conn)
    for _ in range(5):
        record(conn, settings)
        deliver_due(conn, settings)
    assert receiver.transitions() == [("error_rate", "opened")]
    opened = receiver.posts[0].payload
    assert opened["status"] == "firing"
    assert (opened["value"], opened["threshold"], opened["window"], opened["unit"]) == (10.0, 2.0, "1h", "%")
    assert opened["resolved_at"] is None and opened["started_at"]
    assert opened["dashboard_url"] == "https://ops.example.com/operations"
    assert opened["text"].startswith("[FIRING] Error rate 10 % > 2 % over the last 1h (40 finished jobs)")
    since = conn.execute("SELECT since FROM alert_states WHERE rule = 'error_rate'").fetchone()[0]
    assert since.isoformat() == opened["started_at"]

    rows.recovered_hour(conn)
    for _ in range(5):
        record(conn, settings)
        deliver_due(conn, settings)
    assert receiver.transitions() == [("error_rate", "opened"), ("error_rate", "resolved")]
    resolved = receiver.posts[1].payload
    assert resolved["status"] == "resolved" and resolved["resolution"] == "back to ok"
    assert resolved["started_at"] == opened["started_at"] and resolved["resolved_at"] > opened["started_at"]
    assert resolved["incident_id"] == opened["incident_id"]
    assert resolved["peak_value"] == 10.0
    incident = conn.execute("SELECT resolved_at IS NOT NULL, resolution FROM alert_incidents").fetchall()
    assert incident == [(True, "back to ok")]
    assert states(conn)["error_rate"] == "ok"


def test_two_evaluators_racing_post_each_transition_once(database_url: str) -> None:
    with webhook_receiver(delay=0.3) as receiver:  # slow answers: both deliverers find the row due at once
        _race(database_url, receiver)
    assert receiver.transitions() == [("error_rate", "opened"), ("error_rate", "resolved")]


def _race(database_url: str, receiver: Receiver) -> None:
    settings = settings_for(receiver)
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def evaluator(rounds: int) -> None:
        try:
            with psycopg.connect(database_url, autocommit=True) as own:
                barrier.wait(10)
                for _ in range(rounds):  # spread over ~1 s, so one's deliveries overlap the other's
                    record(own, settings)
                    deliver_due(own, settings)
                    time.sleep(0.05)
        except BaseException as err:  # surfaced below
            errors.append(err)

    def race() -> None:
        threads = [threading.Thread(target=evaluator, args=(12,)) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        assert errors == []

    with psycopg.connect(database_url, autocommit=True) as conn:
        rows.failing_hour(conn)
        race()
        rows.recovered_hour(conn)
        race()
        assert conn.execute("SELECT count(*) FROM alert_incidents").fetchone()[0] == 1


def test_a_failing_receiver_is_retried_with_backoff_until_it_answers(conn: psycopg.Connection) -> None:
    with webhook_receiver(fail_first=2) as receiver:
        settings = settings_for(receiver)
        rows.failing_hour(conn)
        record(conn, settings)
        assert deliver_due(conn, settings) == 0
        attempts, error, wait = conn.execute(
            "SELECT attempts, last_error, next_attempt_at - now() FROM alert_notifications").fetchone()
        assert (attempts, error) == (1, "the receiver answered HTTP 500")
        assert timedelta(seconds=9) < wait <= timedelta(seconds=10)
        assert deliver_due(conn, settings) == 0  # not due yet: nothing posted
        for expected_wait in (20, None):
            conn.execute("UPDATE alert_notifications SET next_attempt_at = now()")  # the wait has passed
            deliver_due(conn, settings)
            if expected_wait:
                wait = conn.execute("SELECT next_attempt_at - now() FROM alert_notifications").fetchone()[0]
                assert timedelta(seconds=expected_wait - 1) < wait <= timedelta(seconds=expected_wait)
        assert receiver.transitions() == [("error_rate", "opened")]
        delivered = conn.execute("SELECT sent_at IS NOT NULL, attempts FROM alert_notifications").fetchone()
        assert delivered == (True, 3)


def test_a_notification_is_given_up_after_the_maximum_attempts(conn: psycopg.Connection) -> None:
    with webhook_receiver(fail_first=100) as receiver:
        settings = settings_for(receiver, RYTHMIQ_ALERT_WEBHOOK_MAX_ATTEMPTS="2")
        rows.failing_hour(conn)
        record(conn, settings)
        deliver_due(conn, settings)
        conn.execute("UPDATE alert_notifications SET next_attempt_at = now()")
        deliver_due(conn, settings)
        conn.execute("UPDATE alert_notifications SET next_attempt_at = now()")
        deliver_due(conn, settings)
        assert receiver.fail_first == 98  # two posts, then no more
    given_up = conn.execute("SELECT attempts, gave_up_at IS NOT NULL FROM alert_notifications").fetchone()
    assert given_up == (2, True)


@pytest.mark.parametrize("status", [301, 302, 303, 307, 404, 503])
def test_a_redirect_or_an_error_answer_is_not_a_delivery(conn: psycopg.Connection, status: int) -> None:
    with webhook_receiver(fail_first=1, fail_status=status) as receiver:
        settings = settings_for(receiver)
        rows.failing_hour(conn)
        record(conn, settings)
        assert deliver_due(conn, settings) == 0
        assert (receiver.posts, receiver.gets) == ([], 0)
    sent, error = conn.execute("SELECT sent_at, last_error FROM alert_notifications").fetchone()
    assert sent is None
    assert error.startswith(f"the receiver answered HTTP {status}")
    assert "/hooks/T0/secret" not in error


def test_an_unreachable_receiver_is_a_failed_attempt(conn: psycopg.Connection) -> None:
    with webhook_receiver() as receiver:
        url = receiver.url
    settings = settings_for(receiver)  # the server is gone: connection refused
    assert settings.webhook_url == url
    rows.failing_hour(conn)
    record(conn, settings)
    assert deliver_due(conn, settings) == 0
    error = conn.execute("SELECT last_error FROM alert_notifications").fetchone()[0]
    assert error.startswith("cannot reach the receiver (ConnectionRefusedError")


def test_a_resolve_waits_for_its_open_to_be_delivered(conn: psycopg.Connection) -> None:
    with webhook_receiver(fail_first=1) as receiver:
        settings = settings_for(receiver)
        rows.failing_hour(conn)
        record(conn, settings)
        deliver_due(conn, settings)  # the open fails once
        rows.recovered_hour(conn)
        record(conn, settings)
        deliver_due(conn, settings)  # the resolve is due, but the open is not sent yet
        assert receiver.transitions() == []
        conn.execute("UPDATE alert_notifications SET next_attempt_at = now()")
        deliver_due(conn, settings)
        assert receiver.transitions() == [("error_rate", "opened"), ("error_rate", "resolved")]


def test_posts_are_signed_when_a_secret_is_set(conn: psycopg.Connection, receiver: Receiver) -> None:
    settings = settings_for(receiver, RYTHMIQ_ALERT_WEBHOOK_SECRET="s3cret")
    rows.failing_hour(conn)
    record(conn, settings)
    deliver_due(conn, settings)
    (post,) = receiver.posts
    expected = "sha256=" + hmac.new(b"s3cret", post.body, hashlib.sha256).hexdigest()
    assert post.headers["x-rythmiq-signature-256"] == expected
    assert post.headers["x-rythmiq-event"] == "opened"
    assert post.headers["content-type"] == "application/json"
    notification_id = conn.execute("SELECT id FROM alert_notifications").fetchone()[0]
    assert post.headers["x-rythmiq-delivery"] == str(notification_id)


def test_without_a_webhook_incidents_are_recorded_and_nothing_is_queued(conn: psycopg.Connection) -> None:
    settings = settings_for(None)
    rows.failing_hour(conn)
    record(conn, settings)
    assert conn.execute("SELECT count(*) FROM alert_incidents WHERE resolved_at IS NULL").fetchone()[0] == 1
    assert conn.execute("SELECT count(*) FROM alert_notifications").fetchone()[0] == 0
    assert len(states(conn)) == 8


def test_turning_a_firing_rule_off_resolves_its_incident(
    conn: psycopg.Connection, receiver: Receiver
) -> None:
    rows.failing_hour(conn)
    record(conn, settings_for(receiver))
    record(conn, settings_for(receiver, RYTHMIQ_ALERTS_DISABLED="error_rate"))
    deliver_due(conn, settings_for(receiver))
    assert receiver.transitions() == [("error_rate", "opened"), ("error_rate", "resolved")]
    assert receiver.posts[1].payload["resolution"] == "rule turned off"
    assert states(conn)["error_rate"] == "off"


def test_a_warning_or_missing_data_keeps_the_incident_open(conn: psycopg.Connection) -> None:
    rows.failing_hour(conn)
    settings = settings_for(None)
    record(conn, settings)
    record(conn, replace(settings, rules=tuple(
        replace(r, threshold=50.0) if r.name == "error_rate" else r for r in settings.rules)))
    assert states(conn)["error_rate"] == "warning"
    assert conn.execute("SELECT count(*) FROM alert_incidents WHERE resolved_at IS NULL").fetchone()[0] == 1


def test_the_loop_up_runs_evaluates_and_posts(database_url: str, receiver: Receiver) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        rows.failing_hour(conn)
    lines: list[str] = []
    stop = start_alert_loop(database_url, settings_for(receiver, RYTHMIQ_ALERT_INTERVAL_SECONDS="1"),
                            lines.append)
    try:
        deadline = time.monotonic() + 20
        while not receiver.posts and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        stop()
    assert receiver.transitions() == [("error_rate", "opened")]
    assert lines == ["alerts: evaluating 8 rules every 1 s, posting incidents to the webhook"]
