"""``rythmiq-otel db|migrate|maintain`` as real processes against real servers.

The embedded server must outlive the command that started it, be reused by the next start, and be
stoppable by a later process even when the one that started it was SIGKILLed.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

from rythmiq_otel.store import _embedded

PSQL = Path(_embedded._bin("psql"))
_BUDGET_ERROR = "RYTHMIQ_CPU_BUDGET_HOURS must be a positive number of hours"
_URL_ERROR = "DATABASE_URL must be a postgresql:// URL or a libpq key=value string"


def _alive(pid: int) -> bool:
    """Whether a process exists and is not a zombie (this container's init does not reap orphans)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rpartition(") ")[2][0] not in "ZX"
    except FileNotFoundError:
        return False


def _env(data_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "RYTHMIQ_CPU_BUDGET_HOURS")}
    env["RYTHMIQ_DATA_DIR"] = str(data_dir)
    env.update(extra)
    return env


def _cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "rythmiq_otel", *args], env=env, capture_output=True, text=True, timeout=120,
        check=False,
    )


def test_start_status_url_stop_round_trip(embedded_data_dir: Path) -> None:
    env = _env(embedded_data_dir)
    started = _cli(env, "db", "start")
    assert started.returncode == 0, started.stderr
    assert started.stdout.startswith("started: PostgreSQL (pid ")

    status = _cli(env, "db", "status")
    assert status.returncode == 0
    pid = _embedded.state(embedded_data_dir / "postgres").pid
    assert f"running: PostgreSQL (pid {pid}) in {embedded_data_dir}" in status.stdout

    url = _cli(env, "db", "url").stdout.strip()
    psql = subprocess.run(
        [str(PSQL), url, "-Atc", "SELECT 6 * 7"], capture_output=True, text=True, check=True
    )
    assert psql.stdout.strip() == "42"
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT current_user").fetchone() == ("postgres",)

    stopped = _cli(env, "db", "stop")
    assert (stopped.returncode, stopped.stdout.split(":")[0]) == (0, "stopped")
    after = _cli(env, "db", "status")
    assert after.returncode == 3
    assert after.stdout.strip() == f"stopped: PostgreSQL in {embedded_data_dir / 'postgres'}"


def test_next_start_reuses_the_data_directory(initialised_data_dir: Path) -> None:
    env = _env(initialised_data_dir)
    assert _cli(env, "db", "start").returncode == 0
    with psycopg.connect(_cli(env, "db", "url").stdout.strip(), autocommit=True) as conn:
        conn.execute("CREATE TABLE survives (note text); INSERT INTO survives VALUES ('kept')")
    assert _cli(env, "db", "stop").returncode == 0
    again = _cli(env, "db", "start")
    assert again.stdout.startswith("started:")
    with psycopg.connect(_cli(env, "db", "url").stdout.strip()) as conn:
        assert conn.execute("SELECT note FROM survives").fetchall() == [("kept",)]


def test_stop_works_after_the_starter_was_sigkilled(initialised_data_dir: Path) -> None:
    starter = subprocess.Popen(
        [sys.executable, "-c",
         "import sys, time; from pathlib import Path; from rythmiq_otel.store import _embedded\n"
         "_embedded.start(Path(sys.argv[1])); print('ready', flush=True); time.sleep(600)",
         str(initialised_data_dir / "postgres")],
        stdout=subprocess.PIPE, text=True,
    )
    assert starter.stdout is not None
    assert starter.stdout.readline().strip() == "ready"
    postmaster = _embedded.state(initialised_data_dir / "postgres").pid
    starter.send_signal(signal.SIGKILL)
    starter.wait(timeout=10)

    env = _env(initialised_data_dir)
    assert _cli(env, "db", "status").returncode == 0  # the server outlived its starter
    stopped = _cli(env, "db", "stop")
    assert stopped.returncode == 0, stopped.stderr
    assert stopped.stdout.startswith("stopped:")
    assert postmaster is not None
    assert not _alive(postmaster)
    assert _cli(env, "db", "status").returncode == 3


def test_stop_and_status_when_never_started(tmp_path: Path) -> None:
    env = _env(tmp_path / "nowhere")
    stop = _cli(env, "db", "stop")
    assert (stop.returncode, stop.stdout.split(":")[0]) == (0, "not running")
    url = _cli(env, "db", "url")
    assert url.returncode == 2
    assert url.stderr.strip() == (
        f"rythmiq-otel db: the embedded PostgreSQL in {tmp_path / 'nowhere' / 'postgres'} is not running;"
        " start it with `rythmiq-otel db start` or set DATABASE_URL"
    )


