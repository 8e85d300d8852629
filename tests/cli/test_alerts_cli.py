"""``rythmiq-otel alerts check`` as a process: its output, and exit 0 / 1 / 2 for quiet / firing / cannot."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from tests.console import rows
from tests.console.seed import make_seed, store
from tests.console.webhook_receiver import webhook_receiver


def run(database_url: str, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("RYTHMIQ_ALERT")}
    environ.update(DATABASE_URL=database_url, **env)
    return subprocess.run([sys.executable, "-m", "rythmiq_otel", *args], env=environ, capture_output=True,
                          text=True, timeout=60, check=False)


def test_check_on_an_empty_store_fires_nothing(database_url: str) -> None:
    done = run(database_url, "alerts", "check")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[-1] == "nothing fires"
    assert len(lines) == 9
    assert all(line.startswith("not enough data") for line in lines[:-1])


def test_check_exits_1_and_names_the_firing_rule(database_url: str) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        rows.failing_hour(conn)
    done = run(database_url, "alerts", "check")
    assert done.returncode == 1, done.stderr
    assert "FIRING           Error rate 10 % > 2 % over the last 1h (40 finished jobs)" in done.stdout
    assert done.stdout.splitlines()[-1] == "firing: error_rate"
    as_json = run(database_url, "alerts", "check", "--json")
    assert as_json.returncode == 1
    document = json.loads(as_json.stdout)
    assert document["firing"] == ["error_rate"]
    error_rate = next(rule for rule in document["rules"] if rule["rule"] == "error_rate")
    assert (error_rate["value"], error_rate["threshold"], error_rate["sample"]) == (10.0, 2.0, 40)
    # Raised above the measured rate, the same data is a warning (above the 1 % target): exit 0.
    raised = run(database_url, "alerts", "check", RYTHMIQ_ALERT_ERROR_RATE_THRESHOLD="10")
    assert raised.returncode == 0
    assert "warning          Error rate 10 % > 1 %" in raised.stdout


def test_check_exits_2_in_one_line_when_the_database_is_unreachable() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    done = run(f"postgresql://nobody@127.0.0.1:{port}/nothing", "alerts", "check")
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.count("\n") == 1
    assert done.stderr.startswith(f"rythmiq-otel alerts: cannot connect to postgresql://nobody@127.0.0.1:{port}")
    assert "Traceback" not in done.stderr


def test_check_exits_2_on_a_bad_setting(database_url: str) -> None:
    typo = run(database_url, "alerts", "check", RYTHMIQ_ALERT_ERROR_RATE_TRESHOLD="5")
    assert (typo.returncode, typo.stdout) == (2, "")
    assert typo.stderr == (
        "rythmiq-otel alerts: RYTHMIQ_ALERT_ERROR_RATE_TRESHOLD is not a setting of the alerts (a typo?); "
        "see docs/alerts.md for the variables\n"
    )
    bad = run(database_url, "alerts", "check", RYTHMIQ_ALERT_API_5XX_WINDOW="soon")
    assert bad.stderr == (
        "rythmiq-otel alerts: RYTHMIQ_ALERT_API_5XX_WINDOW='soon' is not a duration; expected a positive "
        "whole number and a unit, like 90s, 15m, 1h or 7d\n"
    )


def test_check_notify_records_the_incident_and_posts_it_once(database_url: str) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        rows.failing_hour(conn)
    with webhook_receiver() as receiver:
        for _ in range(2):
            done = run(database_url, "alerts", "check", "--notify", RYTHMIQ_ALERT_WEBHOOK_URL=receiver.url)
            assert done.returncode == 1, done.stderr
    assert receiver.transitions() == [("error_rate", "opened")]
    with psycopg.connect(database_url) as conn:
        state = conn.execute("SELECT state FROM alert_states WHERE rule = 'error_rate'").fetchone()
        assert state == ("firing",)
    read_only = run(database_url, "alerts", "check")  # without --notify nothing is written
    assert read_only.returncode == 1


def test_report_exits_1_on_an_empty_store_and_says_why(database_url: str) -> None:
    done = run(database_url, "report")
    assert done.returncode == 1, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("Observability definition of done (spec §7.5)")
    assert lines[1] == ("FAIL  1. Can trace any job from API request to webhook completion using "
                        "correlation_id")
    assert lines[-1].startswith("3 of 7 pass (")
    as_json = json.loads(run(database_url, "report", "--json").stdout)
    results = [a["result"] for a in as_json["answers"]]
    assert results == ["FAIL", "FAIL", "FAIL", "PASS", "FAIL", "PASS", "PASS"]
    assert as_json["passed"] is False


def test_report_exits_0_when_every_question_passes(database_url: str) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        store(conn, make_seed(datetime.now(UTC) - timedelta(minutes=1), jobs=120, days=3))
    done = run(database_url, "report")
    assert done.returncode == 0, done.stdout
    assert done.stdout.splitlines()[-1].startswith("7 of 7 pass (")
    assert "      rythmiq-otel trace " in done.stdout


def test_report_exits_2_in_one_line_when_the_database_is_unreachable() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    done = run(f"postgresql://nobody@127.0.0.1:{port}/nothing", "report")
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr.startswith("rythmiq-otel report: cannot connect to ") and done.stderr.count("\n") == 1


def test_commands_on_an_unmigrated_database_say_to_migrate(empty_database_url: str) -> None:
    for command in (("alerts", "check"), ("report",)):
        done = run(empty_database_url, *command)
        assert (done.returncode, done.stdout) == (2, "")
        assert done.stderr.endswith("migrations are pending (first: 0001_config_and_partitioning.sql); "
                                    "run `rythmiq-otel migrate` first\n")


@pytest.mark.slow
def test_racing_notify_processes_post_each_transition_once(database_url: str) -> None:
    def race(receiver_url: str) -> None:
        environ = {k: v for k, v in os.environ.items() if not k.startswith("RYTHMIQ_ALERT")}
        environ |= {"DATABASE_URL": database_url, "RYTHMIQ_ALERT_WEBHOOK_URL": receiver_url}
        procs = [subprocess.Popen([sys.executable, "-m", "rythmiq_otel", "alerts", "check", "--notify"],
                                  env=environ, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
                 for _ in range(4)]
        for proc in procs:
            _, err = proc.communicate(timeout=60)
            assert proc.returncode in (0, 1), err

    with webhook_receiver(delay=0.3) as receiver, psycopg.connect(database_url, autocommit=True) as conn:
        rows.failing_hour(conn)
        race(receiver.url)
        rows.recovered_hour(conn)
        race(receiver.url)
    assert receiver.transitions() == [("error_rate", "opened"), ("error_rate", "resolved")]
