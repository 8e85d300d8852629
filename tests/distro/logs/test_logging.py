"""The spec's logger API: one valid §1.1 JSON line per call, and the same record as an OTel log record."""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Iterator

import pytest
from opentelemetry import baggage, context, trace
from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import SimpleLogRecordProcessor
from opentelemetry.sdk.trace import TracerProvider

from rythmiq_otel import vocab
from rythmiq_otel.distro._background import BACKGROUND
from rythmiq_otel.distro.logs._handler import RythmiqHandler, flush_logs
from rythmiq_otel.distro.logs._loggers import (
    StructuredFormatter,
    get_api_logger,
    get_logger,
    get_webhook_logger,
    get_worker_logger,
)
from rythmiq_otel.distro.logs._otel_record import BRIDGE
from rythmiq_otel.distro.setup import _settings
from tests.distro.log_lines import parse_lines
from tests.otlp_capture import OtlpCapture

JOB_ID = "550e8400-e29b-41d4-a716-446655440000"


@pytest.fixture
def use_settings() -> Iterator[object]:
    """Put settings from a given environment in force for one test, then restore the previous ones."""
    saved = dict(_settings._in_force)

    def apply(environ: dict[str, str]) -> None:
        _settings.set_current(_settings.load_settings(environ))

    apply({})
    yield apply
    _settings._in_force.clear()
    _settings._in_force.update(saved)


def stdout_of(capsys: pytest.CaptureFixture[str]) -> str:
    """Everything on stdout so far, after the background thread has written every record logged so far."""
    flush_logs()
    return capsys.readouterr().out


@pytest.fixture
def logger_name(request: pytest.FixtureRequest) -> str:
    return f"test.{request.node.name}"


