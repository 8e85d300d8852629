"""A client process using only the upstream OpenTelemetry SDK and its OTLP/HTTP exporters (no rythmiq code).

Usage: upstream_exporters.py <endpoint> <token> <job_id>. Emits a worker's job lifecycle as logs, two
spans and a counter plus a histogram, then shuts the providers down (which flushes every exporter).
Exits non-zero if any export failed, so the test sees exporter errors.
"""

from __future__ import annotations

import logging
import sys

from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk._logs import LoggerProvider, LoggingHandler
from opentelemetry.sdk._logs.export import SimpleLogRecordProcessor
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

endpoint, token, job_id = sys.argv[1:4]
headers = {"Authorization": f"Bearer {token}"}
resource = Resource.create({"service.name": "rythmiq-worker", "rythmiq.service": "worker"})
failures: list[str] = []


class _Checked:
    """Wraps an exporter to record failed exports (the SDK only logs them)."""

    def __init__(self, exporter: object) -> None:
        self._exporter = exporter

    def __getattr__(self, name: str) -> object:
        return getattr(self._exporter, name)

    def export(self, *args: object, **kwargs: object) -> object:
        result = self._exporter.export(*args, **kwargs)  # type: ignore[attr-defined]
        if getattr(result, "name", "SUCCESS") != "SUCCESS":
            failures.append(repr(result))
        return result


tracer_provider = TracerProvider(resource=resource)
tracer_provider.add_span_processor(SimpleSpanProcessor(_Checked(OTLPSpanExporter(
    endpoint=f"{endpoint}/v1/traces", headers=headers, compression=Compression.Gzip))))
logger_provider = LoggerProvider(resource=resource)
logger_provider.add_log_record_processor(SimpleLogRecordProcessor(_Checked(OTLPLogExporter(
    endpoint=f"{endpoint}/v1/logs", headers=headers))))
reader = PeriodicExportingMetricReader(
    _Checked(OTLPMetricExporter(endpoint=f"{endpoint}/v1/metrics", headers=headers)),  # type: ignore[arg-type]
    export_interval_millis=60_000,
)
meter_provider = MeterProvider(resource=resource, metric_readers=[reader])

log = logging.getLogger("worker")
log.setLevel(logging.INFO)
log.addHandler(LoggingHandler(logger_provider=logger_provider))
tracer = tracer_provider.get_tracer("worker")
meter = meter_provider.get_meter("worker")
jobs = meter.create_counter("rythmiq_jobs_total")
cpu = meter.create_histogram("rythmiq_job_cpu_seconds")

with tracer.start_as_current_span("job", attributes={"job_id": job_id}):
    log.info("Job processing started", extra={"event.name": "job.started", "job_id": job_id,
                                              "extra.execution_temperature": "cold"})
    with tracer.start_as_current_span("stage ocr", attributes={"job_id": job_id, "stage": "ocr"}):
        log.info("Stage completed", extra={"event.name": "stage.completed", "job_id": job_id, "stage": "ocr",
                                           "cpu_seconds": 1.25})
    log.error("OCR extraction failed", extra={"event.name": "job.failed", "job_id": job_id,
                                              "error_code": "OCR_FAILURE", "error_stage": "OCR",
                                              "extra.processing_path": "fast"})
    jobs.add(1, {"status": "failed", "processing_path": "fast"})
    cpu.record(1.25, {"processing_path": "fast", "stage": "ocr"})

tracer_provider.shutdown()
logger_provider.shutdown()
meter_provider.shutdown()
if failures:
    sys.exit(f"exports failed: {failures}")
