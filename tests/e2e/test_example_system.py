"""Issue 4 end to end: api -> Camber payload -> worker -> webhook as real processes, one trace, one id.

The example system runs under ``rythmiq-otel instrument`` and exports OTLP to a real local receiver; the
assertions read both outputs: the JSON lines each process wrote to stdout and the OTLP requests.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import pytest

from examples.run import API_USER, ExampleSystem
from rythmiq_otel import vocab
from tests.e2e.json_lines import SERVICE_ORDER, json_lines
from tests.otlp_capture import OtlpCapture

pytestmark = pytest.mark.slow

SCHEMA = json.loads(
    (Path(__file__).parents[2] / "rythmiq_otel" / "distro" / "logs" / "log_schema.json").read_text()
)
# §2.3: the job's timeline, by event, in order (stage events between job.started and job.completed).
SEQUENCE = [
    vocab.EVENT_REQUEST_STARTED, vocab.EVENT_JOB_CREATED, vocab.EVENT_REQUEST_COMPLETED,
    vocab.EVENT_JOB_STARTED, *[vocab.EVENT_STAGE_COMPLETED] * 7, vocab.EVENT_JOB_COMPLETED,
    vocab.EVENT_METRICS_SUMMARY, vocab.EVENT_WEBHOOK_RECEIVED, vocab.EVENT_WEBHOOK_PROCESSED,
]


def submit(system: ExampleSystem, headers: dict[str, str] | None = None, **job: Any) -> httpx.Response:
    """POST /jobs with the demo token; ``job`` overrides fields of the request body."""
    body = {"filename": "scan-001.pdf", "page_count": 1, **job}
    return httpx.post(f"{system.api_url}/jobs", json=body, timeout=10,
                      headers={**system.auth_headers, **(headers or {})})


def run_job(system: ExampleSystem, headers: dict[str, str] | None = None, **job: Any) -> dict[str, Any]:
    """Submit a job, wait until the webhook finished it, return the final status body."""
    response = submit(system, headers, **job)
    assert response.status_code == 201, response.text
    return finished(system, response.json()["job_id"], worker_survives=job.get("fail_with") != "WORKER_CRASH")


def finished(system: ExampleSystem, job_id: str, *, worker_survives: bool = True) -> dict[str, Any]:
    """Wait for the job's final status, the webhook's last line about it and the worker's (its metrics
    summary; a worker that crashes mid-job writes none).

    The webhook commits the new status a moment before it logs "Job transitioned to ...", and each service
    writes its JSON lines off the calling thread, so the worker's last lines can land after the webhook's.
    """
    final = system.wait_for_job(job_id)
    last_words = {vocab.EVENT_WEBHOOK_PROCESSED, *([vocab.EVENT_METRICS_SUMMARY] if worker_survives else [])}
    assert system.wait_until(lambda: last_words <= {line.get("event") for line in job_lines(system, job_id)})
    return final


def job_lines(system: ExampleSystem, job_id: str) -> list[dict[str, Any]]:
    return [line for line in json_lines(system) if line.get("job_id") == job_id]


def trace_lines(system: ExampleSystem, correlation_id: str) -> list[dict[str, Any]]:
    """The job's lines in time order (ties keep api -> worker -> webhook order, which is causal)."""
    lines = [line for line in json_lines(system) if line.get("correlation_id") == correlation_id]
    return sorted(lines, key=lambda line: line["timestamp"])


def is_subsequence(wanted: list[str], events: list[str]) -> bool:
    remaining = iter(events)
    return all(any(event == step for event in remaining) for step in wanted)


def test_a_job_is_one_trace_across_api_worker_and_webhook(
    example_system: ExampleSystem, example_otlp: OtlpCapture
) -> None:
    final = run_job(example_system)
    assert final["status"] == "completed"
    correlation_id = final["correlation_id"]
    trace_id = uuid.UUID(correlation_id).hex

    wanted = {"POST /jobs", "job", "webhook camber", *(f"stage {stage}" for stage in vocab.WORKER_STAGES)}

    def spans() -> list[dict[str, Any]]:
        return [span for span in example_otlp.spans() if span["trace_id"] == trace_id]

    assert example_otlp.wait_until(lambda: wanted <= {span["name"] for span in spans()}, timeout=15)
    assert {span["resource"].get(vocab.RESOURCE_SERVICE_ATTR) for span in spans()} == {
        "api", "worker", "webhook"}
    by_id = {span["span_id"]: span for span in spans()}
    job_span = next(span for span in spans() if span["name"] == "job")
    stage_parents = {span["parent_span_id"] for span in spans() if span["name"].startswith("stage ")}
    assert stage_parents == {job_span["span_id"]}
    # The worker continues the api's trace: its job span's parent is an api span.
    assert by_id[job_span["parent_span_id"]]["resource"][vocab.RESOURCE_SERVICE_ATTR] == "api"


