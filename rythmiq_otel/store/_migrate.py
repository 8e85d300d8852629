"""Apply the numbered SQL migrations in order, once each, and refuse when history was rewritten.

A migration is a file ``NNNN_name.sql``. Each runs in its own transaction together with the row that
records it (name + SHA-256 of the file) in ``schema_migrations``, so a failure leaves nothing half
applied. A session advisory lock serialises concurrent runs: the second waits, then finds nothing to do.
An applied file whose checksum changed is an error, never silently skipped or re-run: the database and
the code would disagree about the schema.

The files ship inside the wheel as ``rythmiq_otel/_migrations`` (hatch force-include) and live at the
top-level ``migrations/`` of a checkout; :func:`migrations_dir` finds whichever exists.
"""

from __future__ import annotations

import hashlib
import importlib.resources
import re
from dataclasses import dataclass
from importlib.resources.abc import Traversable
from pathlib import Path

import psycopg

from ._errors import MigrationError

_FILE_NAME = re.compile(r"^(?P<version>\d{4})_(?P<slug>[a-z0-9_]+)\.sql$")
# pg_advisory_lock key: the ASCII of "rythmiq" folded into a bigint; any constant shared by all runners.
_LOCK_KEY = int.from_bytes(b"rythmiq", "big")

_CREATE_HISTORY = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    version     integer PRIMARY KEY,
    name        text NOT NULL UNIQUE,
    checksum    text NOT NULL,
    applied_at  timestamptz NOT NULL DEFAULT now()
)
"""


@dataclass(frozen=True)
class Migration:
    """One migration file: its number, file name, SQL text and SHA-256 checksum (hex)."""

    version: int
    name: str
    sql: str
    checksum: str


def migrations_dir() -> Traversable:
    """Where the SQL files are: inside the installed package, else the checkout's ``migrations/``."""
    packaged = importlib.resources.files("rythmiq_otel") / "_migrations"
    if packaged.is_dir():
        return packaged
    checkout = Path(__file__).resolve().parents[2] / "migrations"
    if checkout.is_dir():
        return checkout
    raise MigrationError(
        f"no migrations found: neither {packaged} (installed package) nor {checkout} (checkout) exists"
    )


def load_migrations(directory: Traversable | None = None) -> tuple[Migration, ...]:
    """Read and validate every ``*.sql`` file of ``directory`` (default :func:`migrations_dir`), in order.

    Raises:
        MigrationError: a file is not named ``NNNN_name.sql`` or two files share a number.
    """
    source = migrations_dir() if directory is None else directory
    found: dict[int, Migration] = {}
    for entry in source.iterdir():
        if not entry.name.endswith(".sql"):
            continue
        match = _FILE_NAME.match(entry.name)
        if match is None:
            raise MigrationError(
                f"migration file {entry.name!r} must be named NNNN_name.sql (four digits, lower-case name)"
            )
        version = int(match["version"])
        if version in found:
            raise MigrationError(
                f"migrations {found[version].name!r} and {entry.name!r} share the number {match['version']}"
            )
        data = entry.read_bytes()
        checksum = hashlib.sha256(data).hexdigest()
        found[version] = Migration(version, entry.name, data.decode("utf-8"), checksum)
    return tuple(found[v] for v in sorted(found))


def _applied(conn: psycopg.Connection) -> dict[str, str]:
    """Name -> checksum of the applied migrations; empty when the history table does not exist yet."""
    exists = conn.execute("SELECT to_regclass('schema_migrations') IS NOT NULL").fetchone()
    if not exists or not exists[0]:
        return {}
    return dict(conn.execute("SELECT name, checksum FROM schema_migrations").fetchall())


def pending_migrations(
    conn: psycopg.Connection, migrations: tuple[Migration, ...] | None = None
) -> list[Migration]:
    """The migrations not applied yet, in order. Read-only: safe for a readiness probe.

    Raises:
        MigrationError: an applied migration's file changed since it was applied.
    """
    known = load_migrations() if migrations is None else migrations
    applied = _applied(conn)
    for migration in known:
        recorded = applied.get(migration.name)
        if recorded is not None and recorded != migration.checksum:
            raise MigrationError(
                f"migration {migration.name} was edited after it was applied (checksum {recorded[:12]} in the"
                f" database, {migration.checksum[:12]} on disk); add a new migration instead of editing it"
            )
    return [m for m in known if m.name not in applied]


def migrate(
    conn: psycopg.Connection, migrations: tuple[Migration, ...] | None = None, *, dry_run: bool = False
) -> list[Migration]:
    """Apply the pending migrations in order and return them (with ``dry_run``, only return them).

    ``conn`` must be in autocommit mode: each migration gets its own transaction, and the advisory lock
    belongs to the session.

    Raises:
        MigrationError: an applied file was edited, or a migration failed (its transaction is rolled back
            and the message names the file and the server's error).
    """
    if not conn.autocommit:
        raise MigrationError("migrate() needs a connection in autocommit mode (psycopg autocommit=True)")
    known = load_migrations() if migrations is None else migrations
    if dry_run:
        return pending_migrations(conn, known)
    conn.execute("SELECT pg_advisory_lock(%s)", (_LOCK_KEY,))
    try:
        conn.execute(_CREATE_HISTORY)
        pending = pending_migrations(conn, known)
        for migration in pending:
            _apply(conn, migration)
        return pending
    finally:
        conn.execute("SELECT pg_advisory_unlock(%s)", (_LOCK_KEY,))


def _apply(conn: psycopg.Connection, migration: Migration) -> None:
    try:
        with conn.transaction():
            conn.execute(migration.sql.encode())
            conn.execute(
                "INSERT INTO schema_migrations (version, name, checksum) VALUES (%s, %s, %s)",
                (migration.version, migration.name, migration.checksum),
            )
    except psycopg.Error as err:
        detail = (err.diag.message_primary or str(err)).strip().splitlines()[0]
        raise MigrationError(f"migration {migration.name} failed and was rolled back: {detail}") from err
