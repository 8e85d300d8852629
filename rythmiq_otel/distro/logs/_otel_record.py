"""Send a spec record to OpenTelemetry as a log record: same fields as attributes, the spec's severity.

This replaces the SDK's ``LoggingHandler`` on the hot path: the record is already built (and scrubbed), so
it is handed to the SDK logger as one ``LogRecord`` without re-reading the stdlib record. The attribute
names are the JSON field names (docs/contracts.md §1); ``extra`` is flattened to ``extra.<key>``, ``event``
becomes ``event.name`` (and the record's ``event_name``), an exception becomes ``exception.*``.
"""

from __future__ import annotations

import json
import time
from typing import Any

from opentelemetry._logs import Logger, LogRecord, SeverityNumber
from opentelemetry.sdk._logs import ReadableLogRecord, ReadWriteLogRecord
from opentelemetry.sdk._logs.export import BatchLogRecordProcessor
from opentelemetry.trace import SpanContext

from rythmiq_otel import vocab
from rythmiq_otel.distro._pii import ScrubbingLogRecordProcessor
from rythmiq_otel.distro.logs._backpressure import GATE

__all__ = ["OtelLogBridge", "attributes_of"]

_SEVERITY = {
    "DEBUG": SeverityNumber.DEBUG,
    "INFO": SeverityNumber.INFO,
    "WARN": SeverityNumber.WARN,
    "ERROR": SeverityNumber.ERROR,
}
# Rendered elsewhere: the timestamp and level are the record's own fields, service is a resource
# attribute, message is the body, trace/span ids are the record's context.
_NOT_ATTRIBUTES = frozenset({"timestamp", "level", "service", "message", "trace_id", "span_id"})
_PLAIN = (str, int, float, bool)


def _attribute_value(value: Any) -> Any:
    return value if isinstance(value, _PLAIN) else json.dumps(value, default=str, ensure_ascii=False)


def attributes_of(fields: dict[str, Any]) -> dict[str, Any]:
    """The OTel attributes for a spec record (see the module docstring for the mapping)."""
    attributes: dict[str, Any] = {}
    for key, value in fields.items():
        if key in _NOT_ATTRIBUTES:
            continue
        if key == "extra":
            for name, item in value.items():
                attributes[vocab.EXTRA_PREFIX + name] = _attribute_value(item)
        elif key == vocab.EVENT_FIELD:
            attributes[vocab.EVENT_NAME_ATTR] = value
        elif key == "exception":
            for name, item in value.items():
                attributes["exception." + name] = item
        else:  # inlined ``_attribute_value``: most fields take this branch
            attributes[key] = value if isinstance(value, _PLAIN) else _attribute_value(value)
    return attributes


def _readable(record: Any, resource: Any, scope: Any, limits: Any) -> ReadableLogRecord:
    """``ReadableLogRecord(record, resource, scope, limits)`` at a third of the cost: a frozen dataclass
    sets each field through ``object.__setattr__`` (``bind`` checks the two agree)."""
    readable = ReadableLogRecord.__new__(ReadableLogRecord)
    fields = readable.__dict__
    fields["log_record"] = record
    fields["resource"] = resource
    fields["instrumentation_scope"] = scope
    fields["limits"] = limits
    return readable


class OtelLogBridge:
    """Holds the SDK logger ``configure()`` built; ``emit`` is a no-op while there is none.

    The hot path builds the SDK's record objects directly: the public ``Logger.emit`` re-reads the current
    context and copies every attribute into a ``BoundedAttributes`` (about 15 µs a record here), and
    ``BatchLogRecordProcessor.on_emit`` copies the record again to drop its context -- work this record does
    not need: it has no context and its attributes are already plain values under a fixed set of keys. So a
    batch processor gets a ``ReadableLogRecord`` straight into its queue, any other processor the
    ``ReadWriteLogRecord`` it expects; a batch queue admits a record only through ``_backpressure.GATE``
    (wait for room rather than drop). Fewer objects per queued record also means fewer survivors for the
    garbage collector to scan. If the SDK's internals ever differ, ``bind`` falls back to ``Logger.emit``.
    """

    def __init__(self) -> None:
        self.logger: Logger | None = None
        self._direct: tuple[Any, Any, Any, Any] | None = None
        self._seen: tuple[Any, ...] | None = None
        self._targets: list[tuple[Any, bool]] = []

    def bind(self, logger: Logger | None) -> None:
        """Emit through ``logger`` from now on (``None`` stops emitting)."""
        self.logger = logger
        self._seen = None
        try:
            multi = logger._multi_log_record_processor  # type: ignore[union-attr]
            multi._log_record_processors  # noqa: B018 -- probe the SDK internal the hot path reads
            direct = (
                multi,
                logger.resource,  # type: ignore[union-attr]
                logger.instrumentation_scope,  # type: ignore[union-attr]
                logger._log_record_limits,  # type: ignore[union-attr]
            )
            if _readable(None, *direct[1:]) != ReadableLogRecord(None, *direct[1:]):  # type: ignore[arg-type]
                raise AttributeError("ReadableLogRecord has fields _readable does not set")
            self._direct = direct
        except AttributeError:
            self._direct = None

    def _processors(self, multi: Any) -> list[tuple[Any, bool]]:
        """``(target, is_batch_queue)`` per processor, recomputed only when the processor tuple changes."""
        processors = multi._log_record_processors
        if processors is not self._seen:
            self._targets = [
                (lp._batch_processor, True) if type(lp) is BatchLogRecordProcessor else (lp, False)
                for lp in processors
                if type(lp) is not ScrubbingLogRecordProcessor  # our records are scrubbed by the pipeline
            ]
            self._seen = processors
        return self._targets

    def emit(self, fields: dict[str, Any], created: float, span_context: SpanContext) -> None:
        """Emit ``fields`` (a spec record) logged at ``created`` (``time.time()``) in ``span_context``."""
        logger = self.logger
        if logger is None:
            return
        level = fields["level"]
        attributes = attributes_of(fields)
        event_name = fields.get(vocab.EVENT_FIELD)
        direct = self._direct
        if direct is None:
            logger.emit(
                LogRecord(
                    timestamp=int(created * 1e9),
                    severity_number=_SEVERITY[level],
                    severity_text=level,
                    body=fields["message"],
                    attributes=attributes,
                    event_name=event_name,
                )
            )
            return
        multi, resource, scope, limits = direct
        record = LogRecord.__new__(LogRecord)
        record.timestamp = int(created * 1e9)
        record.observed_timestamp = time.time_ns()
        record.context = None
        record.trace_id = span_context.trace_id
        record.span_id = span_context.span_id
        record.trace_flags = span_context.trace_flags
        record.severity_text = level
        record.severity_number = _SEVERITY[level]
        record.body = fields["message"]
        record.attributes = attributes
        record.event_name = event_name
        record.exception = None
        for target, is_batch_queue in self._processors(multi):
            if is_batch_queue:
                if GATE.admit(target):
                    target.emit(_readable(record, resource, scope, limits))
            else:
                writable = ReadWriteLogRecord.__new__(ReadWriteLogRecord)
                writable.log_record = record
                writable.resource = resource
                writable.instrumentation_scope = scope
                writable.limits = limits
                target.on_emit(writable)


BRIDGE = OtelLogBridge()