def test_every_line_of_a_job_carries_the_trace_id_as_correlation_id(
    example_system: ExampleSystem, example_otlp: OtlpCapture
) -> None:
    final = run_job(example_system)
    lines = job_lines(example_system, final["job_id"])
    assert {line["service"] for line in lines} == {"api", "worker", "webhook"}
    # Status polls (GET /jobs/{job_id}) are requests of their own, in traces of their own.
    polls = {line["correlation_id"] for line in lines
             if line.get("http_method") == "GET" or line.get("event") == vocab.EVENT_JOB_STATUS_QUERIED}
    assert polls and final["correlation_id"] not in polls
    job_trace = [line for line in lines if line["correlation_id"] not in polls]
    assert {line["correlation_id"] for line in job_trace} == {final["correlation_id"]}
    assert {line["trace_id"] for line in job_trace} == {uuid.UUID(final["correlation_id"]).hex}
    # Only "Request started" comes before the job exists (§2.3 line 1 has no job_id).
    assert {line.get("event") for line in job_trace} >= set(SEQUENCE) - {vocab.EVENT_REQUEST_STARTED}

    def exported() -> list[dict[str, Any]]:
        return [record for record in example_otlp.log_records()
                if record["attributes"].get("job_id") == final["job_id"]
                and record["attributes"].get("correlation_id") not in polls]

    def settled() -> bool:
        """One exported record per JSON line of the job: lines are written off the calling thread, so the
        last ones may still be on their way to the file while the first exports arrive."""
        on_stdout = [line for line in job_lines(example_system, final["job_id"])
                     if line["correlation_id"] not in polls]
        return len(on_stdout) >= len(job_trace) and len(exported()) == len(on_stdout)

    assert example_otlp.wait_until(settled, timeout=15)
    assert {record["attributes"]["correlation_id"] for record in exported()} == {final["correlation_id"]}
    assert {record["trace_id"] for record in exported()} == {uuid.UUID(final["correlation_id"]).hex}


def test_the_spec_sequence_of_events_appears_in_order(example_system: ExampleSystem) -> None:
    final = run_job(example_system, quality_hint=0.5)
    lines = trace_lines(example_system, final["correlation_id"])
    by_service = {service: [line.get("event") for line in lines if line["service"] == service]
                  for service in SERVICE_ORDER}
    # Within each process the order is exact (§2.3 steps 1-3, 4-6, 7-8).
    assert is_subsequence(SEQUENCE[:3], by_service["api"]), by_service["api"]
    assert is_subsequence(SEQUENCE[3:13], by_service["worker"]), by_service["worker"]
    assert is_subsequence(SEQUENCE[13:], by_service["webhook"]), by_service["webhook"]
    assert by_service["worker"].count(vocab.EVENT_STAGE_STARTED) == 7
    assert vocab.EVENT_OCR_ROLLBACK in by_service["worker"]
    # Across processes, causality: created before started, completed before the webhook heard of it.
    at = {line.get("event"): line["timestamp"] for line in lines}
    assert at[vocab.EVENT_JOB_CREATED] <= at[vocab.EVENT_JOB_STARTED]
    assert at[vocab.EVENT_JOB_COMPLETED] <= at[vocab.EVENT_WEBHOOK_RECEIVED]


def test_a_client_correlation_id_is_preserved_end_to_end(example_system: ExampleSystem) -> None:
    caller_id = str(uuid.uuid4())
    response = submit(example_system, {"X-Correlation-ID": caller_id})
    assert response.headers[vocab.CORRELATION_HEADER] == caller_id
    assert response.json()["correlation_id"] == caller_id
    final = finished(example_system, response.json()["job_id"])
    assert final["correlation_id"] == caller_id
    services = {line["service"] for line in trace_lines(example_system, caller_id)}
    assert services == {"api", "worker", "webhook"}


@pytest.mark.parametrize(
    "garbage",
    ["not-a-uuid", "7c9e6679-7425-40de-944b-e07fc1f90ae7-and-more", "%0d%0aSet-Cookie: x=1", "a" * 4000],
)
def test_garbage_correlation_headers_are_replaced_warned_and_never_echoed(
    example_system: ExampleSystem, garbage: str
) -> None:
    response = submit(example_system, {"X-Correlation-ID": garbage})
    assert response.status_code == 201
    issued = response.headers[vocab.CORRELATION_HEADER]
    assert uuid.UUID(issued).version == 4
    final = finished(example_system, response.json()["job_id"])
    assert final["status"] == "completed" and final["correlation_id"] == issued
    warnings = [line for line in trace_lines(example_system, issued)
                if line["level"] == "WARN" and vocab.CORRELATION_HEADER in line["message"]]
    assert len(warnings) == 1
    assert all(garbage not in json.dumps(line) for line in json_lines(example_system))


