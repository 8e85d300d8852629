"""Migrations: applied in order once each, recorded with checksums, serialised, and never rewritten."""

from __future__ import annotations

import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psycopg
import pytest

from rythmiq_otel.store import MigrationError, load_migrations, migrate, pending_migrations
from rythmiq_otel.store._migrate import migrations_dir
from tests.wheel_build import REPO, build_wheel, run_from


def _write(directory: Path, files: dict[str, str]) -> Path:
    directory.mkdir(exist_ok=True)
    for name, sql in files.items():
        (directory / name).write_text(sql)
    return directory


def _connect(url: str) -> psycopg.Connection:
    return psycopg.connect(url, autocommit=True)


def test_fresh_database_gets_every_migration_in_order(empty_database_url: str) -> None:
    with _connect(empty_database_url) as conn:
        applied = migrate(conn)
        recorded = conn.execute(
            "SELECT version, name, checksum FROM schema_migrations ORDER BY version"
        ).fetchall()
    expected = load_migrations()
    assert [m.name for m in applied] == [m.name for m in expected]
    assert recorded == [(m.version, m.name, m.checksum) for m in expected]
    assert [m.version for m in expected] == sorted(m.version for m in expected)


def test_second_run_is_a_no_op(database_url: str) -> None:
    with _connect(database_url) as conn:
        before = conn.execute("SELECT name, applied_at FROM schema_migrations ORDER BY version").fetchall()
        assert migrate(conn) == []
        after = conn.execute("SELECT name, applied_at FROM schema_migrations ORDER BY version").fetchall()
    assert before == after


def test_dry_run_lists_pending_and_applies_nothing(empty_database_url: str) -> None:
    with _connect(empty_database_url) as conn:
        pending = migrate(conn, dry_run=True)
        history = conn.execute("SELECT to_regclass('schema_migrations')").fetchone()
    assert [m.name for m in pending] == [m.name for m in load_migrations()]
    assert history == (None,)


def test_edited_migration_is_refused_with_its_name(empty_database_url: str, tmp_path: Path) -> None:
    source = _write(tmp_path / "m", {"0001_first.sql": "CREATE TABLE t (x int);"})
    with _connect(empty_database_url) as conn:
        migrate(conn, load_migrations(source))
        _write(source, {"0001_first.sql": "CREATE TABLE t (x bigint);", "0002_next.sql": "SELECT 1;"})
        edited = r"migration 0001_first\.sql was edited after it was applied"
        with pytest.raises(MigrationError, match=edited):
            migrate(conn, load_migrations(source))
        assert conn.execute("SELECT count(*) FROM schema_migrations").fetchone() == (1,)


def test_failing_migration_is_rolled_back_and_not_recorded(empty_database_url: str, tmp_path: Path) -> None:
    source = _write(tmp_path / "m", {
        "0001_ok.sql": "CREATE TABLE ok (x int);",
        "0002_broken.sql": "CREATE TABLE half (x int); SELECT no_such_column FROM ok;",
    })
    failed = r"migration 0002_broken\.sql failed and was rolled back: .*no_such"
    with _connect(empty_database_url) as conn:
        with pytest.raises(MigrationError, match=failed):
            migrate(conn, load_migrations(source))
        names = [r[0] for r in conn.execute("SELECT name FROM schema_migrations")]
        half = conn.execute("SELECT to_regclass('half')").fetchone()
    assert names == ["0001_ok.sql"]
    assert half == (None,)


def test_concurrent_runs_apply_each_migration_once(empty_database_url: str, tmp_path: Path) -> None:
    # The first file holds its transaction open, so without the advisory lock both runners would apply it.
    source = _write(tmp_path / "m", {
        "0001_slow.sql": "SELECT pg_sleep(0.5); CREATE TABLE slow (x int);",
        "0002_after.sql": "CREATE TABLE after_slow (x int);",
    })
    migrations = load_migrations(source)

    def run(_: int) -> list[str]:
        with _connect(empty_database_url) as conn:
            return [m.name for m in migrate(conn, migrations)]

    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(run, range(2)))  # an error in either run is raised here
    assert sorted(results) == [[], ["0001_slow.sql", "0002_after.sql"]]


@pytest.mark.parametrize(
    ("name", "message"),
    [("1_short.sql", "must be named NNNN_name.sql"), ("0001_Upper.sql", "must be named NNNN_name.sql")],
)
def test_badly_named_file_is_refused(tmp_path: Path, name: str, message: str) -> None:
    source = _write(tmp_path / "m", {name: "SELECT 1;"})
    with pytest.raises(MigrationError, match=message):
        load_migrations(source)


def test_two_files_with_one_number_are_refused(tmp_path: Path) -> None:
    source = _write(tmp_path / "m", {"0001_a.sql": "SELECT 1;", "0001_b.sql": "SELECT 2;"})
    with pytest.raises(MigrationError, match="share the number 0001"):
        load_migrations(source)


def test_pending_migrations_is_read_only(empty_database_url: str) -> None:
    with _connect(empty_database_url) as conn:
        assert len(pending_migrations(conn)) == len(load_migrations())
        assert conn.execute("SELECT to_regclass('schema_migrations')").fetchone() == (None,)


def test_migrate_refuses_a_connection_outside_autocommit(database_url: str) -> None:
    with psycopg.connect(database_url) as conn, pytest.raises(MigrationError, match="autocommit"):
        migrate(conn)


def test_checkout_finds_the_top_level_migrations_directory() -> None:
    assert Path(str(migrations_dir())) == REPO / "migrations"


def test_built_wheel_ships_and_finds_the_migrations(tmp_path: Path) -> None:
    wheel = build_wheel(tmp_path / "dist")
    names = zipfile.ZipFile(wheel).namelist()
    shipped = sorted(n for n in names if n.startswith("rythmiq_otel/_migrations/"))
    assert shipped == [f"rythmiq_otel/_migrations/{m.name}" for m in load_migrations()]
    # Import from the wheel itself (zip import), away from the checkout: the files come from the package.
    code = (
        "import rythmiq_otel, rythmiq_otel.store as s\n"
        "from rythmiq_otel.store._migrate import migrations_dir\n"
        "print(rythmiq_otel.__file__); print(migrations_dir()); print(len(s.load_migrations()))\n"
    )
    module_file, directory, count = run_from(wheel, code).split("\n")[:3]
    assert module_file.startswith(str(wheel))
    assert directory.startswith(str(wheel)) and directory.rstrip("/").endswith("rythmiq_otel/_migrations")
    assert int(count) == len(load_migrations())
