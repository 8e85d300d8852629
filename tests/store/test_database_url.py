"""Which Postgres the store uses: DATABASE_URL first, else the embedded server; URLs shown without
passwords; one server, another database."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict

from rythmiq_otel.store import EmbeddedServerError, load_settings, resolve_database_url
from rythmiq_otel.store._database_url import database_url_for, redact_url


def test_database_url_wins_and_nothing_is_started(tmp_path: Path) -> None:
    settings = load_settings({"DATABASE_URL": "postgresql://app@db/x"}, data_dir=tmp_path)
    assert resolve_database_url(settings, start=True) == "postgresql://app@db/x"
    assert not (tmp_path / "postgres").exists()


def test_stopped_embedded_server_is_reported_not_started(tmp_path: Path) -> None:
    settings = load_settings({}, data_dir=tmp_path)
    with pytest.raises(EmbeddedServerError, match="is not running; start it with `rythmiq-otel db start`"):
        resolve_database_url(settings)
    assert not (tmp_path / "postgres").exists()


def test_start_true_starts_the_embedded_server_and_returns_its_url(initialised_data_dir: Path) -> None:
    settings = load_settings({}, data_dir=initialised_data_dir)
    url = resolve_database_url(settings, start=True)
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT current_setting('listen_addresses')").fetchone() == ("",)
    assert resolve_database_url(settings) == url


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("postgresql://app:s3cret@db:5432/x", "postgresql://app:***@db:5432/x"),
        ("postgresql://app@db/x", "postgresql://app@db/x"),
        ("host=db password='a b' dbname=x", "host=db password=*** dbname=x"),
        ("host=db password=s3cret", "host=db password=***"),
    ],
)
def test_redact_url_hides_passwords_in_both_libpq_forms(url: str, shown: str) -> None:
    assert redact_url(url) == shown


def test_database_url_for_switches_the_database_in_both_libpq_forms() -> None:
    assert database_url_for("postgresql://u@/postgres?host=/run/pg&port=5432", "t_1") == (
        "postgresql://u@/t_1?host=/run/pg&port=5432"
    )
    switched = database_url_for("host=/run/pg dbname=postgres", "t_1")
    assert conninfo_to_dict(switched) == {"host": "/run/pg", "dbname": "t_1"}