def test_errors_and_streamed_output_carry_x_correlation_id(example_system: ExampleSystem) -> None:
    final = run_job(example_system)
    api = example_system.api_url
    streamed = httpx.get(f"{api}/jobs/{final['job_id']}/output", headers=example_system.auth_headers)
    unauthorized = httpx.get(f"{api}/jobs/{final['job_id']}")
    missing = httpx.get(f"{api}/jobs/{uuid.uuid4()}", headers=example_system.auth_headers)
    assert [r.status_code for r in (streamed, unauthorized, missing)] == [200, 401, 404]
    issued = [r.headers[vocab.CORRELATION_HEADER] for r in (streamed, unauthorized, missing)]
    assert all(uuid.UUID(value).version == 4 for value in issued)
    assert len(set(issued)) == 3
    delivered = [line for line in trace_lines(example_system, issued[0])
                 if line.get("event") == vocab.EVENT_OUTPUT_DELIVERED]
    assert delivered[0]["job_id"] == final["job_id"]


def test_a_valid_traceparent_wins_over_the_correlation_header(example_system: ExampleSystem) -> None:
    trace_id = uuid.uuid4().hex
    response = submit(example_system, {"traceparent": f"00-{trace_id}-00f067aa0ba902b7-01",
                                       "X-Correlation-ID": str(uuid.uuid4())})
    assert response.headers[vocab.CORRELATION_HEADER] == str(uuid.UUID(trace_id))


@pytest.mark.parametrize("error_code", vocab.ERROR_CODES)
def test_each_error_code_fails_the_job_with_that_code_in_one_trace(
    example_system: ExampleSystem, error_code: str
) -> None:
    final = run_job(example_system, fail_with=error_code)
    assert (final["status"], final["error_code"]) == ("failed", error_code)
    lines = trace_lines(example_system, final["correlation_id"])
    failed = [line for line in lines if line.get("event") == vocab.EVENT_JOB_FAILED]
    assert len(failed) == 1
    assert failed[0]["level"] == "ERROR"
    assert failed[0]["error_code"] == error_code
    assert failed[0]["error_stage"] == final["error_stage"]
    summary = [line for line in lines if line.get("event") == vocab.EVENT_METRICS_SUMMARY]
    assert len(summary) == 1 and set(summary[0]["extra"]) >= {"total_cpu_seconds", "fetch_cpu_seconds"}
    processed = [line for line in lines if line.get("event") == vocab.EVENT_WEBHOOK_PROCESSED]
    assert processed[0]["extra"]["status"] == "failed"


def test_pooled_workers_run_warm_and_fresh_processes_run_cold(example_system: ExampleSystem) -> None:
    run_job(example_system)  # the pool's process has now run a job, whatever ran before this test
    pooled = [run_job(example_system) for _ in range(2)]
    fresh = run_job(example_system, execution="fresh")
    temperature = {}
    for final in [*pooled, fresh]:
        started = [line for line in job_lines(example_system, final["job_id"])
                   if line.get("event") == vocab.EVENT_JOB_STARTED]
        temperature[final["job_id"]] = started[0]["extra"]["execution_temperature"]
    assert [temperature[final["job_id"]] for final in pooled] == ["warm", "warm"]
    assert temperature[fresh["job_id"]] == "cold"
    cold_warnings = [line for line in job_lines(example_system, fresh["job_id"])
                     if line.get("event") == vocab.EVENT_COLD_START]
    assert cold_warnings[0]["level"] == "WARN"


def test_a_worker_that_dies_mid_job_still_fails_the_job_and_is_replaced(
    example_system: ExampleSystem
) -> None:
    crashed = run_job(example_system, fail_with="WORKER_CRASH")
    assert (crashed["status"], crashed["error_code"]) == ("failed", "INTERNAL_ERROR")
    after = run_job(example_system)
    assert after["status"] == "completed"
    started = [line for line in job_lines(example_system, after["job_id"])
               if line.get("event") == vocab.EVENT_JOB_STARTED]
    assert started[0]["extra"]["execution_temperature"] == "cold"


