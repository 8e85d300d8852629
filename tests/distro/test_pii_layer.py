"""The in-process PII layer: the redaction metric and report, span scrubbing, the canary corpus end to end.

The unit cases run the real OpenTelemetry SDK (a MeterProvider with an in-memory reader, a TracerProvider
with the SDK's in-memory exporter behind ``ScrubbingSpanExporter``). The end-to-end case runs a real
child process under ``rythmiq-otel instrument`` that logs and traces every canary, exporting OTLP/HTTP to
a real local receiver, and searches stdout, stderr and every raw request body.
"""

from __future__ import annotations

import json
import logging
import subprocess
from collections.abc import Callable, Iterator

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import Link, Status, StatusCode

from rythmiq_otel import vocab
from rythmiq_otel.distro._pii import RedactionReporter, ScrubbingSpanExporter
from rythmiq_otel.pii import NOOP_SCRUBBER, Redaction, marker
from tests.canary_emitter import CORPUS, EMIT_CANARIES
from tests.distro.log_lines import parse_lines
from tests.otlp_capture import OtlpCapture
from tests.pii_canaries import assert_no_canary, find_canaries


@pytest.fixture
def metric_reader() -> InMemoryMetricReader:
    return InMemoryMetricReader()


@pytest.fixture
def reporter(metric_reader: InMemoryMetricReader) -> RedactionReporter:
    return RedactionReporter(MeterProvider(metric_readers=[metric_reader]).get_meter("test"))


def _counts(reader: InMemoryMetricReader) -> dict[tuple[str, str], int]:
    data = reader.get_metrics_data()
    counts: dict[tuple[str, str], int] = {}
    for resource_metrics in data.resource_metrics if data else ():
        for scope_metrics in resource_metrics.scope_metrics:
            for metric in scope_metrics.metrics:
                if metric.name == vocab.METRIC_PII_REDACTIONS:
                    for point in metric.data.data_points:
                        key = (point.attributes["layer"], point.attributes["rule"])
                        counts[key] = counts.get(key, 0) + point.value
    return counts


def test_report_counts_by_rule_and_logs_paths_and_rules_only(
    reporter: RedactionReporter, metric_reader: InMemoryMetricReader, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="rythmiq_otel.pii"):
        reporter([
            Redaction("extra.email", "email"),
            Redaction("message", "email"),
            Redaction("extra.ip", "ip_address"),
        ])
    assert _counts(metric_reader) == {("sdk", "email"): 2, ("sdk", "ip_address"): 1}
    (record,) = caplog.records
    assert record.levelno == logging.WARNING
    assert record.event == vocab.EVENT_PII_REDACTED
    assert record.extra == {
        "layer": "sdk",
        "rules": ["email", "ip_address"],
        "paths": ["extra.email", "extra.ip", "message"],
        "repeats": 0,
    }


def test_repeated_reports_are_folded_into_one_line_a_minute_but_all_counted(
    metric_reader: InMemoryMetricReader, caplog: pytest.LogCaptureFixture
) -> None:
    now = [1000.0]
    reporter = RedactionReporter(
        MeterProvider(metric_readers=[metric_reader]).get_meter("test"), clock=lambda: now[0]
    )
    email, ip = [Redaction("extra.email", "email")], [Redaction("message", "ip_address")]
    with caplog.at_level(logging.WARNING, logger="rythmiq_otel.pii"):
        for second, hits in ((0, email), (1, email), (2, ip), (30, email), (61, email), (62, email)):
            now[0] = 1000.0 + second
            reporter(hits)
    assert [(r.extra["rules"], r.extra["repeats"]) for r in caplog.records] == [
        (["email"], 0),
        (["ip_address"], 0),
        (["email"], 2),  # at 61 s: the lines held back at 1 s and 30 s
    ]
    assert _counts(metric_reader) == {("sdk", "email"): 5, ("sdk", "ip_address"): 1}


def test_nothing_to_report_logs_and_counts_nothing(
    reporter: RedactionReporter, metric_reader: InMemoryMetricReader, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="rythmiq_otel.pii"):
        reporter([])
    assert caplog.records == []
    assert _counts(metric_reader) == {}


class _ReportingHandler(logging.Handler):
    """A handler that reports again while handling the report, as a scrubbing log pipeline might."""

    def __init__(self, reporter: RedactionReporter) -> None:
        super().__init__()
        self.reporter = reporter
        self.seen: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.seen.append(record)
        self.reporter([Redaction("extra.paths[0]", "email")])


