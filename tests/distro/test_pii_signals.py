"""The in-process PII layer beyond our own log pipeline and spans: records written through the OTel Logs
API or by the upstream ``LoggingHandler``, metric attributes and names, scope names, baggage, the resource;
and the log pipeline's edge cases (``%s`` arguments judged strictly, an exception whose ``str()`` raises,
the allowlist mode).

Unit cases run the real SDK providers; the end-to-end case runs a real child under ``rythmiq-otel
instrument`` exporting OTLP/HTTP to a real receiver, and searches stdout, stderr and every request body.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter, SimpleLogRecordProcessor
from opentelemetry.sdk.metrics import AlwaysOnExemplarFilter, MeterProvider
from opentelemetry.sdk.metrics.export import (
    MetricExporter,
    MetricExportResult,
    MetricsData,
    PeriodicExportingMetricReader,
)
from opentelemetry.sdk.metrics.view import View
from opentelemetry.sdk.resources import Resource

from rythmiq_otel.distro._pii import (
    ScrubbingLogRecordProcessor,
    ScrubbingMetricExporter,
    scrub_resource,
)
from rythmiq_otel.pii import Scrubber, marker
from tests.distro.log_lines import parse_lines
from tests.otlp_capture import OtlpCapture
from tests.pii_canaries import assert_no_canary, canaries

CORPUS = canaries(per_category=25)  # 500 values over every kind
REPO = Path(__file__).resolve().parents[2]
Run = Callable[..., subprocess.CompletedProcess[str]]


def test_records_written_through_the_logs_api_are_scrubbed_before_any_exporter() -> None:
    exported = InMemoryLogRecordExporter()
    provider = LoggerProvider()
    provider.add_log_record_processor(ScrubbingLogRecordProcessor())
    provider.add_log_record_processor(SimpleLogRecordProcessor(exported))
    logger = provider.get_logger("docs")
    for canary in CORPUS:
        logger.emit(body=f"seen {canary.text}" if canary.text else {canary.key: canary.value},
                    attributes={canary.key: canary.value if isinstance(canary.value, str) else "x",
                                "note": str(canary.text)},
                    event_name=f"doc {canary.text}")
    records = exported.get_finished_logs()
    assert len(records) == len(CORPUS)
    written = [
        json.dumps([r.log_record.body, dict(r.log_record.attributes or {}), r.log_record.event_name],
                   default=str)
        for r in records
    ]
    assert_no_canary("\n".join(written), CORPUS)
    provider.shutdown()


class _Keep(MetricExporter):
    def __init__(self, **preferences: object) -> None:
        super().__init__(**preferences)  # type: ignore[arg-type]
        self.data: list[MetricsData] = []

    def export(
        self, metrics_data: MetricsData, timeout_millis: float = 10_000, **kwargs: object
    ) -> MetricExportResult:
        self.data.append(metrics_data)
        return MetricExportResult.SUCCESS

    def force_flush(self, timeout_millis: float = 10_000) -> bool:
        return True

    def shutdown(self, timeout_millis: float = 30_000, **kwargs: object) -> None:
        return None


def test_metric_attributes_and_names_are_scrubbed_on_the_way_out() -> None:
    inner = _Keep()
    reader = PeriodicExportingMetricReader(ScrubbingMetricExporter(inner), export_interval_millis=60_000)
    provider = MeterProvider(metric_readers=[reader])
    meter = provider.get_meter("scope for bob@example.com")
    counter = meter.create_counter("docs_seen")
    for canary in CORPUS:
        counter.add(1, {canary.key: canary.value if isinstance(canary.value, str) else "x",
                        "note": str(canary.text)})
    provider.force_flush()
    provider.shutdown()
    exported = repr(inner.data)
    assert "docs_seen" in exported
    assert_no_canary(exported, CORPUS)
    assert "bob@example.com" not in exported


def test_exemplar_attributes_a_view_left_out_of_the_point_are_scrubbed_too() -> None:
    """A View's ``attribute_keys`` moves the other attributes into the exemplars' filtered attributes."""
    inner = _Keep()
    reader = PeriodicExportingMetricReader(ScrubbingMetricExporter(inner), export_interval_millis=60_000)
    provider = MeterProvider(
        metric_readers=[reader],
        views=[View(instrument_name="docs_seen", attribute_keys={"kind"})],
        exemplar_filter=AlwaysOnExemplarFilter(),
    )
    histogram = provider.get_meter("m").create_histogram("docs_seen")
    for canary in CORPUS:  # one export each: an exemplar reservoir keeps only the latest of a bucket
        value = canary.value if isinstance(canary.value, str) else "x"
        histogram.record(1, {"kind": "pdf", canary.key: value, "note": str(canary.text)})
        provider.force_flush()
    provider.shutdown()
    points = [p for d in inner.data for r in d.resource_metrics for s in r.scope_metrics for m in s.metrics
              for p in m.data.data_points][: len(CORPUS)]
    assert all(point.attributes == {"kind": "pdf"} and point.exemplars for point in points)
    assert_no_canary(repr(inner.data), CORPUS)


class _CountingScrubber(Scrubber):
    def __init__(self) -> None:
        super().__init__()
        self.judged: list[dict] = []

    def scrub_attributes(self, attrs, *, client_span=False):  # type: ignore[no-untyped-def]
        self.judged.append(dict(attrs))
        return super().scrub_attributes(attrs, client_span=client_span)


def test_a_clean_export_goes_out_as_it_is_and_each_distinct_attribute_set_is_judged_once() -> None:
    inner, scrubber = _Keep(), _CountingScrubber()
    exporter = ScrubbingMetricExporter(inner, scrubber)
    reader = PeriodicExportingMetricReader(exporter, export_interval_millis=60_000)
    provider = MeterProvider(metric_readers=[reader])
    counter = provider.get_meter("m").create_counter("jobs")
    for _ in range(3):
        counter.add(1, {"status": "success"})
        counter.add(1, {"status": "failed"})
        provider.force_flush()
    assert sorted(map(str, scrubber.judged)) == ["{'status': 'failed'}", "{'status': 'success'}"]
    clean = inner.data[-1]
    assert exporter.export(clean) == MetricExportResult.SUCCESS and inner.data[-1] is clean  # no copy
    counter.add(1, {"status": "ann@example.com"})  # a new set under a key seen clean: judged, scrubbed
    provider.force_flush()
    provider.shutdown()
    last = repr(inner.data[-1])
    assert "ann@example.com" not in last and marker("email") in last
    assert scrubber.judged.count({"status": "success"}) == 1  # clean sets stay judged; dirty ones are not
    assert inner.data[-1] is not clean


def test_the_wrapped_exporter_keeps_its_temporality_preferences() -> None:
    from opentelemetry.sdk.metrics import Counter
    from opentelemetry.sdk.metrics.export import AggregationTemporality

    inner = _Keep(preferred_temporality={Counter: AggregationTemporality.DELTA})
    assert ScrubbingMetricExporter(inner)._preferred_temporality[Counter] == AggregationTemporality.DELTA


def test_the_resource_is_scrubbed_once() -> None:
    resource = Resource({"service.name": "rythmiq-worker", "deployment.owner_email": "ops-lead@example.com",
                         "host.name": "worker-7"})
    scrubbed = scrub_resource(resource)
    assert dict(scrubbed.attributes) == {
        "service.name": "rythmiq-worker", "deployment.owner_email": marker("email"), "host.name": "worker-7"
    }
    clean = Resource({"service.name": "rythmiq-worker"})
    assert scrub_resource(clean) is clean


CONTRACT = "The party of the first part, Jane Doe, agrees to pay the landlord on the first of each month"

EMIT_EVERYWHERE = f"""
import json, logging, sys
sys.path.insert(0, {str(REPO)!r})
from opentelemetry import baggage, context, metrics, trace
from opentelemetry._logs import get_logger
from opentelemetry.sdk._logs import LoggingHandler
from rythmiq_otel import get_worker_logger
from tests.pii_canaries import canaries

