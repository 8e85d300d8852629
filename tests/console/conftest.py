"""One seeded store per test module (read-only tests share it), and a connection to it per test."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import psycopg
import pytest

from .seed import Seed, make_seed, store


@pytest.fixture(scope="module")
def seeded(migrated_database_factory) -> Iterator[tuple[str, Seed]]:
    """A migrated database holding ``make_seed()``'s data, and that data."""
    url = migrated_database_factory()
    seed = make_seed()
    with psycopg.connect(url, autocommit=True) as conn:
        store(conn, seed)
    yield url, seed


@pytest.fixture
def conn(seeded: tuple[str, Seed]) -> Iterator[psycopg.Connection]:
    with psycopg.connect(seeded[0], autocommit=True) as connection:
        yield connection


@pytest.fixture
def free_port_url() -> str:
    """A connection string to a port nothing listens on (the store is down)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"postgresql://nobody@127.0.0.1:{port}/none?connect_timeout=2"
