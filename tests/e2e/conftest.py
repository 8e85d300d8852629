"""The example system, started once per module as real processes exporting to a real OTLP receiver."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from examples.run import ExampleSystem, start_system
from tests.otlp_capture import OtlpCapture


@pytest.fixture(scope="module")
def example_otlp() -> Iterator[OtlpCapture]:
    with OtlpCapture() as server:
        yield server


@pytest.fixture(scope="module")
def example_system(
    example_otlp: OtlpCapture, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ExampleSystem]:
    """api, webhook and job platform (one pooled worker), DEBUG logs, exporting to ``example_otlp``."""
    with start_system(otlp_endpoint=example_otlp.url, log_dir=tmp_path_factory.mktemp("example"), pool_size=1,
                      env={"LOG_LEVEL": "DEBUG"}) as running:
        yield running
