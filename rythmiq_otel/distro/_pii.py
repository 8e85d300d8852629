"""The in-process PII layer (§1.4, first of three): report redactions, and scrub every signal before export.

The rules live in ``rythmiq_otel.pii`` (shared with the sink). The log pipeline calls
``current_scrubber().scrub_fields`` itself (``logs._scrub``) and hands any hits to :func:`report`; spans
are immutable once ended, so they are scrubbed on the way out by :class:`ScrubbingSpanExporter`, which
wraps the real exporter -- off the calling thread, in the batch processor's worker. What does not come
through either is covered here too: :class:`ScrubbingLogRecordProcessor` is the first processor of our
``LoggerProvider``, so every record written through the Logs API -- by the upstream ``LoggingHandler``, a
library, any handler a package adds -- is scrubbed in place before a batch queue sees it (the distro owns
the log path); :class:`ScrubbingMetricExporter` scrubs data point attributes and names per export (in the
reader's thread); :func:`scrub_resource` scrubs the resource once.

A hit is counted in ``rythmiq_pii_redactions_total{layer="sdk", rule}`` and reported as a WARN log record
(event ``pii.redacted``) that names key paths and rules only, never a value; repeats of the same report are
folded into one line a minute.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Sequence
from contextvars import ContextVar
from dataclasses import replace
from typing import Any

from opentelemetry import metrics
from opentelemetry.sdk._logs import LogRecordProcessor, ReadWriteLogRecord
from opentelemetry.sdk.metrics.export import MetricExporter, MetricExportResult, MetricsData
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import Event, ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.trace import Link, SpanKind, Status

from rythmiq_otel import vocab
from rythmiq_otel.distro.setup import _settings
from rythmiq_otel.pii import DEFAULT_SCRUBBER, Redaction, Scrubber

__all__ = [
    "LAYER",
    "RedactionReporter",
    "ScrubbingLogRecordProcessor",
    "ScrubbingMetricExporter",
    "ScrubbingSpanExporter",
    "current_scrubber",
    "report",
    "scrub_resource",
    "scrub_span",
]

LAYER = "sdk"
_log = logging.getLogger("rythmiq_otel.pii")
# Set while a report is being logged, so a hit inside the report itself is counted but not reported again.
_reporting: ContextVar[bool] = ContextVar("rythmiq_pii_reporting", default=False)
# Distinct (rules, paths) combinations remembered for de-duplicating report lines; cleared when full.
_SIGNATURES_MAX = 1024


class RedactionReporter:
    """Counts redactions in ``rythmiq_pii_redactions_total{layer, rule}`` and logs them by key path only.

    Every hit is counted. The WARN line is written the first time a combination of rules and key paths is
    seen, then at most once per ``repeat_interval_s`` for that combination, carrying how many identical
    reports it stands for (``repeats``) -- so a call site that logs an email on every request doubles
    neither the log volume nor the log bill (spec §6.3), while the metric still counts each one.

    ``report`` (the module-level instance) uses the global meter provider, made on first use so that it
    follows whatever provider ``configure()`` installed; tests build one over their own provider.
    """

    def __init__(
        self,
        meter: metrics.Meter | None = None,
        *,
        repeat_interval_s: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._meter = meter
        self._interval = repeat_interval_s
        self._clock = clock
        self._counter: metrics.Counter | None = None
        # (rules, paths) -> (when last written, identical reports since then)
        self._seen: dict[tuple[tuple[str, ...], tuple[str, ...]], tuple[float, int]] = {}

    def _redactions_counter(self) -> metrics.Counter:
        if self._counter is None:
            meter = self._meter or metrics.get_meter("rythmiq_otel.pii")
            self._counter = meter.create_counter(
                vocab.METRIC_PII_REDACTIONS,
                unit="{redaction}",
                description="Values the PII guard replaced with a marker, by layer and rule (spec §1.4).",
            )
        return self._counter

    def __call__(self, redactions: Sequence[Redaction]) -> None:
        """Count ``redactions`` by rule and log a WARN record naming their key paths and rules."""
        if not redactions:
            return
        by_rule: dict[str, int] = {}
        for redaction in redactions:
            by_rule[redaction.rule] = by_rule.get(redaction.rule, 0) + 1
        counter = self._redactions_counter()
        for rule, count in by_rule.items():
            counter.add(count, {"layer": LAYER, "rule": rule})
        if _reporting.get():
            return
        signature = (tuple(sorted(by_rule)), tuple(sorted({redaction.path for redaction in redactions})))
        repeats = self._repeats_to_report(signature)
        if repeats is None:
            return
        token = _reporting.set(True)
        try:
            _log.warning(
                "PII redacted before export",
                extra={
                    vocab.EVENT_FIELD: vocab.EVENT_PII_REDACTED,
                    "extra": {
                        "layer": LAYER,
                        "rules": list(signature[0]),
                        "paths": list(signature[1]),
                        "repeats": repeats,
                    },
                },
            )
        finally:
            _reporting.reset(token)

    def _repeats_to_report(self, signature: tuple[tuple[str, ...], tuple[str, ...]]) -> int | None:
        """None to stay quiet, else how many identical reports were held back since the last line."""
        now = self._clock()
        last = self._seen.get(signature)
        if last is not None and now - last[0] < self._interval:
            self._seen[signature] = (last[0], last[1] + 1)
            return None
        if len(self._seen) >= _SIGNATURES_MAX:
            self._seen.clear()
        self._seen[signature] = (now, 0)
        return 0 if last is None else last[1]


report = RedactionReporter()
_scrubbers: dict[tuple[str, tuple[str, ...]], Scrubber] = {}


def current_scrubber() -> Scrubber:
    """The scrubber for the settings in force: ``RYTHMIQ_PII_EXTRA`` picks blocklist (the shared default
    one) or allowlist mode, with ``RYTHMIQ_PII_EXTRA_KEYS`` declared."""
    settings = _settings.current()
    if settings.pii_extra_mode == "blocklist" and not settings.pii_extra_keys:
        return DEFAULT_SCRUBBER
    key = (settings.pii_extra_mode, settings.pii_extra_keys)
    scrubber = _scrubbers.get(key)
    if scrubber is None:
        scrubber = _scrubbers.setdefault(
            key, Scrubber(extra_mode=settings.pii_extra_mode, declared_extra_keys=settings.pii_extra_keys)
        )
    return scrubber


def scrub_span(
    span: ReadableSpan, scrubber: Scrubber = DEFAULT_SCRUBBER
) -> tuple[ReadableSpan, list[Redaction]]:
    """Scrub a finished span's name, attributes, events, links, scope name and status description.

    Returns the span itself when nothing matched, else a scrubbed copy (a ``ReadableSpan`` cannot be
    changed). Recorded exceptions are span events, so their ``exception.message`` and
    ``exception.stacktrace`` attributes are covered by the event scrub.
    """
    found: list[Redaction] = []
    name, hits = scrubber.scrub_text(span.name, path="span.name")
    found += hits
    # A CLIENT span's server address is the service it called, not a user's (SERVER_ADDRESS_KEYS).
    client = span.kind == SpanKind.CLIENT
    attributes, hits = scrubber.scrub_attributes(span.attributes or {}, client_span=client)
    if hits:
        found += _under("span.attributes", hits)
    events = []
    # The public ``events``/``links`` copy the span's bounded lists under their lock; most spans have none.
    for index, event in enumerate(span.events if span._events else ()):
        event_name, name_hits = scrubber.scrub_text(event.name, path=f"span.events[{index}].name")
        event_attributes, hits = scrubber.scrub_attributes(event.attributes or {})
        found += name_hits + _under(f"span.events[{index}].attributes", hits)
        events.append(Event(event_name, event_attributes, event.timestamp) if name_hits or hits else event)
    links = []
    for index, link in enumerate(span.links if span._links else ()):
        link_attributes, hits = scrubber.scrub_attributes(link.attributes or {})
        found += _under(f"span.links[{index}].attributes", hits)
        links.append(Link(link.context, link_attributes) if hits else link)
    scope = span.instrumentation_scope
    if scope is not None:
        scope_name, hits = scrubber.scrub_text(scope.name, path="span.scope.name")
        if hits:
            found += hits
            scope = InstrumentationScope(scope_name, scope.version, scope.schema_url, scope.attributes)
    status = span.status
    if status.description:
        description, hits = scrubber.scrub_text(status.description, path="span.status.description")
        found += hits
        if hits:
            status = Status(status.status_code, description)
    if not found:
        return span, found
    copy = ReadableSpan(
        name=name,
        context=span.context,
        parent=span.parent,
        resource=span.resource,
        attributes=attributes,
        events=events,
        links=links,
        kind=span.kind,
        status=status,
        start_time=span.start_time,
        end_time=span.end_time,
        instrumentation_scope=scope,
    )
    return copy, found


def _under(prefix: str, redactions: Iterable[Redaction]) -> list[Redaction]:
    return [Redaction(f"{prefix}.{redaction.path}", redaction.rule) for redaction in redactions]


class ScrubbingSpanExporter(SpanExporter):
    """Wraps the real span exporter so no span leaves the process with PII in it.

    Install it between the batch processor and the exporter:
    ``BatchSpanProcessor(ScrubbingSpanExporter(OTLPSpanExporter(), DEFAULT_SCRUBBER))``. With the guard
    off (``RYTHMIQ_PII_GUARD=off``) simply don't wrap, or pass ``NOOP_SCRUBBER``.
    """

    def __init__(
        self,
        inner: SpanExporter,
        scrubber: Scrubber = DEFAULT_SCRUBBER,
        reporter: Callable[[Sequence[Redaction]], None] = report,
    ) -> None:
        self._inner = inner
        self._scrubber = scrubber
        self._report = reporter

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        """Scrub each span (a copy only where something matched), report the hits, export the rest."""
        scrubbed = []
        found: list[Redaction] = []
        for span in spans:
            clean, hits = scrub_span(span, self._scrubber)
            scrubbed.append(clean)
            found += hits
        self._report(found)
        return self._inner.export(scrubbed)

    def shutdown(self) -> None:
        """Shut the wrapped exporter down."""
        self._inner.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        """Flush the wrapped exporter."""
        return self._inner.force_flush(timeout_millis)


# ----------------------------------------------------------------------------------------------------------
# What does not come through our log pipeline or a span: records written through the OTel Logs API (the
# upstream logging instrumentation's LoggingHandler, which `opentelemetry-bootstrap -a install` adds, a
# library calling the Logs API, a handler a package adds), metric data, the resource.
# ----------------------------------------------------------------------------------------------------------
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


# Distinct metric attribute sets a ScrubbingMetricExporter remembers as judged clean; cleared when full.
_CLEAN_SETS_MAX = 4096


class ScrubbingMetricExporter(MetricExporter):
    """Wraps a metric exporter so no data point leaves with PII in its attributes or names.

    Covered: scope and metric names, each point's attributes and its exemplars' filtered attributes (the
    measurement attributes a View's ``attribute_keys`` left out of the point). A service exports the same
    few dozen attribute sets every interval, so the sets judged clean are remembered (at most
    ``_CLEAN_SETS_MAX``, keyed by their exact items and value types) and a clean export is handed on as
    it is, without a copy; every set not seen clean before is judged in full. The wrapped exporter's
    temporality and aggregation preferences are kept (the reader reads them here).
    """

    def __init__(self, inner: MetricExporter, scrubber: Scrubber = DEFAULT_SCRUBBER) -> None:
        super().__init__(
            preferred_temporality=inner._preferred_temporality,
            preferred_aggregation=inner._preferred_aggregation,
        )
        self._inner = inner
        self._scrubber = scrubber
        self._clean_sets: set[tuple[Any, ...]] = set()

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
        """``scope`` itself when nothing in it matched, else a scrubbed copy."""
        before = len(found)
        name, hits = self._scrubber.scrub_text(scope.scope.name, path="scope.name")
        found += hits
        metrics = [self._metric(metric, found) for metric in scope.metrics]
        if len(found) == before:
            return scope
        source = scope.scope
        instrumentation = source
        if hits:
            instrumentation = InstrumentationScope(name, source.version, source.schema_url, source.attributes)
        return replace(scope, scope=instrumentation, metrics=metrics)

    def _metric(self, metric: Any, found: list[Redaction]) -> Any:
        """``metric`` itself when nothing in it matched, else a scrubbed copy."""
        before = len(found)
        name, hits = self._scrubber.scrub_text(metric.name, path="metric.name")
        found += hits
        points = [self._point(point, f"metric.{name}", found) for point in metric.data.data_points]
        if len(found) == before:
            return metric
        return replace(metric, name=name, data=replace(metric.data, data_points=points))

    def _point(self, point: Any, path: str, found: list[Redaction]) -> Any:
        """``point`` itself when its attributes and exemplars are clean, else a scrubbed copy."""
        attributes, hits = self._attributes(point.attributes, f"{path}.attributes", found)
        exemplars = point.exemplars
        if any(exemplar.filtered_attributes for exemplar in exemplars):
            exemplars = [self._exemplar(exemplar, f"{path}.exemplars", found) for exemplar in exemplars]
            hits = hits or any(new is not old for new, old in zip(exemplars, point.exemplars, strict=True))
        return replace(point, attributes=attributes, exemplars=exemplars) if hits else point

    def _exemplar(self, exemplar: Any, path: str, found: list[Redaction]) -> Any:
        path = f"{path}.filtered_attributes"
        attributes, hits = self._attributes(exemplar.filtered_attributes, path, found)
        return replace(exemplar, filtered_attributes=attributes) if hits else exemplar

    def _attributes(self, attributes: Any, path: str, found: list[Redaction]) -> tuple[Any, bool]:
        """(the attributes, scrubbed if needed; whether anything matched), judged once per distinct set."""
        if not attributes:
            return attributes, False
        try:
            # The types too: ``True == 1 == 1.0``, and a boolean hides nothing where an integer is an id.
            key: tuple[Any, ...] | None = tuple(
                (name, type(value), value) for name, value in attributes.items()
            )
            if key in self._clean_sets:
                return attributes, False
        except TypeError:  # an unhashable value: judged every time
            key = None
        scrubbed, hits = self._scrubber.scrub_attributes(dict(attributes))
        if hits:
            found += _under(path, hits)
            return scrubbed, True
        if key is not None:
            if len(self._clean_sets) >= _CLEAN_SETS_MAX:
                self._clean_sets.clear()
            self._clean_sets.add(key)
        return attributes, False

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

