"""configure() in real processes under `rythmiq-otel instrument`: both outputs, idempotence, the switches."""

from __future__ import annotations

import subprocess
from collections.abc import Callable

import pytest

from rythmiq_otel import vocab
from tests.distro.log_lines import parse_lines
from tests.otlp_capture import OtlpCapture

pytestmark = pytest.mark.slow

Run = Callable[..., subprocess.CompletedProcess[str]]

JOB = """
from opentelemetry import baggage, context, trace
from rythmiq_otel import get_worker_logger, vocab
from rythmiq_otel.distro.metrics._catalog import instruments

log = get_worker_logger("worker.main")
context.attach(baggage.set_baggage("job_id", "550e8400-e29b-41d4-a716-446655440000"))
with trace.get_tracer("job").start_as_current_span("job"):
    log.info("Job processing started", extra={"event": vocab.EVENT_JOB_STARTED})
    log.debug("Stage started", extra={"event": vocab.EVENT_STAGE_STARTED, "stage": "ocr"})
    log.info("Stage completed",
             extra={"event": vocab.EVENT_STAGE_COMPLETED, "stage": "ocr", "cpu_seconds": 0.4})
    instruments().record(vocab.METRIC_JOB_CPU, 0.4, processing_path="fast", stage="ocr",
                         job_id="550e8400-e29b-41d4-a716-446655440000")
    instruments().record(vocab.METRIC_JOBS_TOTAL, 1, status="success", processing_path="fast")
"""


def test_an_instrumented_process_writes_valid_lines_and_exports_logs_spans_and_metrics(
    run_instrumented: Run, otlp_capture: OtlpCapture
) -> None:
    result = run_instrumented(JOB)
    assert result.returncode == 0, result.stderr
    lines = parse_lines(result.stdout)
    assert [line["message"] for line in lines] == ["Job processing started", "Stage completed"]

    records = otlp_capture.wait_for_logs(2)
    assert [r["body"] for r in records] == ["Job processing started", "Stage completed"]
    (span,) = otlp_capture.wait_for_spans(1)
    for line, record in zip(lines, records, strict=True):
        assert line["correlation_id"].replace("-", "") == span["trace_id"] == record["trace_id"]
        assert record["attributes"]["job_id"] == line["job_id"] == "550e8400-e29b-41d4-a716-446655440000"
        assert record["resource"][vocab.RESOURCE_SERVICE_ATTR] == "worker"
        assert record["resource"]["service.name"] == "rythmiq-worker"
    assert span["attributes"]["job_id"] == "550e8400-e29b-41d4-a716-446655440000"
    assert span["attributes"]["correlation_id"] == lines[0]["correlation_id"]

    (cpu,) = otlp_capture.wait_for_metric(vocab.METRIC_JOB_CPU)
    assert cpu["bounds"] == list(vocab.CPU_SECONDS_BUCKETS)
    assert cpu["attributes"] == {"processing_path": "fast", "stage": "ocr"}
    assert cpu["temporality"] == 1  # AGGREGATION_TEMPORALITY_DELTA
    (jobs,) = otlp_capture.wait_for_metric(vocab.METRIC_JOBS_TOTAL)
    assert (jobs["value"], jobs["temporality"]) == (1, 1)


CONFIGURE_AGAIN = """
import logging
from opentelemetry import trace
from opentelemetry._logs import get_logger_provider
from rythmiq_otel import configure, get_api_logger
from rythmiq_otel.distro.logs._handler import RythmiqHandler

first = configure()
second = configure(service="webhook")
assert first is second, "a second configure() must return the settings in force"
provider = trace.get_tracer_provider()
spans = provider._active_span_processor._span_processors
logs = get_logger_provider()._multi_log_record_processor._log_record_processors
roots = [h for h in logging.getLogger().handlers if isinstance(h, RythmiqHandler)]
logging.getLogger("app").info("counts %d %d %d", len(spans), len(logs), len(roots))
get_api_logger("api").info("once")
"""


def test_configure_with_the_hook_active_and_twice_adds_no_handler_processor_or_exporter(
    run_instrumented: Run, otlp_capture: OtlpCapture
) -> None:
    result = run_instrumented(CONFIGURE_AGAIN)
    assert result.returncode == 0, result.stderr
    lines = parse_lines(result.stdout)
    # baggage enricher + one batch exporter; PII scrubbing + one batch log processor; one root handler
    assert [line["message"] for line in lines] == ["counts 2 2 1", "once"]
    assert lines[0]["service"] == "worker"
    assert [r["body"] for r in otlp_capture.wait_for_logs(2)] == ["counts 2 2 1", "once"]