# What `opentelemetry-bootstrap -a install` adds: the upstream handler on the root logger, exporting a
# second copy of every stdlib record through the global LoggerProvider.
logging.getLogger().addHandler(LoggingHandler())
log = get_worker_logger("worker.docs")
api_logger = get_logger("docs.api")
counter = metrics.get_meter("docs.meter").create_counter("docs_seen")
emitted = 0
for canary in canaries(25):
    flat = canary.value if isinstance(canary.value, str) else json.dumps(canary.value)
    api_logger.emit(body=f"seen {{canary.text}}" if canary.text else {{canary.key: canary.value}},
                    attributes={{canary.key: flat}}, event_name=f"doc {{canary.text}}")
    counter.add(1, {{canary.key: flat, "note": str(canary.text)}})
    tracer = trace.get_tracer(f"scope {{canary.text}}")
    # Baggage a caller sent: its job_id and user_id_hash are copied onto spans and log records.
    # (a kind only its key betrays has no text form: as a bare job_id it is an opaque id, not PII)
    token = context.attach(baggage.set_baggage("job_id", str(canary.text),
                                               baggage.set_baggage("user_id_hash", flat[:200])))
    with tracer.start_as_current_span(f"read {{canary.text}}", kind=trace.SpanKind.SERVER) as span:
        span.set_attribute("network.peer.address", "203.0.113.50")
        if canary.text is not None:
            log.info("Document note: %s", canary.text)
            emitted += 1
    context.detach(token)


