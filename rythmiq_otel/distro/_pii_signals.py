"""The in-process PII layer for what does not come through our log pipeline or a span: records written
through the OpenTelemetry Logs API, metric data, the resource.

- :class:`ScrubbingLogRecordProcessor` is the first processor of our ``LoggerProvider``, so every record
  any code emits -- the upstream logging instrumentation's ``LoggingHandler`` (installed by
  ``opentelemetry-bootstrap -a install``), a library calling the Logs API, a handler a package adds -- is
  scrubbed in place before a batch queue or exporter sees it: the distro owns the log path. Our own
  records are scrubbed by the pipeline already; the bridge (``logs._otel_record``) passes them by.
- :class:`ScrubbingMetricExporter` wraps each metric exporter: data point attributes, metric and scope
  names are scrubbed on the way out, in the reader's thread (once per export interval, not per ``add``).
- :func:`scrub_resource` scrubs the resource once, when the providers are built.

Hits are counted and reported like the log pipeline's (``_pii.report``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from typing import Any

from opentelemetry.sdk._logs import LogRecordProcessor, ReadWriteLogRecord
from opentelemetry.sdk.metrics.export import MetricExporter, MetricExportResult, MetricsData
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.util.instrumentation import InstrumentationScope

from rythmiq_otel.distro._pii import current_scrubber, report
from rythmiq_otel.pii import DEFAULT_SCRUBBER, Redaction, Scrubber

__all__ = ["ScrubbingLogRecordProcessor", "ScrubbingMetricExporter", "scrub_resource"]


def _under(prefix: str, hits: Iterable[Redaction]) -> list[Redaction]:
    return [Redaction(f"{prefix}.{hit.path}", hit.rule) for hit in hits]


class ScrubbingLogRecordProcessor(LogRecordProcessor):
    """Scrubs every OTel log record in place (body, attributes, event name) before later processors.

    Add it to the ``LoggerProvider`` before any other processor. The scrubber is looked up per record
    (``_pii.current_scrubber``), so it follows the settings ``configure()`` installed.
    """

    def on_emit(self, log_record: ReadWriteLogRecord) -> None:
        """Replace what holds PII in ``log_record`` (a marker per hit) and report the hits."""
        record = log_record.log_record
        scrubber = current_scrubber()
        found: list[Redaction] = []
        body = record.body
        if isinstance(body, str):
            record.body, hits = scrubber.scrub_text(body, path="body")
            found += hits
        elif body is not None:
            record.body, hits = scrubber.scrub_data(body, path="body")
            found += hits
        if record.attributes:
            attributes, hits = scrubber.scrub_attributes(dict(record.attributes))
            if hits:
                record.attributes = attributes
                found += _under("attributes", hits)
        if record.event_name:
            record.event_name, hits = scrubber.scrub_text(record.event_name, path="event_name")
            found += hits
        report(found)

    def shutdown(self) -> None:
        """Nothing to release."""

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        """Nothing is held: every record is handled in ``on_emit``."""
        return True


class ScrubbingMetricExporter(MetricExporter):
    """Wraps a metric exporter so no data point leaves with PII in its attributes or names.

    The wrapped exporter's temporality and aggregation preferences are kept (the reader reads them here).
    """

    def __init__(self, inner: MetricExporter, scrubber: Scrubber = DEFAULT_SCRUBBER) -> None:
        super().__init__(
            preferred_temporality=inner._preferred_temporality,
            preferred_aggregation=inner._preferred_aggregation,
        )
        self._inner = inner
        self._scrubber = scrubber

    def export(
        self, metrics_data: MetricsData, timeout_millis: float = 10_000, **kwargs: Any
    ) -> MetricExportResult:
        """Export a scrubbed copy of ``metrics_data`` (the same object when nothing matched)."""
        found: list[Redaction] = []
        resource_metrics = [
            replace(item, scope_metrics=[self._scope(scope, found) for scope in item.scope_metrics])
            for item in metrics_data.resource_metrics
        ]
        report(found)
        data = replace(metrics_data, resource_metrics=resource_metrics) if found else metrics_data
        return self._inner.export(data, timeout_millis=timeout_millis, **kwargs)

    def _scope(self, scope: Any, found: list[Redaction]) -> Any:
        name, hits = self._scrubber.scrub_text(scope.scope.name, path="scope.name")
        found += hits
        metrics = [self._metric(metric, found) for metric in scope.metrics]
        source = scope.scope
        instrumentation = source
        if hits:
            instrumentation = InstrumentationScope(name, source.version, source.schema_url, source.attributes)
        return replace(scope, scope=instrumentation, metrics=metrics)

    def _metric(self, metric: Any, found: list[Redaction]) -> Any:
        name, hits = self._scrubber.scrub_text(metric.name, path="metric.name")
        found += hits
        points = []
        for point in metric.data.data_points:
            attributes, point_hits = self._scrubber.scrub_attributes(dict(point.attributes or {}))
            found += _under(f"metric.{name}.attributes", point_hits)
            points.append(replace(point, attributes=attributes) if point_hits else point)
        return replace(metric, name=name, data=replace(metric.data, data_points=points))

    def force_flush(self, timeout_millis: float = 10_000) -> bool:
        """Flush the wrapped exporter."""
        return self._inner.force_flush(timeout_millis=timeout_millis)

    def shutdown(self, timeout_millis: float = 30_000, **kwargs: Any) -> None:
        """Shut the wrapped exporter down."""
        self._inner.shutdown(timeout_millis=timeout_millis, **kwargs)


def scrub_resource(resource: Resource, scrubber: Scrubber = DEFAULT_SCRUBBER) -> Resource:
    """``resource`` with PII in its attributes redacted (itself when nothing matched); hits reported."""
    attributes, hits = scrubber.scrub_attributes(dict(resource.attributes))
    if not hits:
        return resource
    report(_under("resource", hits))
    return Resource(attributes, resource.schema_url)

