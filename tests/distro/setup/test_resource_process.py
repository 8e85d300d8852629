"""The resource a real process exports: ``service.name`` in the SDK's order of precedence."""

from __future__ import annotations

import subprocess
from collections.abc import Callable

import pytest

from tests.otlp_capture import OtlpCapture

SPAN = "from opentelemetry import trace\ntrace.get_tracer('t').start_span('work').end()\n"


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, "rythmiq-worker"),
        ({"OTEL_RESOURCE_ATTRIBUTES": "service.name=ocr-worker,team=docs"}, "ocr-worker"),
        ({"OTEL_RESOURCE_ATTRIBUTES": "service.name=ocr-worker", "OTEL_SERVICE_NAME": "camber-ocr"},
         "camber-ocr"),
        ({"OTEL_SERVICE_NAME": "camber-ocr"}, "camber-ocr"),
    ],
)
def test_service_name_follows_the_sdk_precedence(
    run_instrumented: Callable[..., subprocess.CompletedProcess[str]],
    otlp_capture: OtlpCapture,
    env: dict[str, str],
    expected: str,
) -> None:
    result = run_instrumented(SPAN, **env)
    assert result.returncode == 0, result.stderr
    (span,) = otlp_capture.spans()
    assert span["resource"]["service.name"] == expected
    assert span["resource"]["rythmiq.service"] == "worker"
