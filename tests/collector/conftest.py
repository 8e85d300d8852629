"""Fixtures for the collector tests: the built binary (or a skip that says how to build it), a restartable
stand-in for the sink, and collector processes that are always stopped afterwards."""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import NoReturn

import pytest

from rythmiq_otel.store.collector import CollectorError, find_binary
from tests.collector._process import CollectorFactory, CollectorProcess, free_port
from tests.collector._receiver import RestartableReceiver

SKIP_REASON = (
    "no collector binary: run `make collector` or `rythmiq-otel collector build` (needs Go), "
    "or set RYTHMIQ_COLLECTOR_BIN to an otelcol-contrib >= 0.161.0 binary"
)


def _unavailable(reason: str) -> NoReturn:
    """Skip, or fail where ``RYTHMIQ_REQUIRE_COLLECTOR`` is set (CI, which builds the collector first)."""
    if os.environ.get("RYTHMIQ_REQUIRE_COLLECTOR"):
        pytest.fail(f"RYTHMIQ_REQUIRE_COLLECTOR is set but {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def collector_binary() -> Path:
    """The collector ``rythmiq-otel collector build`` made (or ``RYTHMIQ_COLLECTOR_BIN``); skip without."""
    try:
        binary = find_binary()
    except CollectorError as err:
        _unavailable(str(err))
    if binary is None:
        _unavailable(SKIP_REASON)
    return binary.path


@pytest.fixture
def receiver() -> Iterator[RestartableReceiver]:
    """A sink stand-in on a fixed port, listening; stopped afterwards."""
    server = RestartableReceiver(free_port()).start()
    yield server
    server.stop()


@pytest.fixture
def start_collector(collector_binary: Path, tmp_path: Path) -> Iterator[CollectorFactory]:
    """Start collectors (``configs``, ``sink_url``, optional ``env``); every one is killed at teardown."""
    started: list[CollectorProcess] = []

    def start(
        configs: Sequence[Path], sink_url: str, *, name: str = "collector", **env: str
    ) -> CollectorProcess:
        storage = tmp_path / f"{name}-queue"
        collector = CollectorProcess(
            collector_binary, configs, sink_url=sink_url, storage_dir=storage,
            log_path=tmp_path / f"{name}.log", env=env,
        )
        started.append(collector)
        return collector.start()

    yield start
    for collector in started:
        collector.kill()