def test_a_spec_call_writes_one_valid_line_with_every_field(
    use_settings: object, logger_name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    log = get_worker_logger(logger_name)
    log.info(
        "OCR stage completed",
        extra={"stage": "ocr", "job_id": JOB_ID, "user_id_hash": "a3f2b8c1d4e5f6a7", "latency_ms": 1847,
               "cpu_seconds": 2.341, "event": vocab.EVENT_STAGE_COMPLETED,
               "extra": {"ocr_confidence": 0.87, "processing_path": "standard"}},
    )
    (record,) = parse_lines(stdout_of(capsys))
    assert record == {
        "timestamp": record["timestamp"], "level": "INFO", "service": "worker",
        "message": "OCR stage completed",
        "stage": "ocr", "job_id": JOB_ID, "user_id_hash": "a3f2b8c1d4e5f6a7", "latency_ms": 1847,
        "cpu_seconds": 2.341, "event": "stage.completed",
        "extra": {"ocr_confidence": 0.87, "processing_path": "standard"},
    }


@pytest.mark.parametrize(
    ("method", "level"), [("warning", "WARN"), ("critical", "ERROR"), ("error", "ERROR")]
)
def test_python_level_names_map_to_the_spec_four(
    use_settings: object, logger_name: str, capsys: pytest.CaptureFixture[str], method: str, level: str
) -> None:
    getattr(get_api_logger(logger_name), method)("something")
    (record,) = parse_lines(stdout_of(capsys))
    assert record["level"] == level


def test_debug_is_off_unless_log_level_debug(
    use_settings: object, logger_name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    get_worker_logger(logger_name).debug("Stage started")
    assert stdout_of(capsys) == ""
    use_settings({"LOG_LEVEL": "DEBUG"})
    get_worker_logger(logger_name).debug("Stage started")
    assert parse_lines(stdout_of(capsys))[0]["level"] == "DEBUG"


def test_always_log_events_pass_a_level_that_drops_other_info_lines(
    use_settings: object, logger_name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    use_settings({"LOG_LEVEL": "ERROR"})
    log = get_api_logger(logger_name)
    log.info("Request completed", extra={"event": vocab.EVENT_REQUEST_COMPLETED})
    log.info("Job created", extra={"event": vocab.EVENT_JOB_CREATED, "job_id": JOB_ID})
    log.warning("Cold start detected", extra={"event": vocab.EVENT_COLD_START})
    records = parse_lines(stdout_of(capsys))
    assert [r["event"] for r in records] == [vocab.EVENT_JOB_CREATED, vocab.EVENT_COLD_START]


def test_values_that_do_not_fit_the_schema_move_into_extra_instead_of_breaking_the_line(
    use_settings: object, logger_name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    get_worker_logger(logger_name).info(
        "odd", extra={"job_id": "job-17", "stage": "TRANSFORM", "http_status": "201", "latency_ms": "fast",
                      "extra": "not a dict", "custom_key": 3},
    )
    (record,) = parse_lines(stdout_of(capsys))
    assert record["stage"] == "schema"
    assert record["http_status"] == 201
    assert record["extra"] == {
        "value": "not a dict", "custom_key": 3, "job_id": "job-17", "latency_ms": "fast"
    }


def test_ids_come_from_the_current_trace_and_baggage(
    use_settings: object, logger_name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    tracer = TracerProvider().get_tracer("test")
    token = context.attach(baggage.set_baggage(vocab.BAGGAGE_USER_ID_HASH, "a3f2b8c1d4e5f6a7",
                                               baggage.set_baggage(vocab.BAGGAGE_JOB_ID, JOB_ID)))
    try:
        with tracer.start_as_current_span("job") as span:
            get_worker_logger(logger_name).info("inside")
    finally:
        context.detach(token)
    (record,) = parse_lines(stdout_of(capsys))
    trace_hex = format(span.get_span_context().trace_id, "032x")
    assert record["trace_id"] == trace_hex
    assert record["span_id"] == format(span.get_span_context().span_id, "016x")
    assert record["correlation_id"].replace("-", "") == trace_hex
    assert (record["job_id"], record["user_id_hash"]) == (JOB_ID, "a3f2b8c1d4e5f6a7")


def test_each_line_gets_the_ids_of_its_own_context_however_contexts_alternate(
    use_settings: object, logger_name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    tracer, log = TracerProvider().get_tracer("test"), get_worker_logger(logger_name)
    other_job = "6ba7b810-9dad-41d1-80b4-00c04fd430c8"
    with tracer.start_as_current_span("a") as span_a:
        log.info("a")
    with tracer.start_as_current_span("b") as span_b:
        log.info("b", extra={"correlation_id": other_job})  # inside a span the trace's id wins
    token = context.attach(baggage.set_baggage(vocab.BAGGAGE_CORRELATION_ID, other_job,
                                               baggage.set_baggage(vocab.BAGGAGE_JOB_ID, JOB_ID)))
    try:
        log.info("baggage only")
        log.info("own job id", extra={"job_id": other_job})  # the call's value wins over baggage
    finally:
        context.detach(token)
    log.info("nothing")
    with trace.use_span(span_a):  # the same span again, in a new context object
        log.info("a again")
    records = parse_lines(stdout_of(capsys))
    ids = [(r.get("span_id"), r.get("correlation_id"), r.get("job_id")) for r in records]
    spelled = [(format(s.get_span_context().span_id, "016x"),
                str(uuid.UUID(int=s.get_span_context().trace_id))) for s in (span_a, span_b)]
    assert ids == [
        (*spelled[0], None), (*spelled[1], None), (None, other_job, JOB_ID), (None, other_job, other_job),
        (None, None, None), (*spelled[0], None),
    ]


def test_the_line_says_what_the_call_saw_even_when_the_background_thread_writes_it_later(
    use_settings: object, logger_name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    started, gate = threading.Event(), threading.Event()

    def hold(_: None) -> None:
        started.set()
        gate.wait(5)

    BACKGROUND.submit(hold, None)  # nothing is written until the call's span and baggage are gone
    assert started.wait(5)
    args = ["first"]
    token = context.attach(baggage.set_baggage(vocab.BAGGAGE_JOB_ID, JOB_ID))
    try:
        with TracerProvider().get_tracer("test").start_as_current_span("job") as span:
            get_worker_logger(logger_name).info("value %s", args)
    finally:
        context.detach(token)
    args[0] = "changed"
    gate.set()
    (record,) = parse_lines(stdout_of(capsys))
    assert record["message"] == "value ['first']"
    assert record["span_id"] == format(span.get_span_context().span_id, "016x")
    assert record["job_id"] == JOB_ID


def test_an_exception_is_carried_as_type_message_and_stacktrace(
    use_settings: object, logger_name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    try:
        raise ValueError("bad page count")
    except ValueError:
        get_worker_logger(logger_name).exception("Job failed")
    (record,) = parse_lines(stdout_of(capsys))
    assert record["exception"]["type"] == "ValueError"
    assert record["exception"]["message"] == "bad page count"
    assert "raise ValueError" in record["exception"]["stacktrace"]


def test_repeated_get_logger_calls_add_no_second_handler_and_do_not_propagate(
    use_settings: object, logger_name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    for _ in range(3):
        log = get_webhook_logger(logger_name)
    assert sum(isinstance(h, RythmiqHandler) for h in log.handlers) == 1
    assert log.propagate is False
    log.info("once")
    assert len(parse_lines(stdout_of(capsys))) == 1
    assert get_logger(logger_name, "api").handlers[0].service == "api"


def test_structured_formatter_renders_the_same_line_as_the_handler(use_settings: object) -> None:
    record = logging.LogRecord("x", logging.WARNING, __file__, 1, "Webhook auth failure", (), None)
    record.job_id = JOB_ID
    line = StructuredFormatter("webhook").format(record)
    (parsed,) = parse_lines(line)
    assert parsed["level"] == "WARN"
    assert parsed["service"] == "webhook"
    assert parsed["job_id"] == JOB_ID


@pytest.mark.parametrize("path", ["direct", "sdk_logger_emit"])
def test_the_otel_record_carries_the_same_fields_and_severity(
    use_settings: object,
    logger_name: str,
    capsys: pytest.CaptureFixture[str],
    otlp_capture: OtlpCapture,
    path: str,
) -> None:
    provider = LoggerProvider()
    provider.add_log_record_processor(
        SimpleLogRecordProcessor(OTLPLogExporter(endpoint=f"{otlp_capture.url}/v1/logs"))
    )
    BRIDGE.bind(provider.get_logger("rythmiq_otel"))
    if path == "sdk_logger_emit":  # what bind() falls back to when the SDK's internals differ
        BRIDGE._direct = None
    try:
        with TracerProvider().get_tracer("test").start_as_current_span("stage") as span:
            get_worker_logger(logger_name).warning(
                "OCR rollback triggered",
                extra={"event": vocab.EVENT_OCR_ROLLBACK, "stage": "ocr", "job_id": JOB_ID,
                       "extra": {"quality_score": 0.34, "attempts": [1, 2]}},
            )
        flush_logs()  # the record reaches the processor on the background thread, while the bridge is bound
    finally:
        BRIDGE.bind(None)
        provider.shutdown()
    (line,) = parse_lines(stdout_of(capsys))
    (record,) = otlp_capture.wait_for_logs(1)
    assert (record["severity_number"], record["severity_text"]) == (13, "WARN")
    assert record["body"] == line["message"]
    assert record["event_name"] == vocab.EVENT_OCR_ROLLBACK
    assert record["attributes"] == {
        "event.name": vocab.EVENT_OCR_ROLLBACK, "stage": "ocr", "job_id": JOB_ID,
        "correlation_id": line["correlation_id"], "extra.quality_score": 0.34, "extra.attempts": "[1, 2]",
    }
    assert (record["trace_id"], record["span_id"]) == (line["trace_id"], line["span_id"])
    assert record["span_id"] == format(span.get_span_context().span_id, "016x")
    # The record's time is the call's time: the JSON timestamp is the same instant, to the millisecond.
    millis = record["time_unix_nano"] // 1_000_000 % 1000
    assert line["timestamp"].endswith(f".{millis:03d}Z")


def test_pii_in_a_field_that_fails_its_type_is_still_scrubbed(
    use_settings: object, logger_name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    get_worker_logger(logger_name).info(
        "lookup", extra={"job_id": "alice@example.com", "correlation_id": "bob@example.com"}
    )
    out = stdout_of(capsys)
    assert "@example.com" not in out
    (record,) = parse_lines(out)
    assert set(record["extra"]) == {"job_id", "correlation_id"}


def test_an_unknown_service_is_replaced_by_the_configured_one_so_lines_stay_valid(
    use_settings: object, logger_name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    use_settings({"RYTHMIQ_SERVICE": "webhook"})
    get_logger(logger_name, "billing").info("hello")
    records = parse_lines(stdout_of(capsys))
    assert records[-1]["service"] == "webhook"
