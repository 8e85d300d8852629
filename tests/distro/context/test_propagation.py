"""OTEL_PROPAGATORS: tracecontext + baggage by default, unknown names skipped with one warning."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
from opentelemetry import baggage, propagate
from opentelemetry.propagate import get_global_textmap, set_global_textmap

from rythmiq_otel.distro.context._propagation import install_propagators


@pytest.fixture(autouse=True)
def restore_textmap() -> Iterator[None]:
    saved = get_global_textmap()
    yield
    set_global_textmap(saved)


def test_default_propagators_carry_baggage_ids() -> None:
    install_propagators(("tracecontext", "baggage"))
    carrier: dict[str, str] = {}
    propagate.inject(carrier, context=baggage.set_baggage("job_id", "550e8400-e29b-41d4-a716-446655440000"))
    assert carrier["baggage"] == "job_id=550e8400-e29b-41d4-a716-446655440000"
    assert baggage.get_baggage("job_id", propagate.extract(carrier)) == "550e8400-e29b-41d4-a716-446655440000"


def test_an_unknown_propagator_is_skipped_with_one_warning(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="rythmiq_otel.distro.context._propagation"):
        install_propagators(("nosuch", "baggage"))
    (record,) = caplog.records
    assert record.getMessage() == (
        "OTEL_PROPAGATORS names 'nosuch', which is not an installed propagator; skipping it."
    )
    carrier: dict[str, str] = {}
    propagate.inject(carrier, context=baggage.set_baggage("k", "v"))
    assert carrier == {"baggage": "k=v"}
