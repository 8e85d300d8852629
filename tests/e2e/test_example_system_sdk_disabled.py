"""With ``OTEL_SDK_DISABLED=true`` no span is recorded, yet all JSON lines of a job share one id."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from examples.run import ExampleSystem, start_system
from rythmiq_otel import vocab
from tests.e2e.json_lines import json_lines

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def sdk_off_system(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ExampleSystem]:
    with start_system(otlp_endpoint=None, log_dir=tmp_path_factory.mktemp("sdk-off"),
                      env={"OTEL_SDK_DISABLED": "true"}) as running:
        yield running


def lines_of(system: ExampleSystem, job_id: str) -> list[dict[str, Any]]:
    return [line for line in json_lines(system) if line.get("job_id") == job_id]


@pytest.mark.parametrize("headers", [{}, {vocab.CORRELATION_HEADER: "7c9e6679-7425-40de-944b-e07fc1f90ae7"}])
def test_every_line_of_a_job_shares_the_ingress_correlation_id(
    sdk_off_system: ExampleSystem, headers: dict[str, str]
) -> None:
    response = httpx.post(f"{sdk_off_system.api_url}/jobs", json={"filename": "a.pdf"}, timeout=10,
                          headers={**sdk_off_system.auth_headers, **headers})
    issued = response.headers[vocab.CORRELATION_HEADER]
    assert issued == headers.get(vocab.CORRELATION_HEADER, issued)
    assert uuid.UUID(issued)
    job_id = response.json()["job_id"]
    assert sdk_off_system.wait_for_job(job_id)["status"] == "completed"

    def processed() -> bool:  # and the worker wrote its last line (lines are written off the calling thread)
        events = {line.get("event") for line in lines_of(sdk_off_system, job_id)}
        return {vocab.EVENT_WEBHOOK_PROCESSED, vocab.EVENT_METRICS_SUMMARY} <= events

    assert sdk_off_system.wait_until(processed)
    lines = [line for line in lines_of(sdk_off_system, job_id)
             if line.get("http_method") != "GET" and line.get("event") != vocab.EVENT_JOB_STATUS_QUERIED]
    assert {line["service"] for line in lines} == {"api", "worker", "webhook"}
    assert {line.get("correlation_id") for line in lines} == {issued}
    # Where a remote parent is all there is (the worker under the payload's context) its id is the same.
    assert {line["trace_id"] for line in lines if "trace_id" in line} <= {uuid.UUID(issued).hex}