def test_a_hit_inside_the_report_is_counted_but_not_reported_again(
    reporter: RedactionReporter, metric_reader: InMemoryMetricReader
) -> None:
    logger = logging.getLogger("rythmiq_otel.pii")
    handler = _ReportingHandler(reporter)
    logger.addHandler(handler)
    try:
        reporter([Redaction("message", "ip_address")])
    finally:
        logger.removeHandler(handler)
    assert len(handler.seen) == 1
    assert _counts(metric_reader) == {("sdk", "ip_address"): 1, ("sdk", "email"): 1}


@pytest.fixture
def traced() -> Iterator[tuple[TracerProvider, InMemorySpanExporter, list[list[Redaction]]]]:
    inner = InMemorySpanExporter()
    reports: list[list[Redaction]] = []
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(ScrubbingSpanExporter(inner, reporter=reports.append)))
    yield provider, inner, reports
    provider.shutdown()


def test_spans_lose_pii_in_name_attributes_events_exceptions_links_and_status(
    traced: tuple[TracerProvider, InMemorySpanExporter, list[list[Redaction]]],
) -> None:
    provider, inner, reports = traced
    tracer = provider.get_tracer("test")
    linked = tracer.start_span("webhook")
    linked.end()
    link = Link(linked.get_span_context(), {"reply_to": "carol@example.net", "kind": "follows"})
    with tracer.start_as_current_span("upload alice@example.com", links=[link]) as span:
        span.set_attribute("job_id", "550e8400-e29b-41d4-a716-446655440000")
        span.set_attribute("original_filename", "passport.pdf")
        span.set_attribute("http.url", "http://api/verify?ip=203.0.113.5")
        span.add_event("stored", {"storage_path": "s3://docs/u1/scan.png", "pages": 2})
        span.record_exception(ValueError("cannot parse bob@example.org"))
        span.set_status(Status(StatusCode.ERROR, "failed for 198.51.100.7"))
    exported = inner.get_finished_spans()[-1]
    written = json.dumps({
        "links": [dict(link.attributes or {}) for link in exported.links],
        "name": exported.name,
        "attributes": dict(exported.attributes or {}),
        "events": [[event.name, dict(event.attributes or {})] for event in exported.events],
        "status": exported.status.description,
    })
    for secret in ("alice@", "passport", "203.0.113.5", "s3://", "bob@", "198.51.100.7", "carol@"):
        assert secret not in written
    assert exported.name == f"upload {marker('email')}"
    assert exported.attributes["job_id"] == "550e8400-e29b-41d4-a716-446655440000"
    assert exported.attributes["original_filename"] == marker("filename")
    assert exported.events[0].attributes == {"storage_path": marker("storage_path"), "pages": 2}
    assert exported.context == span.get_span_context()
    assert exported.links[0].attributes == {"reply_to": marker("email"), "kind": "follows"}
    found = reports[-1]
    assert reports[0] == []  # the linked span was clean
    assert sorted(r.path for r in found) == [
        "span.attributes.http.url",
        "span.attributes.original_filename",
        "span.events[0].attributes.storage_path",
        "span.events[1].attributes.exception.message",
        "span.events[1].attributes.exception.stacktrace",
        "span.links[0].attributes.reply_to",
        "span.name",
        "span.status.description",
    ]


def test_a_clean_span_is_exported_as_is_without_a_copy() -> None:
    inner = InMemorySpanExporter()
    reports: list[list[Redaction]] = []
    span = ReadableSpan(name="stage ocr", attributes={"stage": "ocr", "pages": 3})
    ScrubbingSpanExporter(inner, reporter=reports.append).export([span])
    (exported,) = inner.get_finished_spans()
    assert exported is span
    assert reports == [[]]


def test_with_the_noop_scrubber_spans_pass_unchanged() -> None:
    inner = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(ScrubbingSpanExporter(inner, NOOP_SCRUBBER)))
    with provider.get_tracer("test").start_as_current_span("x") as span:
        span.set_attribute("email", "alice@example.com")
    assert inner.get_finished_spans()[0].attributes["email"] == "alice@example.com"
    provider.shutdown()


