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
from opentelemetry.sdk._logs import ReadWriteLogRecord
from opentelemetry.trace import SpanContext

from rythmiq_otel import vocab

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
        else:
            attributes[key] = _attribute_value(value)
    return attributes


class OtelLogBridge:
    """Holds the SDK logger ``configure()`` built; ``emit`` is a no-op while there is none.

    The hot path builds the SDK's ``ReadWriteLogRecord`` directly and hands it to the provider's
    processors: the public ``Logger.emit`` re-reads the current context and copies every attribute into a
    ``BoundedAttributes`` (about 15 µs a record here), work this record does not need -- its attributes are
    already plain values under a fixed set of keys. If the SDK's internals ever differ, ``bind`` falls back
    to ``Logger.emit``.
    """

    def __init__(self) -> None:
        self.logger: Logger | None = None
        self._direct: tuple[Any, Any, Any, Any] | None = None

    def bind(self, logger: Logger | None) -> None:
        """Emit through ``logger`` from now on (``None`` stops emitting)."""
        self.logger = logger
        try:
            self._direct = (
                logger._multi_log_record_processor,  # type: ignore[union-attr]
                logger.resource,  # type: ignore[union-attr]
                logger.instrumentation_scope,  # type: ignore[union-attr]
                logger._log_record_limits,  # type: ignore[union-attr]
            )
        except AttributeError:
            self._direct = None

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
        processor, resource, scope, limits = direct
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
        writable = ReadWriteLogRecord.__new__(ReadWriteLogRecord)
        writable.log_record = record
        writable.resource = resource
        writable.instrumentation_scope = scope
        writable.limits = limits
        processor.on_emit(writable)


BRIDGE = OtelLogBridge()