def test_with_database_url_start_and_stop_are_no_ops_that_say_so(tmp_path: Path, database_url: str) -> None:
    env = _env(tmp_path, DATABASE_URL=database_url)
    for action, words in (("start", "no embedded server is started"), ("stop", "no embedded server to stop")):
        result = _cli(env, "db", action)
        assert result.returncode == 0
        assert result.stdout.startswith("DATABASE_URL is set (") and words in result.stdout
    assert _cli(env, "db", "url").stdout.strip() == database_url
    assert not (tmp_path / "postgres").exists()


def test_database_url_password_is_never_printed(tmp_path: Path) -> None:
    env = _env(tmp_path, DATABASE_URL="postgresql://app:s3cret@127.0.0.1:1/rythmiq")
    status = _cli(env, "db", "status")
    failed = _cli(env, "migrate")
    assert "postgresql://app:***@127.0.0.1:1/rythmiq" in status.stdout
    assert failed.returncode == 2
    assert failed.stderr.startswith("rythmiq-otel migrate: cannot connect to postgresql://app:***@127.0.0.1:1/")
    assert "s3cret" not in status.stdout + failed.stdout + failed.stderr


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("RYTHMIQ_CPU_BUDGET_HOURS", "lots", f"{_BUDGET_ERROR}, got 'lots'"),
        ("RYTHMIQ_CPU_BUDGET_HOURS", "-5", f"{_BUDGET_ERROR}, got '-5'"),
        ("DATABASE_URL", "mysql", f"{_URL_ERROR}, got 'mysql'"),
    ],
)
def test_bad_setting_is_one_line_and_exit_2(tmp_path: Path, variable: str, value: str, message: str) -> None:
    result = _cli(_env(tmp_path, **{variable: value}), "migrate")
    assert (result.returncode, result.stderr) == (2, f"rythmiq-otel migrate: {message}\n")


def test_migrate_applies_then_reports_up_to_date(empty_database_url: str, tmp_path: Path) -> None:
    env = _env(tmp_path, DATABASE_URL=empty_database_url)
    dry = _cli(env, "migrate", "--dry-run")
    assert dry.stdout.splitlines()[0] == "pending: 0001_config_and_partitioning.sql"
    first = _cli(env, "migrate")
    assert first.returncode == 0, first.stderr
    assert first.stdout.splitlines()[-1].startswith("applied: ")
    second = _cli(env, "migrate")
    assert second.stdout.startswith("up to date: all ")


def test_migrate_refuses_an_edited_migration(database_url: str, tmp_path: Path) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("UPDATE schema_migrations SET checksum = repeat('0', 64) WHERE version = 2")
    result = _cli(_env(tmp_path, DATABASE_URL=database_url), "migrate")
    assert result.returncode == 2
    assert result.stderr.startswith(
        "rythmiq-otel migrate: migration 0002_logs_and_spans.sql was edited after it was applied"
    )
    assert len(result.stderr.splitlines()) == 1


def test_migrate_writes_the_configured_cpu_budget(database_url: str, tmp_path: Path) -> None:
    result = _cli(_env(tmp_path, DATABASE_URL=database_url, RYTHMIQ_CPU_BUDGET_HOURS="150"), "migrate")
    assert result.returncode == 0, result.stderr
    with psycopg.connect(database_url) as conn:
        assert conn.execute("SELECT budget_hours FROM get_monthly_cpu_usage()").fetchone() == (150.0,)


def test_maintain_reports_each_step(database_url: str, tmp_path: Path) -> None:
    result = _cli(_env(tmp_path, DATABASE_URL=database_url), "maintain")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert "partitions created: logs (0)" in lines
    assert lines[-1] == "views refreshed: cpu_metrics_hourly, cpu_metrics_daily, error_events_daily (3)"


def test_maintain_on_an_unmigrated_database_says_to_migrate(empty_database_url: str, tmp_path: Path) -> None:
    result = _cli(_env(tmp_path, DATABASE_URL=empty_database_url), "maintain")
    assert result.returncode == 2
    assert result.stderr.endswith("run `rythmiq-otel migrate` first\n")
