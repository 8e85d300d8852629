"""Build the three SDK providers from ``Settings``: one resource, batch processors, our sampler and Views.

Kept apart from ``_configure`` so the wiring (what is installed globally, when) and the construction (what
each provider is made of) can be read separately.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import BatchLogRecordProcessor
from opentelemetry.sdk.metrics import (
    AlwaysOffExemplarFilter,
    AlwaysOnExemplarFilter,
    MeterProvider,
    TraceBasedExemplarFilter,
)
from opentelemetry.sdk.metrics.export import MetricReader, PeriodicExportingMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

from rythmiq_otel.distro._pii import (
    ScrubbingLogRecordProcessor,
    ScrubbingMetricExporter,
    ScrubbingSpanExporter,
    scrub_resource,
)
from rythmiq_otel.distro.context._correlation import UuidTraceIdGenerator
from rythmiq_otel.distro.context._span_enrichment import BaggageSpanProcessor
from rythmiq_otel.distro.metrics._catalog import views
from rythmiq_otel.distro.setup._exporters import log_exporters, metric_exporters, span_exporters
from rythmiq_otel.distro.setup._resource import HashedOnceResource, build_resource
from rythmiq_otel.distro.setup._sampling import build_sampler
from rythmiq_otel.distro.setup._settings import BatchSettings, Settings

__all__ = ["Providers", "build_providers"]

_EXEMPLAR_FILTERS = {
    "always_on": AlwaysOnExemplarFilter,
    "always_off": AlwaysOffExemplarFilter,
    "trace_based": TraceBasedExemplarFilter,
}


@dataclass(frozen=True)
class Providers:
    """The providers ``configure()`` installs; a signal switched off is ``None``."""

    tracer: TracerProvider
    meter: MeterProvider | None
    logger: LoggerProvider | None

    def shutdown(self, timeout_s: float) -> bool:
        """Flush and stop every provider, all at once, waiting at most ``timeout_s``; True if all finished.

        Concurrently and bounded because each provider may spend a whole export timeout retrying an
        endpoint that is down (10 s each by default): one after another, a worker whose collector is
        unreachable would take half a minute to exit. Providers still flushing at the deadline are left to
        their daemon threads, and what they hold is lost -- as it would be with the endpoint down anyway.
        """
        deadline = time.monotonic() + timeout_s
        threads = []
        for provider in (self.tracer, self.logger, self.meter):
            if provider is None:
                continue
            thread = threading.Thread(target=provider.shutdown, name="rythmiq-otel-shutdown", daemon=True)
            try:
                thread.start()
            except RuntimeError:
                # Python 3.12+ refuses new threads inside atexit; flush this one on the calling thread.
                provider.shutdown()
                continue
            threads.append(thread)
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        return not any(thread.is_alive() for thread in threads)


def _batch_options(batch: BatchSettings) -> dict[str, int]:
    """The keyword arguments both SDK batch processors take."""
    return {
        "max_queue_size": batch.max_queue_size,
        "schedule_delay_millis": batch.schedule_delay_ms,
        "max_export_batch_size": batch.max_export_batch_size,
        "export_timeout_millis": batch.export_timeout_ms,
    }


def build_providers(settings: Settings) -> Providers:
    """Construct (not install) the providers ``settings`` describe.

    With the PII guard on, nothing leaves without passing it: the resource is scrubbed once here, span and
    metric exporters are wrapped, and the log provider's first processor scrubs every record emitted
    through the Logs API, whoever emits it.
    """
    resource = build_resource(settings)
    if settings.pii_guard:
        resource = scrub_resource(resource)
    resource = HashedOnceResource(resource)
    tracer = TracerProvider(
        resource=resource,
        sampler=build_sampler(settings.sampler, settings.sampler_arg),
        id_generator=UuidTraceIdGenerator(),
        shutdown_on_exit=False,
    )
    tracer.add_span_processor(BaggageSpanProcessor())
    for exporter in span_exporters(settings.traces, settings.otlp_encoder):
        # Spans are immutable once ended, so the PII guard scrubs them on the way out (worker thread).
        guarded = ScrubbingSpanExporter(exporter) if settings.pii_guard else exporter
        tracer.add_span_processor(BatchSpanProcessor(guarded, **_batch_options(settings.span_batch)))

    meter = None
    if settings.metrics_persistence and settings.metrics.exporters:
        readers = [
            # a pull reader from an entry point (prometheus) is used as it is; exporters are pushed
            exporter if isinstance(exporter, MetricReader) else PeriodicExportingMetricReader(
                ScrubbingMetricExporter(exporter) if settings.pii_guard else exporter,
                export_interval_millis=settings.metric_export_interval_ms,
                export_timeout_millis=settings.metric_export_timeout_ms,
            )
            for exporter in metric_exporters(settings.metrics, settings.temporality, settings.otlp_encoder)
        ]
        meter = MeterProvider(
            resource=resource,
            metric_readers=readers,
            views=views(),
            exemplar_filter=_EXEMPLAR_FILTERS[settings.exemplar_filter](),
            shutdown_on_exit=False,
        )

    logger = None
    if settings.logs.exporters:
        logger = LoggerProvider(resource=resource, shutdown_on_exit=False)
        if settings.pii_guard:
            logger.add_log_record_processor(ScrubbingLogRecordProcessor())
        for exporter in log_exporters(settings.logs, settings.otlp_encoder):
            logger.add_log_record_processor(
                BatchLogRecordProcessor(exporter, **_batch_options(settings.log_batch))
            )
    return Providers(tracer=tracer, meter=meter, logger=logger)