# ------------------------------------------------------------------------------------------------------------
# End to end: every canary through logs and spans of a real instrumented process, out over real OTLP/HTTP.
# ------------------------------------------------------------------------------------------------------------
# The rules the corpus must trip (schema values are planted under both schema and extracted-data keys).
EVERY_RULE = {
    "email", "ip_address", "filename", "storage_path", "user_id", "extracted_text", "file_content",
    "schema_field_values", "extracted_data", "webhook_body", "payment_card", "bank_account", "national_id",
    "phone_number", "street_address", "date_of_birth", "secret",
}
Run = Callable[..., subprocess.CompletedProcess[str]]


def _emit_every_canary(run_instrumented: Run, **env: str) -> tuple[subprocess.CompletedProcess[str], int]:
    """Run the emitting child; returns it and how many log calls it made (each one held a canary)."""
    result = run_instrumented(
        EMIT_CANARIES, timeout=60, OTEL_BLRP_MAX_QUEUE_SIZE="50000", OTEL_BSP_MAX_QUEUE_SIZE="5000", **env
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return result, json.loads(result.stderr.strip().splitlines()[-1])["emitted"]


@pytest.mark.slow
def test_no_canary_leaves_through_logs_and_every_hit_is_counted(
    run_instrumented: Run, otlp_capture: OtlpCapture
) -> None:
    result, emitted = _emit_every_canary(run_instrumented)
    lines = parse_lines(result.stdout)
    records = otlp_capture.wait_for_logs(emitted, timeout=20)
    points = otlp_capture.wait_for_metric(vocab.METRIC_PII_REDACTIONS)

    # Every canary record made it out, so the search below looked at real data, not at an empty export;
    # the pii.redacted reports name every rule, each combination of rules and paths once (the run is
    # shorter than the repeat interval).
    reports = [line for line in lines if line.get("event") == vocab.EVENT_PII_REDACTED]
    assert len(lines) - len(reports) == emitted
    assert all(set(line["extra"]) == {"layer", "rules", "paths", "repeats"} for line in reports)
    signatures = [(tuple(line["extra"]["rules"]), tuple(line["extra"]["paths"])) for line in reports]
    assert len(set(signatures)) == len(signatures)
    assert {rule for line in reports for rule in line["extra"]["rules"]} >= EVERY_RULE
    reported = [r for r in records if r["attributes"].get(vocab.EVENT_NAME_ATTR) == vocab.EVENT_PII_REDACTED]
    assert len(records) - len(reported) == emitted

    assert_no_canary(result.stdout, CORPUS)
    assert_no_canary(result.stderr, CORPUS)
    for request in otlp_capture.requests:
        if request.path != "/v1/traces":
            assert_no_canary(request.raw_body, CORPUS)
    # The search does find a canary in a raw body when one is there.
    assert find_canaries(json.dumps(CORPUS[0].value).encode(), CORPUS)

    counted: dict[str, int] = {}
    for point in points:
        assert point["attributes"]["layer"] == "sdk"
        counted[point["attributes"]["rule"]] = counted.get(point["attributes"]["rule"], 0) + point["value"]
    assert set(counted) >= EVERY_RULE
    assert sum(counted.values()) >= emitted


@pytest.mark.slow
def test_no_canary_leaves_through_spans(run_instrumented: Run, otlp_capture: OtlpCapture) -> None:
    _emit_every_canary(run_instrumented)
    spans = otlp_capture.wait_for_spans(len(CORPUS), timeout=20)
    assert len(spans) == len(CORPUS)
    for request in otlp_capture.requests:
        if request.path == "/v1/traces":
            assert_no_canary(request.raw_body, CORPUS)


@pytest.mark.slow
def test_with_the_guard_off_the_canaries_do_reach_every_output(
    run_instrumented: Run, otlp_capture: OtlpCapture
) -> None:
    # RYTHMIQ_PII_GUARD=off is a real switch, and the searches above would see a leak if there were one.
    result, _ = _emit_every_canary(run_instrumented, RYTHMIQ_PII_GUARD="off")
    otlp_capture.wait_for_spans(len(CORPUS), timeout=20)
    assert find_canaries(result.stdout, CORPUS)
    for path in ("/v1/logs", "/v1/traces"):
        assert any(find_canaries(r.raw_body, CORPUS) for r in otlp_capture.requests if r.path == path), path
    assert not any(p["name"] == vocab.METRIC_PII_REDACTIONS for p in otlp_capture.metric_points())
    assert vocab.EVENT_PII_REDACTED not in result.stdout
