"""Fixtures of the sink tests: a sink app over real HTTP, in memory or on Postgres."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from rythmiq_otel.store.sink import CopyWriter, MemoryWriter, create_app
from rythmiq_otel.store.sink._pii_layer import PiiLayer
from tests.store.sink.sink_helpers import serve, settings


@pytest.fixture
def memory_writer() -> MemoryWriter:
    return MemoryWriter()


@pytest.fixture
def memory_sink(memory_writer: MemoryWriter) -> Iterator[str]:
    """A sink over HTTP whose writer is in memory (protocol tests that don't need Postgres)."""
    with serve(create_app(settings(), writer=memory_writer, scrubber=PiiLayer())) as url:
        yield url


@pytest.fixture
def pg_sink(database_url: str) -> Iterator[str]:
    """A sink over HTTP writing to a fresh migrated database."""
    writer = CopyWriter(database_url, pool_size=3)
    app = create_app(settings(database_url=database_url), writer=writer, scrubber=PiiLayer(),
                     on_shutdown=writer.close)
    with serve(app) as url:
        yield url