def test_sdk_disabled_keeps_the_json_lines_and_sends_nothing(
    run_instrumented: Run, otlp_capture: OtlpCapture
) -> None:
    result = run_instrumented(JOB, OTEL_SDK_DISABLED="true")
    assert result.returncode == 0, result.stderr
    assert len(parse_lines(result.stdout)) == 2
    assert not otlp_capture.wait_until(lambda: bool(otlp_capture.requests), timeout=1)


@pytest.mark.parametrize(
    ("variable", "value"),
    [("OTEL_TRACES_SAMPLER_ARG", "7"), ("OTEL_TRACES_EXPORTER", "jaeger"), ("RYTHMIQ_SERVICE", "billing")],
)
def test_a_bad_value_is_one_warn_line_naming_the_variable_and_the_service_still_runs(
    run_instrumented: Run, otlp_capture: OtlpCapture, variable: str, value: str
) -> None:
    result = run_instrumented(JOB, **{variable: value})
    assert result.returncode == 0, result.stderr
    lines = parse_lines(result.stdout)
    warnings = [line for line in lines if line["level"] == "WARN"]
    assert len(warnings) == 1, warnings
    assert warnings[0]["message"].startswith(f"{variable}={value!r} is not valid")
    assert [line["message"] for line in lines if line["level"] == "INFO"] == [
        "Job processing started", "Stage completed"
    ]
    assert len(otlp_capture.wait_for_logs(3)) == 3


def test_a_log_queue_smaller_than_the_default_batch_is_one_warn_line_and_logs_still_export(
    run_instrumented: Run, otlp_capture: OtlpCapture
) -> None:
    result = run_instrumented(JOB, OTEL_BLRP_MAX_QUEUE_SIZE="100")
    assert result.returncode == 0, result.stderr
    warnings = [line for line in parse_lines(result.stdout) if line["level"] == "WARN"]
    assert [line["message"] for line in warnings] == [
        "OTEL_BLRP_MAX_EXPORT_BATCH_SIZE=512 is larger than OTEL_BLRP_MAX_QUEUE_SIZE=100: "
        "expected a batch no larger than the queue; using 100."
    ]
    assert len(otlp_capture.wait_for_logs(3)) == 3


def test_log_level_debug_turns_on_the_stage_started_line_without_an_export_feedback_loop(
    run_instrumented: Run, otlp_capture: OtlpCapture
) -> None:
    # The pause lets the first export (and its urllib3 lines) happen while the process still runs.
    result = run_instrumented(JOB + "import time\ntime.sleep(0.5)\nlog.info('Output packaged')\n",
                              LOG_LEVEL="DEBUG")
    job_events = (vocab.EVENT_JOB_STARTED, vocab.EVENT_STAGE_STARTED, vocab.EVENT_STAGE_COMPLETED)
    ours = [line for line in parse_lines(result.stdout) if line.get("event") in job_events]
    assert [line["level"] for line in ours] == ["INFO", "DEBUG", "INFO"]
    messages = [line["message"] for line in parse_lines(result.stdout)]
    assert any(message.startswith("Starting new HTTP connection") for message in messages)
    # urllib3's "Starting new HTTP connection" lines reach stdout but are never exported as records: only
    # the job's own records are. Their loopback address is not user data, so it stays readable.
    assert any("127.0.0.1" in message for message in messages if message.startswith("Starting new HTTP"))
    assert not any(line.get("event") == vocab.EVENT_PII_REDACTED for line in parse_lines(result.stdout))
    otlp_capture.wait_for_logs(4)
    assert [r["body"] for r in otlp_capture.log_records()] == [
        "Job processing started", "Stage started", "Stage completed", "Output packaged"
    ]


def test_logs_exporter_none_keeps_stdout_and_still_exports_spans(
    run_instrumented: Run, otlp_capture: OtlpCapture
) -> None:
    result = run_instrumented(JOB, OTEL_LOGS_EXPORTER="none")
    assert len(parse_lines(result.stdout)) == 2
    assert len(otlp_capture.wait_for_spans(1)) == 1
    assert otlp_capture.log_records() == []


def test_metrics_persistence_off_exports_no_metrics(run_instrumented: Run, otlp_capture: OtlpCapture) -> None:
    result = run_instrumented(JOB, ENABLE_METRICS_PERSISTENCE="false")
    assert result.returncode == 0, result.stderr
    otlp_capture.wait_for_spans(1)
    assert otlp_capture.messages("/v1/metrics") == []