def test_payload_context_garbage_falls_back_to_the_plain_correlation_id(
    example_system: ExampleSystem
) -> None:
    plain_id, job_id = str(uuid.uuid4()), str(uuid.uuid4())
    payload = {"job_id": job_id, "correlation_id": plain_id, "traceparent": "00-garbage-\u0000-01",
               "baggage": "x=" + "y" * 9000, "document": {"page_count": 1}}
    assert httpx.post(f"{example_system.camber_url}/v1/jobs", json=payload).status_code == 202

    def rejected() -> bool:  # and the worker wrote its last line (lines are written off the calling thread)
        events = {line.get("event") for line in job_lines(example_system, job_id)}
        return {vocab.EVENT_WEBHOOK_REJECTED, vocab.EVENT_METRICS_SUMMARY} <= events

    assert example_system.wait_until(rejected)
    lines = job_lines(example_system, job_id)
    assert {line["correlation_id"] for line in lines} == {plain_id}
    events = [line.get("event") for line in lines]
    assert vocab.EVENT_JOB_COMPLETED in events
    # The warnings are logged inside the job's span, so they carry its ids like every other line.
    warnings = [line["message"] for line in lines if line["level"] == "WARN"]
    assert any("traceparent is invalid" in message for message in warnings)
    assert any("oversize" in message for message in warnings)


def test_every_json_line_validates_against_the_log_schema(example_system: ExampleSystem) -> None:
    run_job(example_system)
    validator = jsonschema.Draft7Validator(SCHEMA, format_checker=jsonschema.FormatChecker())
    lines = json_lines(example_system)
    assert len(lines) > 50
    errors = [(line, error.message) for line in lines for error in validator.iter_errors(line)]
    assert errors == []


def test_the_catalog_metrics_arrive_with_bounded_labels(
    example_system: ExampleSystem, example_otlp: OtlpCapture
) -> None:
    run_job(example_system)
    run_job(example_system, fail_with="SCHEMA_INVALID")

    def labels(name: str, key: str) -> set[str]:
        points = example_otlp.metric_points()
        return {point["attributes"].get(key) for point in points if point["name"] == name}

    def arrived() -> bool:
        return ({"success", "failed"} <= labels(vocab.METRIC_JOBS_TOTAL, "status")
                and "SCHEMA_INVALID" in labels(vocab.METRIC_ERRORS_TOTAL, "error_code")
                and set(vocab.WORKER_STAGES) <= labels(vocab.METRIC_JOB_CPU, "stage")
                and "/jobs" in labels(vocab.METRIC_API_REQUESTS, "path"))

    assert example_otlp.wait_until(arrived, timeout=15)
    assert labels(vocab.METRIC_ERRORS_TOTAL, "stage") >= {"schema"}
    assert labels(vocab.METRIC_JOB_LATENCY, "execution_temp") <= {"cold", "warm"}
    assert labels(vocab.METRIC_QUALITY_SCORE, "processing_path") <= set(vocab.PROCESSING_PATHS)
    assert labels(vocab.METRIC_API_LATENCY, "path") >= {"/jobs", "/jobs/{job_id}"}
    for point in example_otlp.metric_points():
        if point["name"] in vocab.METRIC_LABELS:
            assert set(point["attributes"]) == set(vocab.METRIC_LABELS[point["name"]]), point["name"]
            assert not any(len(str(value)) == 36 for value in point["attributes"].values()), point


def test_no_filename_user_id_storage_path_or_output_leaves_any_service(
    example_system: ExampleSystem, example_otlp: OtlpCapture
) -> None:
    filename = f"invoice-{uuid.uuid4().hex[:8]}.pdf"
    final = run_job(example_system, filename=filename)
    httpx.get(f"{example_system.api_url}/jobs/{final['job_id']}/output", headers=example_system.auth_headers)
    assert example_otlp.wait_until(lambda: any(
        record["attributes"].get("job_id") == final["job_id"]
        and record["attributes"].get("event.name") == vocab.EVENT_WEBHOOK_PROCESSED
        for record in example_otlp.log_records()))
    stdout = "\n".join(path.read_text() for path in example_system.log_files())
    exported = b"".join(request.message.SerializeToString() for request in example_otlp.requests)
    for secret in (filename, API_USER, f"uploads/{API_USER}", '"document_type"'):
        assert secret not in stdout
        assert secret.encode() not in exported


def test_the_services_own_fields_never_trip_the_pii_guard(example_system: ExampleSystem) -> None:
    """Redactions of the spec's own fields or our helpers' metadata would be false positives that lose data;
    the only hits a clean job may cause are third-party text (uvicorn's URLs, span host attributes)."""
    run_job(example_system)
    run_job(example_system, fail_with="OCR_FAILURE")
    reports = [line for line in json_lines(example_system) if line.get("event") == vocab.EVENT_PII_REDACTED]
    paths = {path for report in reports for path in report["extra"]["paths"]}
    ours = {path for path in paths if path.startswith("extra.") or path in vocab.LOG_ATTRIBUTE_FIELDS}
    assert ours == set()
