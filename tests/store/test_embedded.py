"""The embedded server's lifecycle, in process: what ``postmaster.pid`` means, and failures that say why."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from rythmiq_otel.store import EmbeddedServerError, _embedded


def test_stale_pid_file_of_a_dead_or_foreign_process_reads_as_stopped(tmp_path: Path) -> None:
    pgdata = tmp_path / "postgres"
    pgdata.mkdir()
    # Our own pid is alive but is not a postgres process: a recycled pid must not count as a server.
    (pgdata / "postmaster.pid").write_text(f"{os.getpid()}\n{pgdata}\n0\n5432\n{pgdata}\n\n0 0\nready\n")
    assert not _embedded.state(pgdata).running
    assert _embedded.stop(pgdata) is False


def test_start_in_a_directory_that_is_not_a_data_directory_says_why(embedded_data_dir: Path) -> None:
    pgdata = embedded_data_dir / "postgres"
    pgdata.mkdir()
    (pgdata / "notes.txt").write_text("not a database")
    with pytest.raises(EmbeddedServerError) as err:
        _embedded.start(pgdata)
    message = str(err.value)
    assert message.startswith(f"initdb of {pgdata} failed (exit status 1): initdb: error: directory")
    assert "exists but is not empty" in message
    assert message.endswith(f"(see {embedded_data_dir / 'postgres.log'})")
    assert "\n" not in message
