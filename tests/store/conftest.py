"""Fixtures for the store's SQL tests (the Postgres server and databases come from ``tests/conftest.py``)."""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest


@pytest.fixture
def conn(database_url: str) -> Iterator[psycopg.Connection]:
    """An autocommit connection to a fresh migrated database, in UTC so day boundaries are the store's."""
    with psycopg.connect(database_url, autocommit=True) as connection:
        connection.execute("SET TimeZone = 'UTC'")
        yield connection