class Unprintable(Exception):
    def __str__(self):
        raise RuntimeError("no")


try:
    raise Unprintable()
except Unprintable:
    log.exception("Stage failed")
log.info("Clause read: %s", {CONTRACT!r})
log.info("Extracted", extra={{"vendor_name": "ACME Corp", "ocr_confidence": 0.9}})
print(json.dumps({{"emitted": emitted + 3}}), file=sys.stderr)
"""


@pytest.mark.slow
def test_no_canary_leaves_through_the_logs_api_the_upstream_handler_metrics_or_names(
    run_instrumented: Run, otlp_capture: OtlpCapture
) -> None:
    result = run_instrumented(
        EMIT_EVERYWHERE, timeout=90, OTEL_BLRP_MAX_QUEUE_SIZE="50000", OTEL_BSP_MAX_QUEUE_SIZE="5000",
        OTEL_RESOURCE_ATTRIBUTES="deployment.owner_email=ops-lead@example.com",
        RYTHMIQ_PII_EXTRA="allowlist",
    )
    assert result.returncode == 0, result.stderr[-2000:]
    emitted = json.loads(result.stderr.strip().splitlines()[-1])["emitted"]
    # Our records, the API records, and the upstream handler's copies all arrived.
    otlp_capture.wait_for_logs(2 * emitted + len(CORPUS), timeout=30)
    otlp_capture.wait_for_metric("docs_seen", timeout=20)
    otlp_capture.wait_for_spans(len(CORPUS), timeout=20)

    assert_no_canary(result.stdout, CORPUS)
    assert_no_canary(result.stderr, CORPUS)
    for request in otlp_capture.requests:
        assert_no_canary(request.raw_body, CORPUS)
        assert b"ops-lead@example.com" not in request.raw_body
        assert b"203.0.113.50" not in request.raw_body  # a SERVER span's peer is the user
        assert b"Jane Doe" not in request.raw_body

    lines = parse_lines(result.stdout)
    failed = next(line for line in lines if line["message"] == "Stage failed")
    assert failed["exception"]["message"] == "<exception str() failed>"  # kept, with a placeholder
    clause = next(line for line in lines if line["message"].startswith("Clause read"))
    assert clause["message"] == f"Clause read: {marker('extracted_text')}"
    extracted = next(line for line in lines if line["message"] == "Extracted")
    assert extracted["extra"] == {"vendor_name": marker("undeclared_extra"), "ocr_confidence": 0.9}


def test_a_set_judged_clean_does_not_pass_an_equal_set_of_another_type() -> None:
    """``{"user_id": True}`` hides nothing, ``{"user_id": 1}`` is an id: ``True == 1`` must not join them."""
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader

    def exported(value: object) -> Any:
        reader = InMemoryMetricReader()
        counter = MeterProvider(metric_readers=[reader]).get_meter("m").create_counter("jobs")
        counter.add(1, {"user_id": value})
        return reader.get_metrics_data()

    inner = _Keep()
    exporter = ScrubbingMetricExporter(inner)
    exporter.export(exported(True))
    exporter.export(exported(1))
    point = inner.data[-1].resource_metrics[0].scope_metrics[0].metrics[0].data.data_points[0]
    assert point.attributes["user_id"] == marker("user_id")
