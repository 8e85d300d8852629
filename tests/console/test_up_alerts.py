"""``rythmiq-otel up`` runs the alert loop beside the sink: a firing rule reaches a real webhook receiver
once, and a bad alert setting is one line that leaves the store running. Real processes."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import pytest

from tests.console import rows
from tests.console.webhook_receiver import webhook_receiver

ROOT = Path(__file__).parents[2]

pytestmark = pytest.mark.slow


def start_up(database_url: str, until: str, **env: str) -> tuple[subprocess.Popen[str], list[str]]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("RYTHMIQ_")}
    environ |= {"DATABASE_URL": database_url, "RYTHMIQ_SINK_TOKEN": "up-alerts-test-token",
                "RYTHMIQ_DASHBOARD_PORT": "0", **env}
    proc = subprocess.Popen([sys.executable, "-m", "rythmiq_otel", "up", "--port", "0"], env=environ,
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines: list[str] = []
    assert proc.stdout is not None
    while not any(line.startswith(until) for line in lines):
        line = proc.stdout.readline()
        if not line:
            proc.wait(10)
            pytest.fail(f"up exited early: {lines}")
        lines.append(line.strip())
    return proc, lines


def test_up_evaluates_the_rules_and_posts_an_incident_once(database_url: str) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        rows.failing_hour(conn)
    with webhook_receiver() as receiver:
        proc, lines = start_up(database_url, "export OTEL_EXPORTER_OTLP_HEADERS",
                               RYTHMIQ_ALERT_WEBHOOK_URL=receiver.url, RYTHMIQ_ALERT_INTERVAL_SECONDS="1")
        try:
            deadline = time.monotonic() + 30
            while not receiver.posts and time.monotonic() < deadline:
                time.sleep(0.2)
            time.sleep(2.5)  # more rounds: still one post
        finally:
            proc.terminate()
            rest, _ = proc.communicate(timeout=60)
    assert "alerts: evaluating 8 rules every 1 s, posting incidents to the webhook" in lines
    assert receiver.transitions() == [("error_rate", "opened")]
    assert proc.returncode is not None and "Traceback" not in rest
    with psycopg.connect(database_url) as conn:
        evaluated = conn.execute("SELECT count(*) FROM alert_states").fetchone()[0]
    assert evaluated == 8


def test_a_bad_alert_setting_is_one_line_and_up_keeps_running(database_url: str) -> None:
    proc, lines = start_up(database_url, "export OTEL_EXPORTER_OTLP_HEADERS",
                           RYTHMIQ_ALERT_ERROR_RATE_WINDOW="an hour")
    try:
        assert proc.poll() is None
    finally:
        proc.terminate()
        proc.communicate(timeout=60)
    assert ("alerts: not started: RYTHMIQ_ALERT_ERROR_RATE_WINDOW='an hour' is not a duration; expected a "
            "positive whole number and a unit, like 90s, 15m, 1h or 7d") in lines
