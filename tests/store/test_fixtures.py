"""The shared Postgres fixtures: each test gets its own fully migrated database, gone afterwards."""

from __future__ import annotations

import psycopg

from rythmiq_otel.store import load_migrations


def test_database_url_is_fully_migrated(database_url: str) -> None:
    with psycopg.connect(database_url) as conn:
        applied = [row[0] for row in conn.execute("SELECT name FROM schema_migrations ORDER BY version")]
    assert applied == [m.name for m in load_migrations()]


def test_each_test_gets_its_own_database(database_url: str, pg_admin_url: str) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("CREATE TABLE only_here (x int)")
        name = conn.execute("SELECT current_database()").fetchone()
    with psycopg.connect(pg_admin_url) as admin:
        others = admin.execute(
            "SELECT count(*) FROM pg_database WHERE datname LIKE 'rythmiq_test_%%' AND datname <> %s", name
        ).fetchone()
    assert others == (0,)
