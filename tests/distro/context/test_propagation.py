"""OTEL_PROPAGATORS: tracecontext + baggage by default, unknown names skipped with one warning."""

from __future__ import annotations

import json
import logging
import subprocess
from collections.abc import Callable, Iterator

import pytest
from opentelemetry import baggage, propagate
from opentelemetry.propagate import get_global_textmap, set_global_textmap

from rythmiq_otel.distro.context._propagation import install_propagators
from tests.otlp_capture import OtlpCapture


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


def test_an_uninstalled_propagator_in_the_environment_keeps_the_service_instrumented(
    run_instrumented: Callable[..., subprocess.CompletedProcess[str]], otlp_capture: OtlpCapture
) -> None:
    """Set before start-up, ``xray`` (not installed) used to make the API's own import raise: no hook,
    no telemetry, and a crash in the user's ``from opentelemetry import propagate``."""
    code = (
        "import logging\n"
        "from opentelemetry import propagate, trace\n"
        "with trace.get_tracer('t').start_as_current_span('work'):\n"
        "    carrier = {}\n"
        "    propagate.inject(carrier)\n"
        "    logging.getLogger('app').warning('carrier %s', sorted(carrier))\n"
    )
    result = run_instrumented(code, OTEL_PROPAGATORS="tracecontext,xray")
    assert result.returncode == 0, result.stderr
    assert "sitecustomize" not in result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    warnings = [line["message"] for line in lines if "OTEL_PROPAGATORS" in line["message"]]
    assert warnings == ["OTEL_PROPAGATORS names 'xray', which is not an installed propagator; skipping it."]
    assert [line["message"] for line in lines if line["message"].startswith("carrier")] == [
        "carrier ['traceparent']"
    ]
    assert [span["name"] for span in otlp_capture.spans()] == ["work"]
