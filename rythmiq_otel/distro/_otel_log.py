"""Send a spec record to OpenTelemetry as a log record: same fields as attributes, the spec's severity.

This replaces the SDK's ``LoggingHandler`` on the hot path: the record is already built (and scrubbed), so
it is handed to the SDK logger as one ``LogRecord`` without re-reading the stdlib record. The attribute
names are the JSON field names (docs/contracts.md §1); ``extra`` is flattened to ``extra.<key>``, ``event``
becomes ``event.name`` (and the record's ``event_name``), an exception becomes ``exception.*``.
"""

from __future__ import annotations

import json
from typing import Any

from opentelemetry._logs import Logger, LogRecord, SeverityNumber

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
    """Holds the SDK logger ``configure()`` built; ``emit`` is a no-op while there is none."""

    def __init__(self) -> None:
        self.logger: Logger | None = None

    def emit(self, fields: dict[str, Any], created: float) -> None:
        """Emit ``fields`` (a spec record) logged at ``created`` (``time.time()`` seconds)."""
        logger = self.logger
        if logger is None:
            return
        level = fields["level"]
        logger.emit(
            LogRecord(
                timestamp=int(created * 1e9),
                severity_number=_SEVERITY[level],
                severity_text=level,
                body=fields["message"],
                attributes=attributes_of(fields),
                event_name=fields.get(vocab.EVENT_FIELD),
            )
        )


BRIDGE = OtelLogBridge()
