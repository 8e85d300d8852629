"""FastAPI in a real process: a missing instrumentation never fails a request, and the upstream switch
``OTEL_PYTHON_DISABLED_INSTRUMENTATIONS=fastapi`` turns the server span off (our request events stay)."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from typing import Any

from opentelemetry.trace import SpanKind

from rythmiq_otel import vocab
from tests.otlp_capture import OtlpCapture

SERVE = """
from fastapi import FastAPI
from fastapi.testclient import TestClient

for _ in range(2):  # two apps: the missing instrumentation is reported once per process
    app = FastAPI()

    @app.get("/ping")
    def ping() -> dict:
        return {"ok": True}

    with TestClient(app) as client:
        for _ in range(2):
            assert client.get("/ping").status_code == 200, "request failed"
"""
# The instrumentation package made unimportable before anything loads it, as in an environment without it.
WITHOUT_INSTRUMENTATION = (
    "import sys\n"
    "sys.modules['opentelemetry.instrumentation.fastapi'] = None\n"
    "import rythmiq_otel\n"
    "rythmiq_otel.configure()\n"
) + SERVE


def _lines(result: subprocess.CompletedProcess[str]) -> list[dict[str, Any]]:
    assert result.returncode == 0, result.stderr
    return [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]


def _server_spans(capture: OtlpCapture) -> list[dict[str, Any]]:
    return [span for span in capture.spans() if span["kind"] == SpanKind.SERVER.value + 1]


def _completed(lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [line for line in lines if line.get("event") == vocab.EVENT_REQUEST_COMPLETED]


def test_without_the_fastapi_instrumentation_the_app_answers_after_one_warning(
    instrumented_env: dict[str, str], otlp_capture: OtlpCapture
) -> None:
    env = {**instrumented_env, "RYTHMIQ_SERVICE": "api"}
    result = subprocess.run(
        [sys.executable, "-c", WITHOUT_INSTRUMENTATION],
        env=env, capture_output=True, text=True, timeout=60, check=False,
    )
    lines = _lines(result)
    warnings = [line for line in lines if "opentelemetry-instrumentation-fastapi" in line["message"]]
    assert [line["level"] for line in warnings] == ["WARN"]
    assert [line["http_status"] for line in _completed(lines)] == [200, 200, 200, 200]


def test_disabling_the_fastapi_instrumentation_turns_the_server_span_off(
    run_instrumented: Callable[..., subprocess.CompletedProcess[str]], otlp_capture: OtlpCapture
) -> None:
    lines = _lines(run_instrumented(SERVE, OTEL_PYTHON_DISABLED_INSTRUMENTATIONS="fastapi",
                                    RYTHMIQ_SERVICE="api"))
    assert [line["http_status"] for line in _completed(lines)] == [200, 200, 200, 200]
    assert otlp_capture.spans() == []  # neither the stock server span nor FastAPI's own spans


def test_by_default_every_request_gets_one_server_span(
    run_instrumented: Callable[..., subprocess.CompletedProcess[str]], otlp_capture: OtlpCapture
) -> None:
    lines = _lines(run_instrumented(SERVE, RYTHMIQ_SERVICE="api"))
    assert len(_completed(lines)) == 4
    assert [span["name"] for span in _server_spans(otlp_capture)] == ["GET /ping"] * 4


ERRORS = """
from fastapi import FastAPI, HTTPException
from fastapi.testclient import TestClient

app = FastAPI()

@app.get("/boom")
def boom() -> dict:
    raise RuntimeError("handler bug")

@app.get("/slow")
def slow() -> dict:
    raise HTTPException(status_code=504)

@app.get("/missing")
def missing() -> dict:
    raise HTTPException(status_code=404)

with TestClient(app, raise_server_exceptions=False) as client:
    codes = [client.get(p).status_code for p in ("/boom", "/boom", "/slow", "/missing")]
    assert codes == [500, 500, 504, 404], codes
"""


def test_the_api_counts_server_errors_in_rythmiq_errors_total(
    run_instrumented: Callable[..., subprocess.CompletedProcess[str]], otlp_capture: OtlpCapture
) -> None:
    _lines(run_instrumented(ERRORS, RYTHMIQ_SERVICE="api"))
    counted: dict[tuple[str, str], float] = {}
    for point in otlp_capture.metric_points():
        if point["name"] == vocab.METRIC_ERRORS_TOTAL:
            key = (point["attributes"]["error_code"], point["attributes"]["stage"])
            counted[key] = counted.get(key, 0) + point["value"]  # delta points add up
    assert counted == {("INTERNAL_ERROR", vocab.OTHER): 2, ("TIMEOUT", vocab.OTHER): 1}
